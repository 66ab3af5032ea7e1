"""The pure-Python backend's deltas: VCDIFF by `_vcdiff`, with the time
limit checked between windows."""

from __future__ import annotations

import math
import time

from .._files import PathLike, atomic_output
from ..errors import DeltaError
from . import _vcdiff
from ._backend import Buffer, Format, ProgressCallback, Settings, mapped


class Vcdiff:
    format: Format = "vcdiff"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _deadline(self) -> float:
        timeout = self.settings.limits.timeout_s
        return math.inf if timeout is None else time.monotonic() + timeout

    def encode(self, old: Buffer, new: Buffer) -> bytes:
        s = self.settings
        return _vcdiff.encode(old, new, s.checksum, deadline=self._deadline(), window_size=s.window_size)

    def decode(self, old: Buffer, delta: Buffer) -> bytes:
        s = self.settings
        return _vcdiff.decode(old, delta, s.limits.max_output_bytes, verify=s.verify, deadline=self._deadline())

    def encode_file(self, old_path: str, new_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        with mapped(old_path) as old, mapped(new_path) as new:
            s = self.settings
            delta = _vcdiff.encode(old, new, s.checksum, progress, self._deadline(), s.window_size)
        with atomic_output(out_path, DeltaError) as out:
            out.write(delta)
        return len(delta)

    def decode_file(self, old_path: str, delta_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        with mapped(old_path) as old, mapped(delta_path) as delta:
            s = self.settings
            new = _vcdiff.decode(old, delta, s.limits.max_output_bytes, progress, self._deadline(), verify=s.verify)
        with atomic_output(out_path, DeltaError) as out:
            out.write(new)
        return len(new)
