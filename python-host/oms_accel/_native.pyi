"""Type stubs for the PyO3 extension oms_accel._native (host-native/).

Inputs are bytes or any C-contiguous buffer of unsigned bytes, read without a
copy; errors are the package's own (DeltaError, LimitError, AccelArgumentError).

The ``wasm_*`` functions and ``Wasm*`` classes are the Rust host of the
component (`oms_accel._wasm.rust` drives them): each function is one WIT
export, called with the GIL released. JSON text is a ``str`` or UTF-8 bytes
(checked, never decoded into a ``str``).
"""

from typing import Self, final

from typing_extensions import Buffer

__all__ = [
    "GPU_MAX_DIM",
    "GPU_MAX_K",
    "WASM_ENGINE_SETTINGS",
    "WASM_ENGINE_SETTINGS_UNTIMED",
    "ZSTD_VERSION",
    "GpuMatrix",
    "NativeIndex",
    "WasmInstance",
    "WasmResource",
    "WasmRuntime",
    "__version__",
    "build_info",
    "gpu_adapter",
    "native_simd",
    "native_similarity",
    "wasm_delta_decode",
    "wasm_delta_encode",
    "wasm_document_get",
    "wasm_document_keys",
    "wasm_document_kind",
    "wasm_document_length",
    "wasm_document_to_text",
    "wasm_file_decoder_open",
    "wasm_file_encoder_open",
    "wasm_file_step",
    "wasm_index_add",
    "wasm_index_add_records",
    "wasm_index_check_room",
    "wasm_index_create",
    "wasm_index_records",
    "wasm_index_search",
    "wasm_index_truncate",
    "wasm_json_binary",
    "wasm_json_canonicalize",
    "wasm_json_parse",
    "wasm_ndjson_next",
    "wasm_ndjson_open",
    "wasm_schema_compile",
    "wasm_schema_is_valid",
    "wasm_schema_is_valid_text",
    "wasm_schema_validate",
    "wasm_schema_validate_text",
    "wasm_similarity",
    "xdelta3_decode",
    "xdelta3_encode",
    "zstd_compress",
    "zstd_decompress",
    "zstd_patch_decode",
    "zstd_patch_encode",
]

__version__: str
ZSTD_VERSION: str

def build_info() -> tuple[str, str, str]:
    """(crate version, build profile, target) of the native module."""

def zstd_compress(data: Buffer, level: int = 3) -> bytes:
    """A zstd frame of `data`, with its content size and a checksum."""

def zstd_decompress(frame: Buffer, max_output: int, max_window_log: int = ...) -> bytes:
    """The content of one zstd frame; LimitError over `max_output` bytes.
    (`max_window_log` defaults to 31.)"""

def zstd_patch_encode(old: Buffer, new: Buffer, level: int = 3) -> bytes:
    """A zstd patch-from delta: `new` compressed against `old` as reference prefix."""

def zstd_patch_decode(old: Buffer, delta: Buffer, max_output: int, max_window_log: int = ..., verify: bool = ...) -> bytes:
    """The new version from `old` and a patch-from `delta`."""

def xdelta3_encode(old: Buffer, new: Buffer) -> bytes:
    """A VCDIFF delta made by the xdelta3 library."""

def xdelta3_decode(old: Buffer, delta: Buffer, max_output: int) -> bytes:
    """The new version from `old` and a VCDIFF `delta`, by the xdelta3 library."""

# --- the Rust host of the component ---

WASM_ENGINE_SETTINGS: str
WASM_ENGINE_SETTINGS_UNTIMED: str

@final
class WasmRuntime:
    """The Engine, the compiled component and its linker (one per process)."""

    @staticmethod
    def compile(wasm: bytes, timed: bool = True, perfmap: bool = False) -> WasmRuntime:
        """Compiles the component from `wasm`, the bytes whose sha256 the caller checked;
        `timed`: with the epoch checks that time limits need; `perfmap`: writing
        /tmp/perf-<pid>.map for `perf report`."""
    @staticmethod
    def load_compiled(path: str, timed: bool = True, perfmap: bool = False) -> WasmRuntime:
        """Loads what `serialize` wrote (native code: trusted by the caller)."""
    def serialize(self) -> bytes: ...
    @property
    def timed(self) -> bool:
        """Whether its calls can have a time limit."""

@final
class WasmInstance:
    """One Store and instance; `preopens` are (host dir, guest path, writable)."""

    def __new__(cls, runtime: WasmRuntime, memory_bytes: int, timeout_s: float | None, preopens: list[tuple[str, str, bool]]) -> Self:
        """`timeout_s` is None exactly when `runtime` is untimed."""
    @property
    def timeout_s(self) -> float | None: ...
    @timeout_s.setter
    def timeout_s(self, seconds: float | None) -> None: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def linear_bytes(self) -> int: ...
    @property
    def alive(self) -> bool:
        """False after a trap, or in a process forked after it was made."""
    @property
    def resources(self) -> int:
        """Guest resources alive in it (each a handle in its store)."""
    def close(self) -> None: ...

@final
class WasmResource:
    """A document, schema, index, file operation or reader in one instance."""

    @property
    def kind(self) -> str: ...
    @property
    def alive(self) -> bool: ...

def wasm_delta_encode(inst: WasmInstance, old: Buffer, new: Buffer, window_size: int, source_window_size: int, checksum: bool) -> bytes: ...
def wasm_delta_decode(inst: WasmInstance, old: Buffer, delta: Buffer, max_output: int, verify: bool) -> bytes: ...
def wasm_file_encoder_open(
    inst: WasmInstance, old_path: str, new_path: str, out_path: str, window_size: int, source_window_size: int, checksum: bool
) -> WasmResource: ...
def wasm_file_decoder_open(
    inst: WasmInstance, old_path: str, delta_path: str, out_path: str, max_output: int, verify: bool
) -> WasmResource: ...
def wasm_file_step(op: WasmResource) -> tuple[int, int, bool]:
    """One window: (done, total, finished)."""

def wasm_json_parse(inst: WasmInstance, text: str | Buffer, max_depth: int, max_size: int) -> WasmResource: ...
def wasm_document_get(doc: WasmResource, pointer: str) -> str | None: ...
def wasm_document_kind(doc: WasmResource, pointer: str) -> str | None: ...
def wasm_document_length(doc: WasmResource, pointer: str) -> int | None: ...
def wasm_document_keys(doc: WasmResource, pointer: str) -> list[str] | None: ...
def wasm_document_to_text(doc: WasmResource, pretty: bool) -> str: ...
def wasm_schema_compile(
    inst: WasmInstance, text: str | Buffer, draft_name: str | None, resources: list[tuple[str, str]], max_depth: int, max_size: int
) -> WasmResource: ...
def wasm_schema_validate(schema: WasmResource, doc: WasmResource) -> list[tuple[str, str, str]]: ...
def wasm_schema_validate_text(schema: WasmResource, text: str | Buffer, max_depth: int, max_size: int) -> list[tuple[str, str, str]]: ...
def wasm_schema_is_valid_text(schema: WasmResource, text: str | Buffer, max_depth: int, max_size: int) -> bool: ...
def wasm_schema_is_valid(schema: WasmResource, doc: WasmResource) -> bool: ...
def wasm_json_binary(inst: WasmInstance, name: str, a: str | Buffer, b: str | Buffer, max_depth: int, max_size: int) -> str:
    """`name` is diff, apply-patch or merge-patch."""

def wasm_json_canonicalize(inst: WasmInstance, doc: str | Buffer, max_depth: int, max_size: int) -> str: ...
def wasm_ndjson_open(
    inst: WasmInstance, path: str, schema: WasmResource | None, fields: list[str], max_depth: int, max_size: int
) -> WasmResource: ...
def wasm_ndjson_next(reader: WasmResource, max_records: int) -> tuple[str, int, int, bool]:
    """(results, records, bytes read, finished)."""

def wasm_index_create(inst: WasmInstance, dimension: int, metric_name: str, storage_name: str) -> WasmResource: ...
def wasm_index_add(index: WasmResource, vectors: Buffer, ids: Buffer) -> int: ...
def wasm_index_truncate(index: WasmResource, len: int) -> None: ...
def wasm_index_check_room(index: WasmResource, batch: int, need: int) -> None: ...
def wasm_index_search(index: WasmResource, queries: Buffer, k: int) -> bytes:
    """Per query, min(k, len) records of id u64 and score f32."""

def wasm_index_records(index: WasmResource, start: int, count: int) -> bytes:
    """`count` records of the index file from the `start`th (fewer past the end)."""

def wasm_index_add_records(index: WasmResource, records: Buffer) -> int:
    """Appends records of an index file (all or nothing); returns how many."""

def wasm_similarity(inst: WasmInstance, a: Buffer, b: Buffer, dimension: int, metric_name: str) -> bytes: ...

# Vector search on the CPU (the `native` vector backend).

@final
class NativeIndex:
    """An exact vector index searched with the CPU's widest SIMD on `threads` threads."""

    def __new__(cls, dimension: int, metric_name: str, dtype: str, threads: int) -> Self: ...
    @staticmethod
    def from_bytes(data: Buffer, threads: int) -> NativeIndex: ...
    def __len__(self) -> int: ...
    def add(self, vectors: Buffer, ids: Buffer) -> None: ...
    def search(self, queries: Buffer, k: int) -> list[list[tuple[int, float]]]:
        """Per query, its min(k, len) hits (id, score), best first."""

    def records(self) -> bytes: ...

def native_similarity(a: Buffer, b: Buffer, dimension: int, metric_name: str, threads: int) -> bytearray: ...
def native_simd(wanted: str | None = None) -> str: ...

# Present when the module is built with the cargo feature `gpu` (the default in `make`).

GPU_MAX_DIM: int
GPU_MAX_K: int

def gpu_adapter() -> tuple[str, str, str] | None:
    """(name, device type, backend) of the adapter wgpu picks, or None."""

@final
class GpuMatrix:
    """Rows (little-endian f32, `dim` each) on the GPU, for batch top-k."""

    def __new__(cls, rows: Buffer, dim: int, l2: bool) -> Self: ...
    @property
    def adapter(self) -> tuple[str, str]: ...
    def search(self, queries: Buffer, k: int) -> tuple[bytes, bytes]:
        """(rows as u32, keys as f32), min(k, n) per query, best first."""
