"""JSON for large documents: strict parsing, RFC 6901 lookups, JSON Schema
validation, RFC 6902 / 7396 patches, RFC 8785 canonical form, NDJSON streams.

On the wasm backend a document is parsed once inside the component (simd-json)
and stays there: lookups and validation send back only small results, and
JSON text crosses as a WIT string. The python backend does the same with the
standard library, ``jsonschema`` and ``jsonpatch``.

Arguments that take "a JSON value" accept a `Document`, JSON text (``str`` or
UTF-8 ``bytes``), or a Python value (dict, list, str, int, float, bool, None).
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import _json_fallback as fallback
from . import backends
from ._files import PathLike, byte_views, require_file
from .errors import AccelArgumentError, AccelError, JsonError, LimitError, PatchError, SchemaError
from .limits import Limits

JSON_INTERFACE = "oms:accel/json@0.1.0"
SUPPORTED_BACKENDS: tuple[backends.BackendName, ...] = ("wasm", "python")
DraftName = Literal["4", "6", "7", "2019-09", "2020-12"]
_WIT_DRAFTS = {"4": "draft4", "6": "draft6", "7": "draft7", "2019-09": "draft201909", "2020-12": "draft202012"}
DEFAULT_MAX_DEPTH = 512
#: Records per call when streaming NDJSON from the component.
NDJSON_BATCH = 512


@dataclass(frozen=True)
class ValidationError:
    """One way a document fails its schema."""

    #: RFC 6901 pointer to the failing value in the document ("" is the root).
    instance_path: str
    #: Pointer to the failing keyword in the schema.
    schema_path: str
    message: str


@dataclass(frozen=True)
class NdjsonRecord:
    """The result for one record of an NDJSON file."""

    #: 1-based line number in the file.
    line: int
    #: False when the record is not JSON or fails the schema.
    valid: bool
    #: Schema violations (empty without a schema).
    errors: list[ValidationError] = field(default_factory=list)
    #: Why the line is not JSON, if it is not.
    error: str | None = None
    #: The record, when neither a schema nor fields were given.
    value: Any = None
    #: Pointer -> value (None where absent), when fields were given.
    fields: dict[str, Any] | None = None


def _json_error(code: str, message: str) -> AccelError:
    """A WIT error from the json interface as the right exception."""
    if code == "invalid-argument":
        if message.startswith("invalid schema"):
            return SchemaError(message, code)
        if message.startswith("not a JSON Patch"):
            return PatchError(message, code)
        return AccelArgumentError(message, code)
    if message.startswith("the patch does not apply"):
        return PatchError(message, code)
    line = column = None
    if message.startswith("line "):
        head = message.split(":", 1)[0].split()
        if len(head) == 4 and head[1].isdigit() and head[3].isdigit():
            line, column = int(head[1]), int(head[3])
    return JsonError(message, code, line, column)


def _decode(data: bytes | bytearray | memoryview) -> str:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        before = bytes(data[: e.start])
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise JsonError(f"line {line} column {column}: invalid UTF-8", "corrupt", line, column) from None


def _value_to_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise AccelArgumentError(f"not a JSON value: {e}") from None


# --- documents -------------------------------------------------------------------------------


class Document:
    """A parsed JSON document. Pointers are RFC 6901 (``""`` is the whole document)."""

    backend: backends.BackendName

    def get(self, pointer: str = "", default: Any = None) -> Any:
        """The value at `pointer` as a Python object, or `default` if there is none."""
        raise NotImplementedError

    def kind(self, pointer: str = "") -> str | None:
        """``"null"``, ``"boolean"``, ``"number"``, ``"string"``, ``"array"`` or ``"object"``; None if absent."""
        raise NotImplementedError

    def length(self, pointer: str = "") -> int | None:
        """Items of an array, members of an object, characters of a string; else None."""
        raise NotImplementedError

    def keys(self, pointer: str = "") -> list[str] | None:
        """Member names of an object in document order; None if not an object."""
        raise NotImplementedError

    def to_text(self, pretty: bool = False) -> str:
        """The document as JSON text, keys in document order."""
        raise NotImplementedError

    def to_python(self) -> Any:
        """The whole document as Python objects."""
        return self.get("")

    def __repr__(self) -> str:
        return f"<Document ({self.backend}) {self.kind()}>"


class _PyDocument(Document):
    backend = "python"

    def __init__(self, value: Any) -> None:
        self.value = value

    def _at(self, pointer: str) -> Any:
        return fallback.resolve(self.value, pointer)

    def get(self, pointer: str = "", default: Any = None) -> Any:
        v = self._at(pointer)
        return default if v is fallback._MISSING else v

    def kind(self, pointer: str = "") -> str | None:
        v = self._at(pointer)
        return None if v is fallback._MISSING else fallback.kind(v)

    def length(self, pointer: str = "") -> int | None:
        v = self._at(pointer)
        return len(v) if isinstance(v, list | dict | str) else None

    def keys(self, pointer: str = "") -> list[str] | None:
        v = self._at(pointer)
        return list(v) if isinstance(v, dict) else None

    def to_text(self, pretty: bool = False) -> str:
        return fallback.to_text(self.value, pretty)

    def to_python(self) -> Any:
        return self.value


class _WasmDocument(Document):
    backend = "wasm"

    def __init__(self, inst: Any, handle: Any) -> None:
        self._inst = inst
        self._handle = handle
        weakref.finalize(self, _drop_handle, inst, handle)

    def _call(self, method: str, *args: Any) -> Any:
        if self._inst.dead:
            raise AccelError("this document lived in a component instance that was reset after an error: parse it again")
        return self._inst.call(JSON_INTERFACE, f"[method]document.{method}", [self._handle, *args], _json_error)

    def get(self, pointer: str = "", default: Any = None) -> Any:
        text = self._call("get", pointer)
        return default if text is None else json.loads(text)

    def kind(self, pointer: str = "") -> str | None:
        k = self._call("kind", pointer)
        return None if k is None else str(k)

    def length(self, pointer: str = "") -> int | None:
        n = self._call("length", pointer)
        return None if n is None else int(n)

    def keys(self, pointer: str = "") -> list[str] | None:
        k = self._call("keys", pointer)
        return None if k is None else list(k)

    def to_text(self, pretty: bool = False) -> str:
        return str(self._call("to-text", pretty))


def _drop_handle(inst: Any, handle: Any) -> None:
    """Frees a resource in its instance when its Python owner goes away."""
    if not inst.dead:
        try:
            with inst.lock:
                handle.drop(inst.store)
        except Exception:
            pass  # at interpreter exit, or the instance just died: nothing to free


# --- schemas ------------------------------------------------------------------------------------


class Schema:
    """A compiled JSON Schema: compile once, validate many documents."""

    backend: backends.BackendName
    #: What it was compiled from: (schema text, draft, resources as URI -> text).
    source: tuple[str, str | None, dict[str, str]]

    def validate(self, doc: Any) -> list[ValidationError]:
        """Every violation of the schema by `doc` (a Document, JSON text, or a Python value); empty when valid."""
        raise NotImplementedError

    def is_valid(self, doc: Any) -> bool:
        """Whether `doc` satisfies the schema."""
        raise NotImplementedError


class _PySchema(Schema):
    backend = "python"

    def __init__(self, proc: JsonProcessor, compiled: fallback.CompiledSchema) -> None:
        self._proc = proc
        self._compiled = compiled

    def validate(self, doc: Any) -> list[ValidationError]:
        value = self._proc._python_value(doc)
        return [ValidationError(i, s, m) for i, s, m in self._compiled.violations(value)]

    def is_valid(self, doc: Any) -> bool:
        return not self.validate(doc)


class _WasmSchema(Schema):
    backend = "wasm"

    def __init__(self, proc: JsonProcessor, inst: Any, handle: Any) -> None:
        self._proc = proc
        self._inst = inst
        self._handle = handle
        weakref.finalize(self, _drop_handle, inst, handle)

    def _doc_handle(self, doc: Any) -> tuple[Any, Document | None]:
        """A handle of `doc` in this schema's instance (parsing it there if needed)."""
        if isinstance(doc, _WasmDocument) and doc._inst is self._inst:
            return doc._handle, None
        parsed = self._proc._parse_in(self._inst, self._proc._wasm_text(doc))
        return parsed._handle, parsed

    def validate(self, doc: Any) -> list[ValidationError]:
        handle, _keep = self._doc_handle(doc)
        found = self._inst.call(JSON_INTERFACE, "[method]schema.validate", [self._handle, handle], _json_error)
        return [ValidationError(str(getattr(v, "instance-path")), str(getattr(v, "schema-path")), str(v.message)) for v in found]

    def is_valid(self, doc: Any) -> bool:
        handle, _keep = self._doc_handle(doc)
        return bool(self._inst.call(JSON_INTERFACE, "[method]schema.is-valid", [self._handle, handle], _json_error))


# --- the processor ------------------------------------------------------------------------------


class JsonProcessor:
    """Parses, queries, validates, diffs, patches and canonicalizes JSON.

    Args:
        backend: ``"wasm"`` (the sandboxed component), ``"python"``, ``"auto"`` or
            None (``OMS_ACCEL_BACKEND``, else the best that loads).
        limits: memory and time limits of the component; ``max_output_bytes`` is
            the largest document or NDJSON record accepted.
        max_depth: the deepest nesting accepted (wasm; python stops near 1000).
    """

    def __init__(self, backend: str | None = None, *, limits: Limits | None = None, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.backend: backends.BackendName = backends.resolve(backend, SUPPORTED_BACKENDS, "JSON processing")
        self.limits = limits or Limits()
        self.max_depth = max_depth
        self._schemas: dict[str, Schema] = {}
        self._schemas_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JsonProcessor(backend={self.backend!r})"

    # --- parsing ---

    def parse_large_document(self, data: Any) -> Document:
        """Parses `data`: JSON text (``str``), UTF-8 bytes (any bytes-like, mmap
        included), or a path (``os.PathLike``) to a file of JSON.

        Raises:
            JsonError: not valid JSON (with ``line`` and ``column``).
            LimitError: deeper than ``max_depth`` or larger than ``limits.max_output_bytes``.
        """
        text = self._text_of(data)
        if self.backend == "python":
            return _PyDocument(fallback.parse(text, self.limits.max_output_bytes))
        return self._parse_in(self._instance(), text)

    def _text_of(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        if isinstance(data, os.PathLike):
            with open(require_file(data), "rb") as f:
                return _decode(f.read())
        if isinstance(data, Document):
            return data.to_text()
        with byte_views(data=data) as (view,):
            return _decode(view)

    def _instance(self) -> Any:
        from . import _wasm_runtime as rt

        return rt.get_runtime().thread_instance(self.limits)

    def _options(self) -> Any:
        from . import _wasm_runtime as rt

        return rt.record(max_depth=self.max_depth, max_size=self.limits.max_output_bytes)

    def _parse_in(self, inst: Any, text: str) -> _WasmDocument:
        handle = inst.call(JSON_INTERFACE, "[static]document.parse", [text, self._options()], _json_error)
        return _WasmDocument(inst, handle)

    def _wasm_text(self, value: Any) -> str:
        """JSON text of a JSON-value argument, for the component."""
        if isinstance(value, Document):
            return value.to_text()
        if isinstance(value, str):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return _decode(value)
        return _value_to_text(value)

    def _python_value(self, value: Any) -> Any:
        """A JSON-value argument as Python objects, for the fallback."""
        if isinstance(value, Document):
            return value.to_python()
        if isinstance(value, str | bytes | bytearray | memoryview):
            return self.parse_large_document(value).to_python()
        return value

    # --- schemas ---

    def compile_schema(self, schema: Any, draft: DraftName | int | None = None, resources: Mapping[str, Any] | None = None) -> Schema:
        """Compiles `schema` (a JSON value) for `draft` (``"2020-12"`` by default,
        or the schema's ``$schema``; also ``"2019-09"``, 7, 6, 4). `resources`
        maps URIs to schemas that ``$ref`` may name; nothing is fetched.

        Raises:
            SchemaError: the schema is invalid, or names a resource that is missing.
        """
        d = None if draft is None else str(draft)
        if d is not None and d not in _WIT_DRAFTS:
            raise AccelArgumentError(f"unknown draft {draft!r}: expected one of {', '.join(_WIT_DRAFTS)}")
        source = (self._wasm_text(schema), d, {uri: self._wasm_text(v) for uri, v in (resources or {}).items()})
        compiled: Schema
        if self.backend == "python":
            compiled = _PySchema(self, self._compile_python(source))
        else:
            inst = self._instance()
            compiled = _WasmSchema(self, inst, self._compile_in(inst, source))
        compiled.source = source
        return compiled

    def _compile_python(self, source: tuple[str, str | None, dict[str, str]]) -> fallback.CompiledSchema:
        text, draft, resources = source
        try:
            value = fallback.parse(text, self.limits.max_output_bytes)
            res = {uri: fallback.parse(t, self.limits.max_output_bytes) for uri, t in resources.items()}
        except (JsonError, LimitError) as e:
            raise SchemaError(f"invalid schema: {e}", "invalid-argument") from None
        return fallback.CompiledSchema(value, draft, res)

    def _compile_in(self, inst: Any, source: tuple[str, str | None, dict[str, str]]) -> Any:
        text, draft, resources = source
        args = [text, None if draft is None else _WIT_DRAFTS[draft], list(resources.items())]
        return inst.call(JSON_INTERFACE, "[static]schema.compile", args, _json_error)

    def validate_schema(self, document: Any, schema: Any) -> list[ValidationError]:
        """Every violation of `schema` by `document` (both JSON values); empty when
        valid. Compiled schemas are cached by their text, so calling this in a
        loop with one schema compiles it once."""
        key = self._wasm_text(schema) if not isinstance(schema, Schema) else ""
        compiled = schema if isinstance(schema, Schema) else self._cached_schema(key)
        return compiled.validate(document)

    def _cached_schema(self, text: str) -> Schema:
        key = f"{threading.get_ident()}:{text}" if self.backend == "wasm" else text
        with self._schemas_lock:
            found = self._schemas.get(key)
        if found is None or (isinstance(found, _WasmSchema) and found._inst.dead):
            found = self.compile_schema(text)
            with self._schemas_lock:
                if len(self._schemas) >= 64:
                    self._schemas.pop(next(iter(self._schemas)))
                self._schemas[key] = found
        return found

    # --- patches and canonical form ---

    def diff(self, a: Any, b: Any) -> list[dict[str, Any]]:
        """An RFC 6902 patch (a list of operations) that turns `a` into `b`."""
        if self.backend == "python":
            return fallback.diff(self._python_value(a), self._python_value(b))
        return self._wasm_value_call("diff", a, b)  # type: ignore[no-any-return]

    def apply_patch(self, doc: Any, patch: Any) -> Any:
        """`doc` with the RFC 6902 `patch` applied. Raises PatchError if an operation fails."""
        if self.backend == "python":
            return fallback.apply_patch(self._python_value(doc), self._python_value(patch))
        return self._wasm_value_call("apply-patch", doc, patch)

    def merge_patch(self, doc: Any, patch: Any) -> Any:
        """`doc` with the RFC 7396 merge `patch` applied."""
        if self.backend == "python":
            return fallback.merge_patch(self._python_value(doc), self._python_value(patch))
        return self._wasm_value_call("merge-patch", doc, patch)

    def canonicalize(self, doc: Any) -> str:
        """The RFC 8785 canonical JSON text of `doc`."""
        if self.backend == "python":
            return fallback.canonicalize(self._python_value(doc))
        return str(self._instance().call(JSON_INTERFACE, "canonicalize", [self._wasm_text(doc)], _json_error))

    def _wasm_value_call(self, name: str, *values: Any) -> Any:
        text = self._instance().call(JSON_INTERFACE, name, [self._wasm_text(v) for v in values], _json_error)
        return json.loads(text)

    # --- NDJSON ---

    def iter_ndjson(
        self,
        path: PathLike,
        schema: Any = None,
        fields: Sequence[str] | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[NdjsonRecord]:
        """Each record of an NDJSON / JSON Lines file: validated against `schema`
        (a Schema or JSON value) and/or projected onto `fields` (RFC 6901
        pointers). Blank lines are skipped; a line that is not JSON, or longer
        than ``limits.max_output_bytes``, yields a record with ``error`` set.
        Memory is bounded by the largest record. `progress`, if given, is
        called with (bytes read, file size) as the file is read."""
        p = require_file(path)
        fields = list(fields or [])
        compiled = None if schema is None else (schema if isinstance(schema, Schema) else self.compile_schema(schema))
        if self.backend == "python":
            py = None
            if compiled is not None:
                py = compiled._compiled if isinstance(compiled, _PySchema) else self._compile_python(compiled.source)
            for raw in fallback.iter_ndjson(p, py, fields, self.limits.max_output_bytes, progress):
                yield _record(raw)
            return
        yield from self._iter_ndjson_wasm(p, compiled, fields, progress)

    def _iter_ndjson_wasm(
        self, path: str, compiled: Schema | None, fields: list[str], progress: Callable[[int, int], None] | None
    ) -> Iterator[NdjsonRecord]:
        total = os.path.getsize(path)
        from . import _wasm_runtime as rt

        with rt.file_instance(self.limits, [path]) as (inst, guest_paths):
            # The reader runs in an instance that can see the file's directory;
            # handles are per instance, so the schema is compiled there too.
            schema_handle = None if compiled is None else self._compile_in(inst, compiled.source)
            reader = inst.call(
                JSON_INTERFACE, "[constructor]ndjson-reader", [guest_paths[0], schema_handle, fields, self._options()], _json_error
            )
            try:
                while True:
                    batch = inst.call(JSON_INTERFACE, "[method]ndjson-reader.next-batch", [reader, NDJSON_BATCH], _json_error)
                    if progress is not None:
                        progress(int(getattr(batch, "bytes-read")), total)
                    for line in str(batch.results).splitlines():
                        yield _record(json.loads(line))
                    if batch.finished:
                        break
            finally:
                if not inst.dead:
                    with inst.lock:
                        reader.drop(inst.store)
                        if schema_handle is not None:
                            schema_handle.drop(inst.store)


def _record(raw: dict[str, Any]) -> NdjsonRecord:
    return NdjsonRecord(
        line=int(raw["line"]),
        valid=bool(raw["valid"]),
        errors=[ValidationError(e["instance_path"], e["schema_path"], e["message"]) for e in raw.get("errors", [])],
        error=raw.get("error"),
        value=raw.get("value"),
        fields=raw.get("fields"),
    )


#: The name the monolith imports.
RustJsonProcessor = JsonProcessor
