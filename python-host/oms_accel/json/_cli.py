"""``oms-accel json ...``: validate, query, diff, patch, canonicalize, NDJSON.

Every DOC argument is a path, or '-' for standard input. Results go to
standard output (or ``-o FILE``, written atomically), messages to standard
error. Exit codes: 0 success; 1 a document is invalid against its schema, a
patch does not apply, a pointer finds nothing, or a limit was reached; 2 usage
error or unreadable input (not a file, not JSON, not a valid schema).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import _command, _progress
from .._command import EXIT_FAILED, EXIT_USAGE, InputError
from .._progress import progress_bar
from ..errors import JsonError, SchemaError
from ..limits import Limits
from . import SUPPORTED_BACKENDS, JsonProcessor, ValidationError


def add_parser(sub: Any) -> None:
    js = sub.add_parser("json", help="validate, query, diff and patch JSON documents; stream NDJSON")
    jsub = js.add_subparsers(dest="json_command", required=True, metavar="ACTION")

    validate = jsub.add_parser("validate", help="check documents against a JSON Schema (exit 1 if any is invalid)")
    validate.add_argument("docs", nargs="+", metavar="DOC")
    validate.add_argument("-s", "--schema", required=True, metavar="SCHEMA", help="the JSON Schema (a file)")
    validate.add_argument("--draft", choices=["4", "6", "7", "2019-09", "2020-12"], help="default: the schema's $schema, else 2020-12")
    validate.add_argument("--json", action="store_true", help="print each error as a JSON line")
    validate.add_argument("-q", "--quiet", action="store_true", help="print nothing, only set the exit code")
    validate.set_defaults(func=_validate)

    query = jsub.add_parser("query", help="print the value at an RFC 6901 pointer (exit 1 if there is none)")
    query.add_argument("doc", metavar="DOC")
    query.add_argument("pointer", metavar="POINTER", help='e.g. "/entities/0/name"; "" is the whole document')
    query.add_argument("--pretty", action="store_true", help="indent the output")
    query.set_defaults(func=_query)

    diff = jsub.add_parser("diff", help="print the RFC 6902 patch that turns A into B")
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    diff.set_defaults(func=_diff)

    patch = jsub.add_parser("patch", help="apply an RFC 6902 patch (or with --merge an RFC 7396 merge patch)")
    patch.add_argument("doc", metavar="DOC")
    patch.add_argument("patch", metavar="PATCH")
    patch.add_argument("--merge", action="store_true", help="PATCH is an RFC 7396 merge patch")
    patch.set_defaults(func=_patch)

    canon = jsub.add_parser("canonicalize", help="print the RFC 8785 canonical form")
    canon.add_argument("doc", metavar="DOC")
    canon.set_defaults(func=_canonicalize)

    nd = jsub.add_parser(
        "ndjson",
        help="stream an NDJSON file: print the records that are not JSON or fail the schema (exit 1 if any), or project fields",
    )
    nd.add_argument("file", metavar="FILE", help="a file, a pipe, or '-' for standard input")
    nd.add_argument("-s", "--schema", metavar="SCHEMA", help="validate each record against this JSON Schema")
    nd.add_argument(
        "-f", "--field", dest="fields", action="append", default=[], metavar="POINTER", help="print this pointer of each record (repeat)"
    )
    _progress.add_options(nd)
    nd.set_defaults(func=_ndjson)

    for sp in (validate, query, diff, patch, canon, nd):
        _command.add_common(sp, SUPPORTED_BACKENDS)
        sp.add_argument("--max-depth", type=int, default=512, metavar="N", help="deepest nesting accepted (default 512)")
    for sp in (query, diff, patch, canon):
        sp.add_argument("-o", "--output", default="-", metavar="PATH", help="where to write (default: standard output)")


def _processor(args: argparse.Namespace) -> JsonProcessor:
    return JsonProcessor(args.backend, limits=Limits(timeout_s=args.timeout), max_depth=args.max_depth, host=args.host)


def _read(path: str) -> bytes:
    """The bytes of a DOC argument ('-' is standard input)."""
    if path == "-":
        return sys.stdin.buffer.read()
    if Path(path).is_dir():
        raise InputError(f"{path}: is a directory")
    return Path(path).read_bytes()


def _load(proc: JsonProcessor, path: str) -> Any:
    """A DOC argument parsed, errors naming the file."""
    try:
        return proc.parse_large_document(_read(path))
    except JsonError as e:
        raise InputError(f"{'<stdin>' if path == '-' else path}: {e}") from None


def _emit(args: argparse.Namespace, text: str) -> None:
    _command.emit(args.output, text + "\n")


def _validate(args: argparse.Namespace) -> int:
    proc = _processor(args)
    schema_doc = _load(proc, args.schema)
    try:
        schema = proc.compile_schema(schema_doc, draft=args.draft)
    except SchemaError as e:
        raise InputError(f"{args.schema}: {e}") from None
    invalid = unusable = 0
    for path in args.docs:
        # Every document is checked: one that cannot be read or parsed is
        # reported and counted (exit 2), and the others still get validated.
        try:
            errors: list[ValidationError] = schema.validate(_load(proc, path))
        except (InputError, OSError) as e:
            unusable += 1
            message = e if isinstance(e, InputError) else f"{path}: {e.strerror or e}"
            print(f"oms-accel: {message}", file=sys.stderr)
            continue
        invalid += bool(errors)
        if args.quiet:
            continue
        for err in errors:
            if args.json:
                print(json.dumps({"file": path, **asdict(err)}, ensure_ascii=False))
            else:
                print(f"{path}: {err.instance_path or '/'}: {err.message} (schema {err.schema_path or '/'})")
        if not errors and not args.json:
            print(f"{path}: valid")
    return EXIT_USAGE if unusable else EXIT_FAILED if invalid else 0


def _query(args: argparse.Namespace) -> int:
    doc = _load(_processor(args), args.doc)
    if doc.kind(args.pointer) is None:
        print(f"oms-accel: {args.doc}: nothing at {args.pointer!r}", file=sys.stderr)
        return EXIT_FAILED
    value = doc.get(args.pointer)
    _emit(args, json.dumps(value, ensure_ascii=False, indent=2 if args.pretty else None))
    return 0


def _diff(args: argparse.Namespace) -> int:
    proc = _processor(args)
    patch = proc.diff(_load(proc, args.a), _load(proc, args.b))
    _emit(args, json.dumps(patch, ensure_ascii=False, indent=2))
    return 0


def _patch(args: argparse.Namespace) -> int:
    proc = _processor(args)
    doc, patch = _load(proc, args.doc), _load(proc, args.patch)
    result = proc.merge_patch(doc, patch) if args.merge else proc.apply_patch(doc, patch)
    _emit(args, json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _canonicalize(args: argparse.Namespace) -> int:
    proc = _processor(args)
    _emit(args, proc.canonicalize(_load(proc, args.doc)))
    return 0


def _ndjson(args: argparse.Namespace) -> int:
    proc = _processor(args)
    path = Path(_command.input_path(args.file))
    if path.is_dir() or not path.exists():
        raise InputError(f"{args.file}: not a file")
    schema = None
    if args.schema:
        try:
            schema = proc.compile_schema(_load(proc, args.schema))
        except SchemaError as e:
            raise InputError(f"{args.schema}: {e}") from None
    records = invalid = 0
    out = sys.stdout
    with progress_bar(args.progress, path.stat().st_size if path.is_file() else 0, "ndjson") as progress:
        for rec in proc.iter_ndjson(path, schema=schema, fields=args.fields or None, progress=progress):
            records += 1
            if not rec.valid:
                invalid += 1
                line: dict[str, Any] = {"line": rec.line}
                if rec.error is not None:
                    line["error"] = rec.error
                else:
                    line["errors"] = [asdict(e) for e in rec.errors]
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            elif args.fields:
                out.write(json.dumps({"line": rec.line, "fields": rec.fields}, ensure_ascii=False) + "\n")
    print(f"{args.file}: {records} records, {invalid} invalid", file=sys.stderr)
    return EXIT_FAILED if invalid else 0
