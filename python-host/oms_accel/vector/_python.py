"""The pure-Python vector index: the guest's `vector::index` in the standard
library, with the same rules (unit-length rows for cosine, f16 rounding to
nearest even, i8 with one scale per row, ties to the smaller id), the same
errors and the same file format. Scores are computed in float64 and
returned rounded to f32, as the other backends return them.
"""

from __future__ import annotations

import heapq
import math
import operator
import struct
import sys
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat

from ..errors import AccelArgumentError, LimitError
from ..limits import Limits
from . import _format as fmt
from ._backend import Buffer, IndexImpl

Hits = list[tuple[int, float]]


def to_f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]  # type: ignore[no-any-return]


def floats(raw: bytes | bytearray | memoryview) -> array[float]:
    """Raw little-endian f32 as an array."""
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def check_finite(values: Sequence[float], dim: int) -> None:
    for i, v in enumerate(values):
        if not math.isfinite(v):
            raise AccelArgumentError(
                f"vector {i // dim} has a non-finite value ({rust_float(v)}) at position {i % dim}", "invalid-argument"
            )


def rust_float(v: float) -> str:
    """A non-finite float as the guest's messages print it."""
    return "NaN" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _dot(a: Sequence[float], b: Iterable[float]) -> float:
    return float(sum(map(operator.mul, a, b)))


def _prepare(metric: fmt.Metric, v: Sequence[float]) -> list[float]:
    if metric == "cosine":
        n = math.sqrt(_dot(v, v))
        if n > 0:
            return [x / n for x in v]
    return list(v)


#: Bytes of one segment of rows: above the C allocator's largest mmap
#: threshold (32 MiB), so that each is mapped from the system and unmapped
#: when freed.
SEGMENT_BYTES = 64 << 20


class _Rows:
    """Rows stored in segments of many rows, one array each. A million row
    arrays of their own were a million heap allocations: freed, they left the
    heap too fragmented to shrink (1.4 GB of 1.5 held after `del`)."""

    def __init__(self, dim: int, code: str) -> None:
        self.dim = dim
        self.code = code
        self.per = max(1, SEGMENT_BYTES // (dim * array(code).itemsize)) * dim  # values per segment
        self.segments: list[array[float] | array[int]] = []

    def extend(self, values: array[float] | array[int]) -> None:
        """Appends whole rows (one array of their values, of this typecode).
        Each segment grows in place; a search reads only the rows it counted
        before, so it never sees part of an add."""
        at = 0
        while at < len(values):
            if not self.segments or len(self.segments[-1]) == self.per:
                self.segments.append(array(self.code))
            last = self.segments[-1]
            take = min(self.per - len(last), len(values) - at)
            last.extend(values[at : at + take])  # type: ignore[arg-type]
            at += take

    def first(self, n: int) -> Iterator[array[float] | array[int]]:
        """Each of the first `n` rows, as an array of its own."""
        dim = self.dim
        for seg in list(self.segments):
            for at in range(0, min(len(seg), n * dim), dim):
                yield seg[at : at + dim]
            n -= len(seg) // dim
            if n <= 0:
                return


class Index:
    def __init__(self, dim: int, metric: fmt.Metric, dtype: fmt.DType) -> None:
        if not 1 <= dim <= fmt.MAX_DIM:
            raise AccelArgumentError(f"dimension {dim} is out of range (1 to {fmt.MAX_DIM})", "invalid-argument")
        self.dim = dim
        self.metric = metric
        self.dtype = dtype
        #: Rows as the float values they stand for (f16 rounded; i8 as integers).
        self.rows = _Rows(dim, "b" if dtype == "i8" else "f")
        #: One scale per row (i8 only).
        self.scales: array[float] = array("f")
        self.ids: array[int] = array("Q")
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.ids)

    def add_values(self, values: Sequence[float], ids: Sequence[int]) -> None:
        """Adds whole rows; nothing is added when one of them is refused."""
        dim = self.dim
        if len(values) % dim:
            raise AccelArgumentError(f"the vectors hold {len(values)} values, not a multiple of the dimension {dim}", "invalid-argument")
        n = len(values) // dim
        check_finite(values, dim)
        if len(ids) != n:
            raise AccelArgumentError(f"{n} vectors but {len(ids)} ids", "invalid-argument")
        rows: array[float] | array[int] = array("b" if self.dtype == "i8" else "f")
        scales: array[float] = array("f")
        for i in range(n):
            row = array("f", _prepare(self.metric, values[i * dim : (i + 1) * dim]))  # rounded to f32
            if self.dtype == "f32":
                rows.extend(row)  # type: ignore[arg-type]
            elif self.dtype == "f16":
                rows.extend(_halves(row, i))  # type: ignore[arg-type]
            else:
                q, scale = _quantize(row)
                rows.extend(q)
                scales.append(scale)
        # The ids last: a search on another thread takes as many rows as
        # there are ids, so it sees the rows before or after this add,
        # never half of it.
        with self._lock:
            self.rows.extend(rows)
            self.scales.extend(scales)
            self.ids.extend(ids)

    def search_batch(self, queries: Buffer, n: int, k: int) -> list[Hits]:
        return self.search_values(floats(queries), k)

    def add(self, vectors: Buffer, ids: list[int]) -> None:
        self.add_values(floats(vectors), ids)

    def search_values(self, queries: Sequence[float], k: int) -> list[Hits]:
        if k < 1:
            raise AccelArgumentError("k must be at least 1", "invalid-argument")
        dim = self.dim
        if len(queries) % dim:
            raise AccelArgumentError(f"the queries hold {len(queries)} values, not a multiple of the dimension {dim}", "invalid-argument")
        check_finite(queries, dim)
        with self._lock:
            ids = self.ids[:]
        out = []
        for i in range(len(queries) // dim):
            q = _prepare(self.metric, queries[i * dim : (i + 1) * dim])
            scored = zip(self._scores(q, len(ids)), ids, strict=True)
            if self.metric == "l2":
                best = heapq.nsmallest(k, scored)
            else:
                best = [(-s, i) for s, i in heapq.nsmallest(k, ((-s, i) for s, i in scored))]
            out.append([(id_, to_f32(s) + 0.0) for s, id_ in best])
        return out

    def scores(self, q: list[float]) -> Iterable[float]:
        return self._scores(q, len(self))

    def _scores(self, q: list[float], n: int) -> Iterable[float]:
        """Scores of `q` against the first `n` rows."""
        scales: Iterable[float] = self.scales[:n] if self.dtype == "i8" else repeat(1.0, n)
        return _scores(self.metric, q, self.rows.first(n), scales)

    def records(self) -> bytes:
        return self.to_bytes()[fmt.HEADER.size :]

    def close(self) -> None:
        pass

    def to_bytes(self) -> bytes:
        dim = self.dim
        parts = [fmt.header(dim, self.metric, self.dtype, len(self))]
        code = {"f32": "f", "f16": "e", "i8": "b"}[self.dtype]
        row_format = struct.Struct(f"<Q{'f' if self.dtype == 'i8' else ''}{dim}{code}")
        n = len(self)
        scales: Iterable[float] = self.scales if self.dtype == "i8" else repeat(1.0, n)
        for id_, row, scale in zip(self.ids, self.rows.first(n), scales, strict=True):
            parts.append(row_format.pack(id_, scale, *row) if self.dtype == "i8" else row_format.pack(id_, *row))
        return b"".join(parts)

    @classmethod
    def from_records(cls, records: memoryview, dim: int, metric: fmt.Metric, dtype: fmt.DType) -> Index:
        index = cls(dim, metric, dtype)
        code = {"f32": "f", "f16": "e", "i8": "b"}[dtype]
        row_format = struct.Struct(f"<Q{'f' if dtype == 'i8' else ''}{dim}{code}")
        for i, fields in enumerate(row_format.iter_unpack(records)):
            if dtype == "i8":
                scale, row = fields[1], fields[2:]
                if not math.isfinite(scale) or scale < 0:
                    raise _not_finite(i)
                index.rows.extend(array("b", row))
                index.scales.append(scale)
            else:
                if not all(map(math.isfinite, fields[1:])):
                    raise _not_finite(i)
                index.rows.extend(array("f", fields[1:]))
            index.ids.append(fields[0])
        return index


def _scores(metric: fmt.Metric, q: list[float], rows: Iterable[Sequence[float]], scales: Iterable[float]) -> Iterable[float]:
    for row, scale in zip(rows, scales, strict=True):
        if metric == "l2":
            yield math.dist(q, row) if scale == 1.0 else math.dist(q, [scale * y for y in row])
        else:
            s = _dot(q, row) * scale
            yield min(1.0, max(-1.0, s)) if metric == "cosine" else s


def _not_finite(i: int) -> Exception:
    from ..errors import VectorError

    return VectorError(f"vector {i} of the index is not finite", "corrupt")


def _halves(row: Sequence[float], i: int) -> list[float]:
    """`row` rounded to f16 (nearest, ties to even), as floats."""
    try:
        return list(struct.unpack(f"<{len(row)}e", struct.pack(f"<{len(row)}e", *row)))
    except OverflowError:
        j, x = next((j, x) for j, x in enumerate(row) if abs(x) > 65504)
        raise AccelArgumentError(
            f"vector {i} has a value ({x:g}) at position {j} beyond the range of f16 (65504)", "invalid-argument"
        ) from None


def _quantize(row: Sequence[float]) -> tuple[array[int], float]:
    """The guest's i8 quantization: the largest magnitude becomes 127,
    rounding half away from zero."""
    peak = max((abs(x) for x in row), default=0.0)
    if peak == 0:
        return array("b", bytes(len(row))), 0.0
    scale = to_f32(peak / 127.0)
    out = array("b")
    for x in row:
        v = to_f32(x / scale)
        r = math.floor(abs(v) + 0.5)
        out.append(int(math.copysign(min(r, 127), v)))
    return out, scale


def similarity(a: Sequence[float], b: Sequence[float], dim: int, metric: fmt.Metric) -> list[list[float]]:
    index = Index(dim, metric, "f32")
    nb = len(b) // dim if len(b) % dim == 0 else -1
    if len(a) % dim or nb < 0:
        bad = "first" if len(a) % dim else "second"
        raise AccelArgumentError(f"the {bad} batch does not hold whole vectors of dimension {dim}", "invalid-argument")
    if (len(a) // dim) * nb > 1 << 28:
        raise LimitError("the similarity matrix is too large", "limit-exceeded")
    check_finite(a, dim)
    index.add_values(b, [0] * nb)
    out = []
    for i in range(len(a) // dim):
        q = _prepare(metric, a[i * dim : (i + 1) * dim])
        out.append([to_f32(s) + 0.0 for s in index.scores(q)])
    return out


class Backend:
    """Vectors in the standard library: scores in float64, rounded to f32."""

    def create(self, dim: int, metric: fmt.Metric, dtype: fmt.DType, threads: int, limits: Limits) -> IndexImpl:
        return Index(dim, metric, dtype)

    def load(
        self, records: memoryview, dim: int, metric: fmt.Metric, dtype: fmt.DType, count: int, threads: int, limits: Limits
    ) -> IndexImpl:
        return Index.from_records(records, dim, metric, dtype)

    def similarity(self, a: Buffer, b: Buffer, dim: int, metric: fmt.Metric, limits: Limits) -> bytes:
        matrix = similarity(floats(a), floats(b), dim, metric)
        out = array("f", [x for row in matrix for x in row])
        if sys.byteorder == "big":
            out.byteswap()
        return out.tobytes()
