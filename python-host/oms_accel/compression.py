"""zstd frames, through the native module."""

from __future__ import annotations

from typing import Any

from ._checks import integer
from ._files import byte_views
from .errors import BackendUnavailableError
from .limits import DEFAULT_MAX_OUTPUT, MAX_BYTES

#: zstd's compression levels (ZSTD_minCLevel() to ZSTD_maxCLevel()).
MIN_LEVEL, MAX_LEVEL = -(1 << 17), 22


def _native() -> Any:
    try:
        from . import _native
    except ImportError as e:
        raise BackendUnavailableError(f"zstd needs the native module oms_accel._native, which does not load here: {e}") from None
    return _native


def compress(data: Any, level: int = 3) -> bytes:
    """A zstd frame of `data` (any bytes-like object), with its content size and
    a checksum; `level` from 1 (fast) to 22 (small), or negative for faster still."""
    level = integer("level", level, MIN_LEVEL, MAX_LEVEL)
    with byte_views(data=data) as (view,):
        return bytes(_native().zstd_compress(view, level))


def decompress(data: Any, max_output_size: int = DEFAULT_MAX_OUTPUT, max_window_log: int = 31) -> bytes:
    """The content of one zstd frame.

    Raises:
        CompressionError: not a zstd frame, corrupt, truncated, or without a recorded size.
        LimitError: the content is larger than `max_output_size`.
    """
    max_output_size = integer("max_output_size", max_output_size, 0, MAX_BYTES)
    max_window_log = integer("max_window_log", max_window_log, 10, 31)
    with byte_views(data=data) as (view,):
        return bytes(_native().zstd_decompress(view, max_output_size, max_window_log))
