"""The native vector index: the component's own index code run in this
process by the native module, its scoring loop compiled for the widest SIMD
the CPU has (AVX-512, AVX2, else SSE2 or NEON) and its rows split over
threads. Same storage, file format, scores (bit for bit; `similarity` with
cosine or dot, an sgemm, to within 1e-5 of |a||b|) and ties as the wasm
backend, without the sandbox: the fastest on the CPU, and the default
where the module loads.
"""

from __future__ import annotations

import os

from .. import _native
from ..limits import Limits
from . import _format as fmt
from ._backend import Buffer, Hits, IndexImpl


def simd() -> str:
    """The instruction set the kernels run with here: ``avx512``, ``avx2``,
    ``sse2`` or ``neon`` (``OMS_ACCEL_SIMD`` names a narrower one)."""
    return _native.native_simd()


class Index:
    def __init__(self, index: _native.NativeIndex) -> None:
        self._index = index

    def __len__(self) -> int:
        return len(self._index)

    def add(self, vectors: Buffer, ids: list[int]) -> None:
        self._index.add(vectors, fmt.pack_ids(ids))

    def search_batch(self, queries: Buffer, n: int, k: int) -> list[Hits]:
        return self._index.search(queries, k)

    def records(self) -> bytes:
        return self._index.records()

    def close(self) -> None:
        # Rows are freed with the last reference (the VectorIndex's).
        pass


class Backend:
    """Vectors in the native module's memory; `limits` bound the sandbox,
    which this backend does not use."""

    def create(self, dim: int, metric: fmt.Metric, dtype: fmt.DType, threads: int, limits: Limits) -> IndexImpl:
        return Index(_native.NativeIndex(dim, metric, dtype, threads))

    def load(
        self, records: memoryview, dim: int, metric: fmt.Metric, dtype: fmt.DType, count: int, threads: int, limits: Limits
    ) -> IndexImpl:
        # One copy of the records (bytes(records) + header was two: 3 GB
        # held at once to load a 1.5 GB index).
        file = bytearray(fmt.header(dim, metric, dtype, count))
        file += records
        return Index(_native.NativeIndex.from_bytes(file, threads))

    def similarity(self, a: Buffer, b: Buffer, dim: int, metric: fmt.Metric, limits: Limits) -> bytearray:
        return _native.native_similarity(a, b, dim, metric, SIMILARITY_THREADS)


#: Threads of a `similarity` call: one per core, at most 8.
SIMILARITY_THREADS = min(os.cpu_count() or 1, 8)
