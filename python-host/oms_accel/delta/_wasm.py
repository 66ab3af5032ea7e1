"""The wasm backend's deltas: VCDIFF in the sandboxed component, through the
process's host of it. Files are read in place by the component, a window
per call (so each call gets the whole time limit, and progress moves)."""

from __future__ import annotations

from .._files import PathLike, as_path
from .._wasm import get_host
from .._wasm.host import DecodeOptions, EncodeOptions
from ._backend import Buffer, Format, ProgressCallback, Settings


class Vcdiff:
    format: Format = "vcdiff"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._host = get_host(settings.host)
        # Settings and their limits are frozen: the options are made once.
        self._options = EncodeOptions(settings.window_size, 0, settings.checksum)
        self._decode_options = DecodeOptions(settings.limits.max_output_bytes, settings.verify)

    def encode(self, old: Buffer, new: Buffer) -> bytes:
        return self._host.delta_encode(self.settings.limits, old, new, self._options)

    def decode(self, old: Buffer, delta: Buffer) -> bytes:
        return self._host.delta_decode(self.settings.limits, old, delta, self._decode_options)

    def encode_file(self, old_path: str, new_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        return self._host.delta_encode_file(self.settings.limits, old_path, new_path, as_path(out_path), self._options, progress)

    def decode_file(self, old_path: str, delta_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        return self._host.delta_decode_file(self.settings.limits, old_path, delta_path, as_path(out_path), self._decode_options, progress)
