"""The wasm backend's deltas: VCDIFF in the sandboxed component, through the
process's host of it. Files are read in place by the component, a window
per call (so each call gets the whole time limit, and progress moves)."""

from __future__ import annotations

import os

from .._files import PathLike
from .._wasm import get_host
from .._wasm.host import EncodeOptions
from ._backend import Buffer, Format, ProgressCallback, Settings


class Vcdiff:
    format: Format = "vcdiff"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._host = get_host(settings.host)
        self._options = EncodeOptions(settings.window_size, 0, settings.checksum)

    def encode(self, old: Buffer, new: Buffer) -> bytes:
        return self._host.delta_encode(self.settings.limits, old, new, self._options)

    def decode(self, old: Buffer, delta: Buffer) -> bytes:
        limits = self.settings.limits
        return self._host.delta_decode(limits, old, delta, limits.max_output_bytes)

    def encode_file(self, old_path: str, new_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        return self._host.delta_encode_file(self.settings.limits, old_path, new_path, os.fspath(out_path), self._options, progress)

    def decode_file(self, old_path: str, delta_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        limits = self.settings.limits
        return self._host.delta_decode_file(limits, old_path, delta_path, os.fspath(out_path), limits.max_output_bytes, progress)
