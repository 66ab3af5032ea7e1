"""Type stubs for the PyO3 extension oms_accel._native (host-native/).

Inputs are bytes or any C-contiguous buffer of unsigned bytes, read without a
copy; errors are the package's own (DeltaError, LimitError, AccelArgumentError).
"""

from typing import Self, final

from typing_extensions import Buffer

__all__ = [
    "GPU_MAX_DIM",
    "GPU_MAX_K",
    "ZSTD_VERSION",
    "GpuMatrix",
    "__version__",
    "build_info",
    "gpu_adapter",
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

def zstd_patch_decode(old: Buffer, delta: Buffer, max_output: int, max_window_log: int = ...) -> bytes:
    """The new version from `old` and a patch-from `delta`."""

def xdelta3_encode(old: Buffer, new: Buffer) -> bytes:
    """A VCDIFF delta made by the xdelta3 library."""

def xdelta3_decode(old: Buffer, delta: Buffer, max_output: int) -> bytes:
    """The new version from `old` and a VCDIFF `delta`, by the xdelta3 library."""

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
