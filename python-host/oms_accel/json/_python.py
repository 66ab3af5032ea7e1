"""The pure-Python JSON backend: the standard library's parser made strict,
`jsonschema` for validation, `jsonpatch` for RFC 6902, and RFC 7396 and RFC
8785 written here. Values are plain Python objects."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from .._wasm.host import Text
from ..errors import AccelArgumentError, JsonError, LimitError, PatchError, SchemaError
from ._backend import MISSING, Arg, DocumentImpl, Progress, SchemaImpl, SchemaSource, decode_utf8

DRAFTS = {
    "4": "Draft4Validator",
    "6": "Draft6Validator",
    "7": "Draft7Validator",
    "2019-09": "Draft201909Validator",
    "2020-12": "Draft202012Validator",
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(text: str, max_size: int, max_depth: int) -> Any:
    """Strict RFC 8259: the standard parser already refuses trailing commas,
    leading zeros, comments and raw control characters; NaN and Infinity are
    refused here, and lone surrogates (as the wasm backend does). Size is
    counted in bytes of UTF-8 and depth in containers, as the component
    counts them."""
    check_size(text, max_size)
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise JsonError(f"line {e.lineno} column {e.colno}: {e.msg}", "syntax", e.lineno, e.colno, _byte_offset(text, e.pos)) from None
    except ValueError as e:  # NaN / Infinity
        raise JsonError(str(e), "syntax") from None
    except RecursionError:
        raise LimitError(f"the document nests deeper than {max_depth} levels", "limit-exceeded") from None
    # (Fewer brackets than the limit cannot nest past it: most texts stop here.)
    if text.count("[") + text.count("{") > max_depth and nesting_exceeds(text, max_depth):
        raise LimitError(f"the document nests deeper than {max_depth} levels", "limit-exceeded")
    if _SURROGATE_ESCAPE.search(text) is not None:
        _refuse_lone_surrogate(text)
    return value


def check_size(text: str, max_size: int) -> None:
    """Refuses text of more than `max_size` bytes of UTF-8."""
    # A character is 1 to 4 bytes: only in between is the encoding counted.
    if len(text) > max_size or (len(text) * 4 > max_size and len(text.encode("utf-8", "surrogatepass")) > max_size):
        raise LimitError(f"the document is over the limit of {max_size} bytes", "limit-exceeded")


#: Every byte but the brackets and the quote, for `bytes.translate` to delete.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
#: Brackets as parentheses.
_AS_PARENS = bytes.maketrans(b"[]{}", b"()()")


def nesting_exceeds(text: str, max_depth: int) -> bool:
    """Whether valid JSON `text` nests deeper than `max_depth` containers.

    In C-speed string operations, not a walk of the parsed value (which cost
    the fallback's `get` 0.6x its speed): escaped backslashes and quotes go,
    then everything but brackets and quotes; the brackets between quote
    pairs (inside strings) go; what is left is the tree of containers as
    parentheses, and each pass of removing "()" strips one level of it."""
    b = text.encode("utf-8", "surrogatepass")
    for escape in (b"\\\\", b'\\"'):  # (a search is cheaper than a copy; most texts have neither)
        if escape in b:
            b = b.replace(escape, b"")
    # Adjacent quotes enclose no bracket outside strings, whichever pair they
    # are: removing them first leaves few strings to split out.
    structure = b.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    parens = b"".join(structure.split(b'"')[::2]).translate(_AS_PARENS)
    for _ in range(max_depth):
        if not parens:
            return False
        parens = parens.replace(b"()", b"")
    return bool(parens)


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8", "surrogatepass"))


# A \u escape of a UTF-16 surrogate. The standard parser joins a valid pair
# into one character and keeps a lone one as a surrogate code point, which no
# UTF-8 text (nor the wasm backend) can hold.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogate(text: str) -> None:
    """Raises JsonError at the first surrogate escape of `text` (valid JSON)
    that is not half of a pair, as the standard parser pairs them: a high
    half directly followed by an escaped low half."""
    pair_end = -1
    for m in _SURROGATE_ESCAPE.finditer(text):
        start = before = m.start()
        while before > 0 and text[before - 1] == "\\":
            before -= 1
        if start < pair_end or (start - before) % 2:
            continue  # the low half of a pair, or an escaped backslash and text
        high = m.group()[3] in "89abAB"
        low = _SURROGATE_ESCAPE.match(text, m.end())
        if high and low is not None and low.group()[3] not in "89abAB":
            pair_end = low.end()
            continue
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        raise JsonError(
            f"line {line} column {column}: lone UTF-16 surrogate in a \\u escape", "syntax", line, column, _byte_offset(text, start)
        )


def pointer_parts(pointer: str) -> list[str]:
    if pointer and not pointer.startswith("/"):
        raise AccelArgumentError(f"invalid JSON pointer {pointer!r}: it must be empty or start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def resolve(value: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer, or MISSING."""
    for part in pointer_parts(pointer):
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list):
            if not (part.isdigit() and (part == "0" or not part.startswith("0"))) or int(part) >= len(value):
                return MISSING
            value = value[int(part)]
        else:
            return MISSING
    return value


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def to_text(value: Any, pretty: bool) -> str:
    if pretty:
        return json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# --- schemas -------------------------------------------------------------------


class CompiledSchema:
    def __init__(self, schema: Any, draft: str | None, resources: dict[str, Any]) -> None:
        import jsonschema
        import jsonschema.validators
        from referencing import Registry, Resource
        from referencing.exceptions import NoSuchResource
        from referencing.jsonschema import DRAFT202012, specification_with

        if draft is None:
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        else:
            cls = getattr(jsonschema, DRAFTS[draft])
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise SchemaError(f"invalid schema: {e.message}", "invalid-schema") from None
        # Resources are served on demand (only those a $ref reaches are read),
        # as the schema's draft unless they name their own; nothing is fetched.
        spec = specification_with(cls.META_SCHEMA.get("$schema", ""), default=DRAFT202012)

        def retrieve(uri: str) -> Resource[Any]:
            key = uri.rstrip("#")
            if key not in resources:
                raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs class
            return Resource.from_contents(resources[key], default_specification=spec)

        registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
        self._validator = cls(schema, registry=registry)

    def violations(self, value: Any) -> list[tuple[str, str, str]]:
        import jsonschema.exceptions
        import referencing.exceptions

        try:
            errors = list(self._validator.iter_errors(value))
        except (referencing.exceptions.Unresolvable, jsonschema.exceptions._WrappedReferencingError) as e:
            raise SchemaError(f"invalid schema: {e}", "invalid-schema") from None
        return [(_pointer(e.absolute_path), _pointer(e.absolute_schema_path), e.message) for e in errors]


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# --- patches ------------------------------------------------------------------------


def diff(a: Any, b: Any) -> list[Any]:
    import jsonpatch

    return list(jsonpatch.make_patch(a, b).patch)


def apply_patch(doc: Any, patch: Any) -> Any:
    import jsonpatch
    import jsonpointer

    if not isinstance(patch, list):
        raise PatchError("not a JSON Patch: it must be an array of operations", "invalid-patch")
    try:
        return jsonpatch.JsonPatch(patch).apply(doc)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, TypeError, IndexError, ValueError) as e:
        raise PatchError(f"the patch does not apply: {e}", "patch-failed") from None


def merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7396, section 2."""
    if not isinstance(patch, dict):
        return patch
    target = dict(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def canonicalize(value: Any) -> str:
    """RFC 8785: keys sorted by UTF-16 code units, numbers as ECMAScript prints them."""
    out: list[str] = []
    _canon(value, out)
    return "".join(out)


def _canon(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be"))):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _canon(value[key], out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _canon(item, out)
        out.append("]")
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    else:
        out.append(es_number(float(value)))


def es_number(x: float) -> str:
    """A double as ECMAScript's Number.prototype.toString prints it."""
    if math.isnan(x) or math.isinf(x):
        raise AccelArgumentError("NaN and Infinity have no JSON form")
    if x == 0:
        return "0"
    r = repr(x)  # the shortest round-tripping digits, as ECMAScript wants
    sign = "-" if r.startswith("-") else ""
    r = r.lstrip("-")
    mantissa, _, exp = r.partition("e")
    digits = mantissa.replace(".", "")
    point = (mantissa.index(".") if "." in mantissa else len(mantissa)) + int(exp or 0)
    lead = len(digits) - len(digits.lstrip("0"))
    digits, point = digits.strip("0") or "0", point - lead
    k, n = len(digits), point
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * -n + digits
    else:
        e = n - 1
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + s


# --- NDJSON -----------------------------------------------------------------------------


def iter_ndjson(
    path: str, schema: CompiledSchema | None, fields: Sequence[str], max_size: int, max_depth: int, progress: Progress | None = None
) -> Iterator[dict[str, Any]]:
    """The same records the component's reader reports, one line at a time;
    no more than `max_size` + 1 bytes of a line are ever held (as the guest)."""
    for f in fields:
        pointer_parts(f)
    total = os.path.getsize(path)
    done = 0
    with open(path, "rb") as fh:
        number = 0
        while raw := fh.readline(max_size + 1):
            number += 1
            done += len(raw)
            if len(raw) == max_size + 1 and not raw.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    done += len(rest)
                done += len(rest)
                yield {"line": number, "valid": False, "error": f"the record is over the limit of {max_size} bytes"}
                continue
            if progress is not None:
                progress(done, total)
            text = raw.strip(b" \t\r\n")
            if not text:
                continue
            try:
                value = parse(text.decode("utf-8"), max_size, max_depth)
            except UnicodeDecodeError as e:
                yield {"line": number, "valid": False, "error": f"invalid UTF-8 at byte {e.start}"}
                continue
            except (JsonError, LimitError) as e:
                yield {"line": number, "valid": False, "error": str(e)}
                continue
            record: dict[str, Any] = {"line": number}
            if schema is not None:
                errors = schema.violations(value)
                record["valid"] = not errors
                record["errors"] = [{"instance_path": i, "schema_path": s, "message": m} for i, s, m in errors]
            else:
                record["valid"] = True
            if fields:
                record["fields"] = {f: (None if (v := resolve(value, f)) is MISSING else v) for f in fields}
            elif schema is None:
                record["value"] = value
            yield record


# --- the backend ------------------------------------------------------------------------


class _Document:
    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self, pointer: str) -> Any:
        return resolve(self.value, pointer)

    def kind(self, pointer: str) -> str | None:
        v = resolve(self.value, pointer)
        return None if v is MISSING else kind(v)

    def length(self, pointer: str) -> int | None:
        v = resolve(self.value, pointer)
        return len(v) if isinstance(v, list | dict | str) else None

    def keys(self, pointer: str) -> list[str] | None:
        v = resolve(self.value, pointer)
        return list(v) if isinstance(v, dict) else None

    def to_text(self, pretty: bool) -> str:
        return to_text(self.value, pretty)

    def to_python(self) -> Any:
        return self.value


class _Schema:
    def __init__(self, compiled: CompiledSchema) -> None:
        self.compiled = compiled

    def validate(self, doc: Arg) -> list[tuple[str, str, str]]:
        return self.compiled.violations(doc.value())

    def is_valid(self, doc: Arg) -> bool:
        return not self.validate(doc)

    alive = True


class Backend:
    """JSON in the standard library, `jsonschema` and `jsonpatch`."""

    def __init__(self, max_size: int, max_depth: int) -> None:
        self.max_size = max_size
        self.max_depth = max_depth

    def parse_value(self, text: str) -> Any:
        return parse(text, self.max_size, self.max_depth)

    def parse(self, text: Text) -> DocumentImpl:
        return _Document(self.parse_value(text if isinstance(text, str) else decode_utf8(text)))

    def compile_source(self, source: SchemaSource) -> CompiledSchema:
        text, draft, resources = source
        try:
            value = self.parse_value(text)
            res = {uri: self.parse_value(t) for uri, t in resources}
        except (JsonError, LimitError) as e:
            raise SchemaError(f"invalid schema: {e}", "invalid-schema") from None
        return CompiledSchema(value, draft, res)

    def compile(self, source: SchemaSource) -> SchemaImpl:
        return _Schema(self.compile_source(source))

    def diff(self, a: Arg, b: Arg) -> list[dict[str, Any]]:
        return diff(a.value(), b.value())

    def apply_patch(self, doc: Arg, patch: Arg) -> Any:
        return apply_patch(doc.value(), patch.value())

    def merge_patch(self, doc: Arg, patch: Arg) -> Any:
        return merge_patch(doc.value(), patch.value())

    def canonicalize(self, doc: Arg) -> str:
        return canonicalize(doc.value())

    def iter_ndjson(
        self, path: str, schema: SchemaSource | None, fields: Sequence[str], progress: Progress | None
    ) -> Iterator[dict[str, Any]]:
        compiled = None if schema is None else self.compile_source(schema)
        return iter_ndjson(path, compiled, fields, self.max_size, self.max_depth, progress)
