"""What a host of the component offers the wasm backends: the contract that
every host (wasmtime-py's `bindings`, the Rust host `rust`) implements whole.

The backends (``delta/_wasm.py``, ``json/_wasm.py``, ``vector/_wasm.py``)
speak only this: Python values in, Python values out, errors already raised
as the package's exceptions. How bytes cross the sandbox wall (WIT lists,
scratch files, hex strings) is each host's own business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, Protocol

from ..limits import Limits
from ..vector._format import DType, Metric

Buffer = bytes | memoryview
#: JSON text: a ``str``, or UTF-8 bytes that a host may hand the guest as
#: they are (the Rust host does; wasmtime-py's needs a ``str``).
Text = str | bytes | bytearray | memoryview


def is_text(value: object) -> bool:
    return isinstance(value, str | bytes | bytearray | memoryview)


def as_str(text: Text) -> str:
    """`text` as a ``str`` (invalid UTF-8 is a JsonError at its position)."""
    if isinstance(text, str):
        return text
    from ..json._backend import decode_utf8

    return decode_utf8(text)


#: Called with (done, total) as a file operation goes.
Progress = Callable[[int, int], None]


class DecodeOptions(NamedTuple):
    """The trailing arguments of the WIT ``decode`` calls."""

    #: The most bytes the output may have.
    max_output: int
    #: Refuse a window without a checksum (``unverified``).
    verify: bool


class EncodeOptions(NamedTuple):
    """The WIT ``encode-options``: 0 means the component's default."""

    window_size: int
    source_window_size: int
    checksum: bool


class ParseOptions(NamedTuple):
    """The WIT ``parse-options``: 0 means the component's default."""

    max_depth: int
    max_size: int


class DocumentHandle(Protocol):
    """A document parsed inside the component."""

    def get(self, pointer: str) -> str | None: ...
    def kind(self, pointer: str) -> str | None: ...
    def length(self, pointer: str) -> int | None: ...
    def keys(self, pointer: str) -> list[str] | None: ...
    def to_text(self, pretty: bool) -> str: ...


class SchemaHandle(Protocol):
    """A schema compiled inside the component."""

    def validate(self, doc: DocumentHandle | Text) -> list[tuple[str, str, str]]:
        """(instance path, schema path, message) of each violation by `doc`
        (a handle, or JSON text parsed for the occasion)."""
        ...

    def is_valid(self, doc: DocumentHandle | Text) -> bool: ...

    @property
    def alive(self) -> bool:
        """False once the instance holding it is gone (after a trap, or a fork)."""
        ...


class ShardHandle(Protocol):
    """One vector index inside the component."""

    def add(self, vectors: Buffer, ids: Buffer) -> None:
        """Rows of little-endian f32 under little-endian u64 ids; all or nothing."""
        ...

    def truncate(self, n: int) -> None:
        """Keeps the first `n` rows (all when it holds no more)."""
        ...

    def check_room(self, batch: int, need: int) -> None:
        """Raises LimitError, as `add` would, when a batch of `batch` bytes
        whose parts need at most `need` bytes of memory might not fit."""
        ...

    def search(self, queries: Buffer, k: int) -> bytes:
        """Each query's min(k, len) hits as records of id u64 and score f32."""
        ...

    def records(self) -> list[bytes]:
        """Every record the shard holds, as an index file holds them after
        its header, in parts that the caller joins (once, with the other
        shards'). Taken out so that guest memory never holds them all
        beside the rows (linear memory never shrinks: that would double the
        shard for good, or trap one more than half its limit)."""
        ...

    def close(self) -> None: ...


class Host(Protocol):
    """One host of the component."""

    #: The host's name, as ``host=`` and ``OMS_ACCEL_WASM_HOST`` spell it.
    name: str

    # --- delta ---
    def delta_encode(self, limits: Limits, old: Buffer, new: Buffer, options: EncodeOptions) -> bytes: ...
    def delta_decode(self, limits: Limits, old: Buffer, delta: Buffer, options: DecodeOptions) -> bytes: ...
    def delta_encode_file(
        self, limits: Limits, old_path: str, new_path: str, out_path: str, options: EncodeOptions, progress: Progress | None
    ) -> int: ...
    def delta_decode_file(
        self, limits: Limits, old_path: str, delta_path: str, out_path: str, options: DecodeOptions, progress: Progress | None
    ) -> int: ...

    # --- json ---
    def json_parse(self, limits: Limits, text: Text, options: ParseOptions) -> DocumentHandle: ...
    def json_compile(
        self, limits: Limits, text: str, draft: str | None, resources: Sequence[tuple[str, str]], options: ParseOptions
    ) -> SchemaHandle: ...
    def json_validate_alone(
        self, limits: Limits, schema: tuple[str, str | None, Sequence[tuple[str, str]]], text: Text, options: ParseOptions
    ) -> list[tuple[str, str, str]]:
        """`validate` of `text` against `schema` (text, draft, resources),
        both in an instance of their own, freed after: the DOM of a large
        document then grows no instance that outlives the call."""
        ...

    def json_diff(self, limits: Limits, a: Text, b: Text, options: ParseOptions) -> str: ...
    def json_apply_patch(self, limits: Limits, doc: Text, patch: Text, options: ParseOptions) -> str: ...
    def json_merge_patch(self, limits: Limits, doc: Text, patch: Text, options: ParseOptions) -> str: ...
    def json_canonicalize(self, limits: Limits, doc: Text, options: ParseOptions) -> str: ...
    def json_ndjson(
        self,
        limits: Limits,
        path: str,
        schema: tuple[str, str | None, Sequence[tuple[str, str]]] | None,
        fields: Sequence[str],
        options: ParseOptions,
    ) -> Iterator[tuple[str, int]]:
        """Batches of result lines (one JSON object per record) and the
        bytes read so far; `schema` is (text, draft, resources)."""
        ...

    # --- vector ---
    def vector_shard(self, limits: Limits, dim: int, metric: Metric, dtype: DType) -> ShardHandle: ...
    def vector_load(self, limits: Limits, dim: int, metric: Metric, dtype: DType, records: Buffer) -> ShardHandle:
        """A shard holding `records` (an index file's, after its header), put
        in so that guest memory never holds them all beside the rows."""
        ...

    def vector_similarity(self, limits: Limits, a: Buffer, b: Buffer, dim: int, metric: str) -> bytes: ...
