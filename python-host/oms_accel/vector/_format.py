"""The vector index format, shared by every backend.

The records, little-endian: per vector, id u64, the scale f32 (i8 only),
the row as stored (unit length, for cosine). Records are independent, so
the records of several shards concatenate.

A shard's records cross into the component under the 24-byte header the
guest's `vector::format` reads (`header`): the magic ``OMSVECS1``;
dimension u32; metric u8 (0 cosine, 1 dot, 2 l2); storage u8 (0 f32, 1 f16,
2 i8); two zero bytes; count u64.

A file (`file_header`, version 2) has a 32-byte header: the same fields
after the magic ``OMSVECS2``, then a CRC-32 of the first 24 header bytes
and every record, and four zero bytes. Any damage to the header or the
records fails the checksum. A version 1 file (the shard header, no
checksum) still loads, with every field checked; saving it again adds the
checksum.
"""

from __future__ import annotations

import struct
import zlib
from typing import Literal

from ..errors import VectorError

Metric = Literal["cosine", "dot", "l2"]
DType = Literal["f32", "f16", "i8"]
METRICS: tuple[Metric, ...] = ("cosine", "dot", "l2")
DTYPES: tuple[DType, ...] = ("f32", "f16", "i8")
MAGIC = b"OMSVECS1"
HEADER = struct.Struct("<8sIBBHQ")
FILE_MAGIC = b"OMSVECS2"
FILE_HEADER = struct.Struct("<24sII")
MAX_DIM = 1 << 16
_ELEMENT_BYTES = {"f32": 4, "f16": 2, "i8": 1}


def header(dim: int, metric: Metric, dtype: DType, count: int, magic: bytes = MAGIC) -> bytes:
    return HEADER.pack(magic, dim, METRICS.index(metric), DTYPES.index(dtype), 0, count)


def file_header(dim: int, metric: Metric, dtype: DType, count: int, records: bytes | memoryview) -> bytes:
    """The header of a version 2 file holding `records`."""
    fields = header(dim, metric, dtype, count, FILE_MAGIC)
    return FILE_HEADER.pack(fields, zlib.crc32(records, zlib.crc32(fields)), 0)


def parse_file(data: bytes | bytearray | memoryview) -> tuple[int, Metric, DType, int, memoryview]:
    """(dimension, metric, dtype, count, records) of an index file, every
    field checked (version 2: the checksum first); VectorError otherwise."""
    view = memoryview(data)
    if bytes(view[:8]) != FILE_MAGIC:
        if bytes(view[:8]) == MAGIC:  # version 1: no checksum to check
            return (*parse_header(bytes(view[: HEADER.size]), len(view) - HEADER.size), view[HEADER.size :])
        raise VectorError("not an oms-accel vector index (bad magic)", "corrupt")
    if len(view) < FILE_HEADER.size:
        raise VectorError("the index file ends inside its header", "truncated")
    fields, crc, reserved = FILE_HEADER.unpack_from(view)
    records = view[FILE_HEADER.size :]
    if zlib.crc32(records, zlib.crc32(fields)) != crc or reserved:
        raise VectorError(
            "the index file is damaged (its checksum does not match): restore it, or rebuild the index and save it again",
            "checksum-mismatch",
        )
    return (*parse_header(MAGIC + fields[8:], len(records)), records)


def pack_ids(ids: list[int]) -> bytes:
    """Ids as they cross to a backend: little-endian u64, one after another."""
    return struct.pack(f"<{len(ids)}Q", *ids)


def record_len(dim: int, dtype: DType) -> int:
    return 8 + (4 if dtype == "i8" else 0) + dim * _ELEMENT_BYTES[dtype]


def parse_header(data: bytes, body_len: int) -> tuple[int, Metric, DType, int]:
    """(dimension, metric, dtype, count) of a file whose header is `data` and
    whose records take `body_len` bytes; VectorError when they disagree."""
    if len(data) < HEADER.size or data[:8] != MAGIC:
        raise VectorError("not an oms-accel vector index (bad magic)", "corrupt")
    _, dim, m, s, reserved, count = HEADER.unpack_from(data)
    if reserved:
        raise VectorError(f"reserved header bytes are {reserved:#06x}, not zero", "corrupt")
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
