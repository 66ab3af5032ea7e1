"""The interface every delta backend implements whole: a codec of one
format (VCDIFF or zstd), made with the caller's settings."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from .._files import PathLike, atomic_output
from ..errors import DeltaError
from ..limits import Limits

Buffer = bytes | memoryview
Format = Literal["vcdiff", "zstd"]
#: Called with (bytes done, bytes in all) as a file operation goes.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Settings:
    """What a `DeltaEncoder` was made with, as every codec takes it."""

    limits: Limits
    #: zstd compression level.
    level: int
    #: Bytes of the new version per VCDIFF window (0: the default, 8 MiB).
    window_size: int
    #: Store an Adler-32 checksum of each VCDIFF window.
    checksum: bool
    #: Refuse to decode a delta whose output nothing in it lets us check.
    verify: bool = True
    #: The wasm backend's host (see `oms_accel._wasm`); None: the default.
    host: str | None = None


class Codec(Protocol):
    """One backend's deltas of one format."""

    format: Format

    def encode(self, old: Buffer, new: Buffer) -> bytes: ...
    def decode(self, old: Buffer, delta: Buffer) -> bytes: ...
    def encode_file(self, old_path: str, new_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        """Writes the delta to `out_path` (complete, or not at all); its size."""
        ...

    def decode_file(self, old_path: str, delta_path: str, out_path: PathLike, progress: ProgressCallback | None) -> int:
        """Writes the new version to `out_path` (complete, or not at all); its size."""
        ...


@contextlib.contextmanager
def mapped(path: str) -> Iterator[Buffer]:
    """The file's bytes without reading them into Python: a read-only map
    (an empty file cannot be mapped, and gives b"")."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            view = memoryview(m)
            try:
                yield view
            finally:
                view.release()


def in_memory(
    op: Callable[[Buffer, Buffer], bytes], a_path: str, b_path: str, out_path: PathLike, progress: ProgressCallback | None, unit: str
) -> int:
    """A file operation for a codec that works in memory: both inputs mapped,
    the result written atomically; progress at the end, counted in the size
    of input `unit` ("a" or "b")."""
    with mapped(a_path) as a, mapped(b_path) as b:
        total = len(a if unit == "a" else b)
        result = op(a, b)
    with atomic_output(out_path, DeltaError) as out:
        out.write(result)
    if progress:
        progress(total, total)
    return len(result)
