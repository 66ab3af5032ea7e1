"""The vector index file format, shared by every backend (the guest's
`vector::index` writes and reads the same bytes).

Little-endian: the magic ``OMSVECS1``; dimension u32; metric u8 (0 cosine,
1 dot, 2 l2); storage u8 (0 f32, 1 f16, 2 i8); two zero bytes; count u64.
Then `count` records: id u64, the scale f32 (i8 only), the row as stored
(unit length, for cosine). Records are independent, so the files of several
shards concatenate under one header.
"""

from __future__ import annotations

import struct
from typing import Literal

from ..errors import VectorError

Metric = Literal["cosine", "dot", "l2"]
DType = Literal["f32", "f16", "i8"]
METRICS: tuple[Metric, ...] = ("cosine", "dot", "l2")
DTYPES: tuple[DType, ...] = ("f32", "f16", "i8")
MAGIC = b"OMSVECS1"
HEADER = struct.Struct("<8sIBBxxQ")
MAX_DIM = 1 << 16
_ELEMENT_BYTES = {"f32": 4, "f16": 2, "i8": 1}


def header(dim: int, metric: Metric, dtype: DType, count: int) -> bytes:
    return HEADER.pack(MAGIC, dim, METRICS.index(metric), DTYPES.index(dtype), count)


def record_len(dim: int, dtype: DType) -> int:
    return 8 + (4 if dtype == "i8" else 0) + dim * _ELEMENT_BYTES[dtype]


def parse_header(data: bytes, body_len: int) -> tuple[int, Metric, DType, int]:
    """(dimension, metric, dtype, count) of a file whose header is `data` and
    whose records take `body_len` bytes; VectorError when they disagree."""
    if len(data) < HEADER.size or data[:8] != MAGIC:
        raise VectorError("not an oms-accel vector index (bad magic)", "corrupt")
    _, dim, m, s, count = HEADER.unpack_from(data)
    if m >= len(METRICS):
        raise VectorError(f"unknown metric code {m}", "corrupt")
    if s >= len(DTYPES):
        raise VectorError(f"unknown storage code {s}", "corrupt")
    if not 1 <= dim <= MAX_DIM:
        raise VectorError(f"dimension {dim} is out of range (1 to {MAX_DIM})", "corrupt")
    record = record_len(dim, DTYPES[s])
    held = body_len // record
    if body_len % record or held < count:
        raise VectorError(f"the index says {count} vectors but its file holds {body_len / record:g}", "truncated")
    if held > count:
        raise VectorError(f"the index says {count} vectors but its file holds {held}", "corrupt")
    return dim, METRICS[m], DTYPES[s], count
