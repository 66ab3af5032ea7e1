"""JSON for large documents: strict parsing, RFC 6901 lookups, JSON Schema
validation, RFC 6902 / 7396 patches, RFC 8785 canonical form, NDJSON streams.

On the wasm backend a document is parsed once inside the component and
stays there: lookups and validation send back only small results. The
python backend does the same with the standard library, ``jsonschema`` and
``jsonpatch``. Each backend is one file (`_wasm`, `_python`) implementing
`_backend.JsonBackend`.

Arguments that take "a JSON value" accept a `Document`, JSON text (``str`` or
UTF-8 ``bytes``), or a Python value (dict, list, str, int, float, bool, None).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import backends
from .._checks import integer
from .._files import PathLike, byte_views, readable_files, require_file
from .._pickling import one_per_process
from ..errors import AccelArgumentError
from ..limits import Limits
from ._backend import MISSING, Arg, DocumentImpl, JsonBackend, SchemaImpl, SchemaSource

SUPPORTED_BACKENDS: tuple[backends.BackendName, ...] = ("wasm", "python")
DraftName = Literal["4", "6", "7", "2019-09", "2020-12"]
DRAFTS: tuple[str, ...] = ("4", "6", "7", "2019-09", "2020-12")
DEFAULT_MAX_DEPTH = 512
#: The deepest `max_depth` (it crosses into the component as a u32).
MAX_DEPTH = (1 << 32) - 1
#: Compiled schemas `validate_schema` keeps, per processor.
SCHEMA_CACHE = 64

__all__ = ["Document", "JsonProcessor", "NdjsonRecord", "RustJsonProcessor", "Schema", "ValidationError"]


@dataclass(frozen=True)
class ValidationError:
    """One way a document fails its schema."""

    #: RFC 6901 pointer to the failing value in the document ("" is the root).
    instance_path: str
    #: Pointer to the failing keyword in the schema.
    schema_path: str
    #: What is wrong, quoting the value: a value quoted past
    #: `MESSAGE_LIMIT` characters keeps its start and end (the same on every
    #: backend), so that a 12 MiB string never makes a 12 MiB message.
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", shorten(self.message))


#: The longest message a `ValidationError` carries whole.
MESSAGE_LIMIT = 400


def shorten(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """`message` cut in the middle when longer than `limit` characters, saying how much was cut."""
    if len(message) <= limit:
        return message
    keep = (limit - 40) // 2
    return f"{message[:keep]} ... ({len(message) - 2 * keep} characters cut) ... {message[-keep:]}"


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


# --- documents -------------------------------------------------------------------------------


class Document:
    """A parsed JSON document. Pointers are RFC 6901 (``""`` is the whole document)."""

    def __init__(self, impl: DocumentImpl, proc: JsonProcessor) -> None:
        self._impl = impl
        self._proc = proc
        self.backend = proc.backend

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its text and its processor's settings: parsed again
        where it is unpickled, so that no handle into an instance crosses."""
        return (_parsed, (self._proc, self.to_text()))

    def get(self, pointer: str = "", default: Any = None) -> Any:
        """The value at `pointer` as a Python object, or `default` if there is none."""
        v = self._impl.get(_pointer(pointer))
        return default if v is MISSING else v

    def kind(self, pointer: str = "") -> str | None:
        """``"null"``, ``"boolean"``, ``"number"``, ``"string"``, ``"array"`` or ``"object"``; None if absent."""
        return self._impl.kind(_pointer(pointer))

    def length(self, pointer: str = "") -> int | None:
        """Items of an array, members of an object, characters of a string; else None."""
        return self._impl.length(_pointer(pointer))

    def keys(self, pointer: str = "") -> list[str] | None:
        """Member names of an object in document order; None if not an object."""
        return self._impl.keys(_pointer(pointer))

    def to_text(self, pretty: bool = False) -> str:
        """The document as JSON text, keys in document order."""
        return self._impl.to_text(pretty)

    def to_python(self) -> Any:
        """The whole document as Python objects."""
        return self._impl.to_python()

    def __repr__(self) -> str:
        return f"<Document ({self.backend}) {self.kind()}>"


def _pointer(pointer: Any) -> str:
    if not isinstance(pointer, str):
        raise AccelArgumentError(f"a JSON pointer is a str, not {type(pointer).__name__}")
    return pointer


class Schema:
    """A compiled JSON Schema: compile once, validate many documents."""

    def __init__(self, proc: JsonProcessor, impl: SchemaImpl, source: SchemaSource) -> None:
        self._proc = proc
        self._impl = impl
        #: What it was compiled from: (schema text, draft, resources as (URI, text) pairs).
        self.source = source
        self.backend = proc.backend

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its source and its processor's settings: compiled again
        where it is unpickled (once per process and processor settings)."""
        text, draft, resources = self.source
        return (_compiled, (self._proc, text, draft, dict(resources)))

    def validate(self, doc: Any) -> list[ValidationError]:
        """Every violation of the schema by `doc` (a Document, JSON text, or a Python value); empty when valid."""
        return [ValidationError(*v) for v in self._impl.validate(self._proc._arg(doc))]

    def is_valid(self, doc: Any) -> bool:
        """Whether `doc` satisfies the schema."""
        return self._impl.is_valid(self._proc._arg(doc))


# --- the processor ------------------------------------------------------------------------------


class JsonProcessor:
    """Parses, queries, validates, diffs, patches and canonicalizes JSON.

    Args:
        backend: ``"wasm"`` (the sandboxed component), ``"python"``, ``"auto"`` or
            None (``OMS_ACCEL_BACKEND``, else the best that loads).
        limits: memory and time limits of the component; ``limits.max_input_bytes``
            is the largest document (or NDJSON record) accepted, in bytes of UTF-8.
        max_depth: the deepest nesting of arrays and objects accepted (every
            backend, every operation).
        host: the wasm backend's host, ``"rust"`` or ``"wasmtime-py"`` (default:
            ``OMS_ACCEL_WASM_HOST``, else the best that loads); ``backend=
            "wasm/<host>"`` says the same. The attribute `host` says which runs.
    """

    def __init__(
        self,
        backend: str | None = None,
        *,
        limits: Limits | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
        host: str | None = None,
    ) -> None:
        max_depth = integer("max_depth", max_depth, 1, MAX_DEPTH)
        backend, host = backends.split_host(backend, host)
        self.backend: backends.BackendName = backends.resolve(backend, SUPPORTED_BACKENDS, "JSON processing")
        #: The wasm backend's host (None on the other backends).
        self.host: str | None = backends.wasm_host(host) if self.backend == "wasm" else None
        self.limits = limits or Limits()
        self.max_depth = max_depth
        self._backend = _make_backend(self.backend, self.host, self.limits, max_depth)
        from . import _python

        # Python values of text arguments, for the backends that work on values.
        self._parse_value = _python.Backend(self.limits.max_input_bytes, max_depth).parse_value
        self._schemas: dict[tuple[int, str], Schema] = {}
        self._schemas_lock = threading.Lock()

    def __repr__(self) -> str:
        host = f", host={self.host!r}" if self.host else ""
        return f"JsonProcessor(backend={self.backend!r}{host})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its settings (a backend, its host, limits, depth): a
        working processor where it is unpickled, with instances of its own."""
        return (_processor, (self.backend, self.host, self.limits, self.max_depth))

    def _arg(self, value: Any) -> Arg:
        return Arg(value, self._parse_value)

    # --- parsing ---

    def parse_large_document(self, data: Any) -> Document:
        """Parses `data`: JSON text (``str``), UTF-8 bytes (any bytes-like, mmap
        included), or a path (``os.PathLike``) to a file of JSON.

        Raises:
            JsonError: not valid JSON (with ``line``, ``column`` and ``offset``).
            LimitError: deeper than ``max_depth`` or larger than ``limits.max_input_bytes``.
        """
        # Bytes go to the backend undecoded: the Rust host hands them to the
        # guest as they are; the others decode them (`decode_utf8`).
        if isinstance(data, str | bytes):
            return Document(self._backend.parse(data), self)
        if isinstance(data, os.PathLike):
            with open(require_file(data), "rb") as f:
                return Document(self._backend.parse(f.read()), self)
        if isinstance(data, Document):
            return Document(self._backend.parse(data.to_text()), self)
        with byte_views(data=data) as (view,):
            return Document(self._backend.parse(view), self)

    # --- schemas ---

    def compile_schema(self, schema: Any, draft: DraftName | int | None = None, resources: Mapping[str, Any] | None = None) -> Schema:
        """Compiles `schema` (a JSON value) for `draft` (``"2020-12"`` by default,
        or the schema's ``$schema``; also ``"2019-09"``, 7, 6, 4). `resources`
        maps URIs to schemas that ``$ref`` may name; nothing is fetched.

        Raises:
            SchemaError: the schema is invalid, or names a resource that is missing.
        """
        d = None if draft is None else str(draft)
        if d is not None and d not in DRAFTS:
            raise AccelArgumentError(f"unknown draft {draft!r}: expected one of {', '.join(DRAFTS)}")
        res = tuple((uri, self._arg(v).text()) for uri, v in (resources or {}).items())
        source: SchemaSource = (self._arg(schema).text(), d, res)
        return Schema(self, self._backend.compile(source), source)

    def validate_schema(self, document: Any, schema: Any) -> list[ValidationError]:
        """Every violation of `schema` by `document` (both JSON values); empty when
        valid. Compiled schemas are cached by their text, so calling this in a
        loop with one schema compiles it once."""
        compiled = schema if isinstance(schema, Schema) else self._cached_schema(self._arg(schema).text())
        return compiled.validate(document)

    def _cached_schema(self, text: str) -> Schema:
        # Per thread: on the wasm backend a schema lives in its thread's instance.
        key = (threading.get_ident(), text)
        with self._schemas_lock:
            found = self._schemas.get(key)
        if found is None or not found._impl.alive:
            found = self.compile_schema(text)
            with self._schemas_lock:
                if len(self._schemas) >= SCHEMA_CACHE:
                    self._schemas.pop(next(iter(self._schemas)))
                self._schemas[key] = found
        return found

    # --- patches and canonical form ---

    def diff(self, a: Any, b: Any) -> list[dict[str, Any]]:
        """An RFC 6902 patch (a list of operations) that turns `a` into `b`."""
        return self._backend.diff(self._arg(a), self._arg(b))

    def apply_patch(self, doc: Any, patch: Any) -> Any:
        """`doc` with the RFC 6902 `patch` applied. Raises PatchError if it is malformed or an operation fails."""
        return self._backend.apply_patch(self._arg(doc), self._arg(patch))

    def merge_patch(self, doc: Any, patch: Any) -> Any:
        """`doc` with the RFC 7396 merge `patch` applied."""
        return self._backend.merge_patch(self._arg(doc), self._arg(patch))

    def canonicalize(self, doc: Any) -> str:
        """The RFC 8785 canonical JSON text of `doc`."""
        return self._backend.canonicalize(self._arg(doc))

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
        than ``limits.max_input_bytes``, yields a record with ``error`` set.
        Memory is bounded by the largest record. `progress`, if given, is
        called with (bytes read, file size) as the file is read."""
        source = None if schema is None else (schema.source if isinstance(schema, Schema) else self.compile_schema(schema).source)
        with readable_files(path) as (p,):  # (a pipe is copied to a file first)
            for raw in self._backend.iter_ndjson(p, source, list(fields or []), progress):
                yield _record(raw)


def _make_backend(name: backends.BackendName, host: str | None, limits: Limits, max_depth: int) -> JsonBackend:
    if name == "wasm":
        from . import _wasm

        return _wasm.Backend(host, limits, limits.max_input_bytes, max_depth)
    from . import _python

    timeout = math.inf if limits.timeout_s is None else limits.timeout_s
    return _python.Backend(limits.max_input_bytes, max_depth, timeout)


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


# --- pickling: settings and sources cross, never a handle into an instance ---


def _processor(backend: str, host: str | None, limits: Limits, max_depth: int) -> JsonProcessor:
    # One per process and settings: the documents and schemas of a task
    # share it (and its compiled-schema cache).
    key = (JsonProcessor, backend, host, limits, max_depth)
    return one_per_process(key, lambda: JsonProcessor(backend, limits=limits, max_depth=max_depth, host=host))


def _parsed(proc: JsonProcessor, text: str) -> Document:
    return proc.parse_large_document(text)


def _compiled(proc: JsonProcessor, text: str, draft: str | None, resources: dict[str, str]) -> Schema:
    if draft is None and not resources:
        return proc._cached_schema(text)  # one compilation per thread, however many tasks carry it
    return proc.compile_schema(text, draft, resources)  # type: ignore[arg-type]
