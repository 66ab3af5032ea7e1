"""The native backend's deltas: zstd patch-from frames and VCDIFF made by the
xdelta3 library, both in `oms_accel._native` (the C libraries, inputs read
without a copy, the GIL released)."""

from __future__ import annotations

from typing import Any

from .._files import PathLike
from ..errors import DeltaError
from ._backend import Buffer, Codec, Format, ProgressCallback, Settings, in_memory


def module() -> Any:
    """The native module, or a DeltaError that says what to install."""
    try:
        from .. import _native
    except ImportError:
        raise DeltaError(
            "this delta is a zstd frame, which needs the native module oms_accel._native: "
            "install oms-accel from a wheel built with it (maturin builds it from host-native/)",
            "unsupported",
        ) from None
    return _native


class Zstd:
    """zstd patch-from: the old version is the compressor's reference prefix."""

    format: Format = "zstd"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def encode(self, old: Buffer, new: Buffer) -> bytes:
        return bytes(module().zstd_patch_encode(old, new, self.settings.level))

    def decode(self, old: Buffer, delta: Buffer) -> bytes:
        limits = self.settings.limits
        return bytes(module().zstd_patch_decode(old, delta, limits.max_output_bytes, limits.zstd_max_window_log, self.settings.verify))

    def encode_file(self, old_path: str, new_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        return in_memory(self.encode, old_path, new_path, out_path, progress, "b")

    def decode_file(self, old_path: str, delta_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        return in_memory(self.decode, old_path, delta_path, out_path, progress, "b")


class Xdelta3:
    """VCDIFF made by the xdelta3 library. Its deltas are read by our own
    VCDIFF decoder (`vcdiff`): the library's decoder accepts a delta cut
    between windows, or one with no window at all, as complete."""

    format: Format = "vcdiff"

    def __init__(self, settings: Settings, vcdiff: Codec) -> None:
        self.settings = settings
        self._vcdiff = vcdiff

    def encode(self, old: Buffer, new: Buffer) -> bytes:
        return bytes(module().xdelta3_encode(old, new))

    def decode(self, old: Buffer, delta: Buffer) -> bytes:
        return self._vcdiff.decode(old, delta)

    def encode_file(self, old_path: str, new_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        return in_memory(self.encode, old_path, new_path, out_path, progress, "b")

    def decode_file(self, old_path: str, delta_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        return self._vcdiff.decode_file(old_path, delta_path, out_path, progress)
