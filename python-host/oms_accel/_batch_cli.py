"""``oms-accel batch``: the bulk jobs of `oms_accel.dask` from the shell, on
the Dask scheduler at ``--scheduler``, else on a LocalCluster with one worker
process per core. Dask's progress bar goes to stderr when it is a terminal;
results go to stdout; exit codes as in the other subcommands."""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from ._command import EXIT_FAILED, EXIT_USAGE, InputError, add_common
from .errors import BackendUnavailableError
from .limits import Limits


def add_parser(sub: Any) -> None:
    from . import delta
    from . import json as json_pkg

    batch = sub.add_parser("batch", help="bulk jobs on a Dask cluster: validate NDJSON files, encode version histories")
    bsub = batch.add_subparsers(dest="batch_command", required=True, metavar="ACTION")

    validate = bsub.add_parser("validate", help="validate every record of NDJSON files (exit 1 if any is invalid)")
    validate.add_argument("files", nargs="+", metavar="GLOB", help="NDJSON files, or glob patterns of them")
    validate.add_argument("-s", "--schema", required=True, metavar="SCHEMA", help="the JSON Schema (a file)")
    validate.add_argument("--json", action="store_true", help="print each violation as a JSON line")
    _cluster_options(validate)
    add_common(validate, json_pkg.SUPPORTED_BACKENDS)
    validate.set_defaults(func=_validate)

    encode = bsub.add_parser(
        "encode",
        help="encode version histories: each version's delta from the one before, written beside it",
        description="Each CHAIN is one document's versions, oldest first: a glob (sorted with numbers "
        "in order: v2 before v10) or comma-separated paths. Version N's delta from N-1 is written as "
        "version N's path + SUFFIX.",
    )
    encode.add_argument("chains", nargs="+", metavar="CHAIN")
    encode.add_argument("--suffix", default=".delta", help="appended to each version's path for its delta (default .delta)")
    encode.add_argument("--method", choices=delta.METHODS, default="auto", help="delta method (default: the backend's best)")
    encode.add_argument("--level", type=int, default=3, help="compression level (default 3)")
    _cluster_options(encode)
    add_common(encode, delta.SUPPORTED_BACKENDS)
    encode.set_defaults(func=_encode)


def _cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="ADDR", help="a Dask scheduler's address (default: a local cluster)")
    p.add_argument("--workers", type=int, metavar="N", help="local workers (default: one per core)")


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    from .dask import require_distributed

    try:
        distributed = require_distributed("oms-accel batch")
    except BackendUnavailableError as e:  # a usage error here: the command cannot run at all
        raise InputError(str(e)) from None
    if args.scheduler:
        with distributed.Client(args.scheduler) as c:
            yield c
        return
    n = args.workers or os.cpu_count() or 1
    with (
        distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _natural(path: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _validate(args: argparse.Namespace) -> int:
    from . import dask as od
    from .json import JsonProcessor

    files = sorted({f for pattern in args.files for f in (glob.glob(pattern) or [pattern])})
    proc = JsonProcessor(args.backend, limits=Limits(timeout_s=args.timeout), host=getattr(args, "host", None))
    try:
        with open(args.schema, encoding="utf-8") as f:
            schema = proc.compile_schema(f.read())
    except OSError as e:
        raise InputError(f"{args.schema}: {e.strerror or e}") from None
    with _client(args) as client:
        report = od.validate_files(files, schema, client=client, progress=sys.stderr.isatty())
    for v in report.violations:
        if args.json:
            print(json.dumps(asdict(v), ensure_ascii=False))
        else:
            print(f"{v.source}:{v.line}: {v.instance_path or '/'}: {v.message} (schema {v.schema_path or '/'})")
    for source, line, why in report.bad_records:
        print(f"oms-accel: {source}:{line}: {why}", file=sys.stderr)
    for source, why in report.failures:
        print(f"oms-accel: {source}: {why}", file=sys.stderr)
    print(
        f"{report.records} records in {len(files)} files: {report.invalid} invalid, {len(report.bad_records)} not JSON, "
        f"{len(report.failures)} files unreadable ({report.seconds:.2f} s)",
        file=sys.stderr,
    )
    return EXIT_USAGE if report.failures or report.bad_records else EXIT_FAILED if report.invalid else 0


def _encode(args: argparse.Namespace) -> int:
    from . import dask as od
    from .delta import DeltaEncoder

    chains = []
    for spec in args.chains:
        paths = spec.split(",") if "," in spec else sorted(glob.glob(spec), key=_natural)
        if len(paths) < 2:
            raise InputError(f"{spec}: a chain needs at least two versions, found {len(paths)}")
        chains.append(paths)
    encoder = DeltaEncoder(
        args.backend, method=args.method, level=args.level, limits=Limits(timeout_s=args.timeout), host=getattr(args, "host", None)
    )
    with _client(args) as client:
        summary = od.encode_chains(chains, client=client, encoder=encoder, suffix=args.suffix, progress=sys.stderr.isatty())
    for source, why in summary.failures:
        print(f"oms-accel: {source}: {why}", file=sys.stderr)
    print(
        f"{summary.done} deltas, {summary.bytes_in} bytes of versions -> {summary.bytes_out} bytes of deltas "
        f"({100 * summary.ratio:.2f}%), {len(summary.failures)} failed ({summary.seconds:.2f} s)",
        file=sys.stderr,
    )
    return EXIT_FAILED if summary.failures else 0
