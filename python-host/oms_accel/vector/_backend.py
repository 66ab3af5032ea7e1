"""The interface every vector backend implements whole. Vectors, queries and
results cross it in one form on every backend: raw little-endian f32 rows,
ids as ints, hits as (id, score) lists, index records in the file format
(`_format`)."""

from __future__ import annotations

from typing import Protocol

from ..limits import Limits
from ._format import DType, Metric

Buffer = bytes | memoryview
Hits = list[tuple[int, float]]


class IndexImpl(Protocol):
    def __len__(self) -> int: ...
    def add(self, vectors: Buffer, ids: list[int]) -> None:
        """Adds rows (already checked: finite, of the dimension) under `ids`; all or nothing."""
        ...

    def search_batch(self, queries: Buffer, n: int, k: int) -> list[Hits]:
        """The best min(k, len) hits of each of `n` queries, best first."""
        ...

    def records(self) -> bytes:
        """Every record in the file format, without the header."""
        ...

    def close(self) -> None: ...


class VectorBackend(Protocol):
    def create(self, dim: int, metric: Metric, dtype: DType, threads: int, limits: Limits) -> IndexImpl: ...
    def load(self, records: memoryview, dim: int, metric: Metric, dtype: DType, count: int, threads: int, limits: Limits) -> IndexImpl:
        """An index from the `count` records of a file already checked (`_format.parse_file`)."""
        ...

    def similarity(self, a: Buffer, b: Buffer, dim: int, metric: Metric, limits: Limits) -> bytes | bytearray:
        """The (rows of a) x (rows of b) matrix of scores as raw little-endian f32."""
        ...
