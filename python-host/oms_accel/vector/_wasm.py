"""The wasm vector index: one index per shard, each shard in its own
component instance, searched in parallel on a thread per shard (a wasm call
releases the GIL), with the per-shard top-k merged here.

Sharding, not copying: each instance holds a part of the rows, so memory is
the index's size once, and one query is as parallel as a batch.
"""

from __future__ import annotations

import contextlib
import functools
import struct
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .._wasm import get_host
from .._wasm.host import ShardHandle
from ..errors import AccelError
from ..limits import Limits
from . import _format as fmt
from ._backend import Buffer, Hits, IndexImpl

T = TypeVar("T")
_HIT = struct.Struct("<Qf")
#: The most bytes of vectors one call into a shard carries: the size of the
#: guest's own segments of rows (`guest/src/vector/rows.rs`).
ADD_PART_BYTES = 16 << 20


class _Shard:
    def __init__(self, handle: ShardHandle, size: int = 0) -> None:
        self.handle = handle
        self.size = size


class Index:
    def __init__(self, dim: int, metric: fmt.Metric, dtype: fmt.DType, make: Sequence[Callable[[], _Shard]]) -> None:
        self.dim = dim
        self.metric = metric
        self.dtype = dtype
        self._shards: list[_Shard] = []
        self._pool = ThreadPoolExecutor(max_workers=len(make), thread_name_prefix="oms-accel-vector")
        self._lock = threading.Lock()
        try:
            self._shards = self._each_call(make)
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return sum(s.size for s in self._shards)

    def close(self) -> None:
        for s in self._shards:
            s.handle.close()
        self._shards = []
        self._pool.shutdown(wait=False)

    def _each_call(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        """Every call in parallel; the first error is raised after all have finished."""
        if len(calls) == 1:
            return [calls[0]()]
        futures = [self._pool.submit(c) for c in calls]
        results: list[T] = []
        failure: BaseException | None = None
        for f in futures:
            try:
                results.append(f.result())
            except BaseException as e:
                failure = failure or e
        if failure is not None:
            raise failure
        return results

    def _each(self, fn: Callable[[_Shard], T], shards: Sequence[_Shard]) -> list[T]:
        if not self._shards:
            raise AccelError("this index was closed", "unavailable")
        return self._each_call([functools.partial(fn, s) for s in shards])

    def add(self, vectors: Buffer, ids: list[int]) -> None:
        """Adds the rows under `ids`, each shard taking a share so that they
        stay the same size, all or nothing.

        A shard takes its share in parts of at most `ADD_PART_BYTES`: what
        crosses into guest memory stays there as free space (linear memory
        never shrinks), so one crossing of the whole share would leave the
        instance twice the size of its rows for good, and refuse a share
        that fits its memory limit once but not twice. Where the host can
        see a shard's memory (the Rust host), a share that might not fit is
        refused before any part crosses. When a part is refused all the same
        (the caller has checked every value, so that is memory running out),
        every shard drops what this call gave it."""
        n = len(ids)
        row = 4 * self.dim
        per_part = max(1, ADD_PART_BYTES // row)
        order = sorted(self._shards, key=lambda s: s.size)  # fill the smallest first
        target = -(-(len(self) + n) // len(order))
        parts: list[tuple[_Shard, int, int]] = []
        start = 0
        for s in order:
            take = min(max(target - s.size, 0), n - start)
            if take:
                parts.append((s, start, start + take))
                start += take
        id_bytes = fmt.pack_ids(ids)
        by_shard = {id(s): (a, b) for s, a, b in parts}

        def add(s: _Shard) -> None:
            a, b = by_shard[id(s)]
            for start in range(a, b, per_part):
                end = min(start + per_part, b)
                s.handle.add(vectors[start * row : end * row], id_bytes[start * 8 : end * 8])

        with self._lock:
            # A batch that might not fit is refused before any part grows a
            # shard's memory. At most: its rows, the part crossing, and a
            # part's worth of slack (a segment growing as a Vec does).
            for s, a, b in parts:
                share = (b - a) * (row + 8)
                s.handle.check_room(share, share + 2 * min(per_part * (row + 8), share))
            try:
                self._each(add, [p[0] for p in parts])
            except BaseException:
                for s, _, _ in parts:
                    with contextlib.suppress(AccelError):  # its instance is gone, and its next call says so
                        s.handle.truncate(s.size)
                raise
            for s, a, b in parts:
                s.size += b - a

    def search_batch(self, queries: Buffer, n: int, k: int) -> list[Hits]:
        k = min(k, 2**32 - 1)
        with self._lock:
            shards = [s for s in self._shards if s.size] or self._shards[:1]

            def search(s: _Shard) -> list[Hits]:
                hits = list(_HIT.iter_unpack(s.handle.search(queries, k)))
                per = min(k, s.size)
                return [hits[i * per : (i + 1) * per] for i in range(n)]

            results = self._each(search, shards)
        if len(results) == 1:
            return results[0]
        return [merge([r[i] for r in results], k, self.metric) for i in range(n)]

    def records(self) -> bytes:
        with self._lock:
            parts = self._each(lambda s: s.handle.records(), self._shards)
        return b"".join(part for shard in parts for part in shard)


def merge(parts: Sequence[Hits], k: int, metric: fmt.Metric) -> Hits:
    """The best `k` of the shards' best-k lists (ties to the smaller id)."""
    hits = [h for part in parts for h in part]
    if metric == "l2":
        hits.sort(key=lambda h: (h[1], h[0]))
    else:
        hits.sort(key=lambda h: (-h[1], h[0]))
    return hits[:k]


class Backend:
    """Vectors in the sandboxed component, sharded over instances."""

    def __init__(self, host: str) -> None:
        self._host = get_host(host)

    def create(self, dim: int, metric: fmt.Metric, dtype: fmt.DType, threads: int, limits: Limits) -> IndexImpl:
        make = [lambda: _Shard(self._host.vector_shard(limits, dim, metric, dtype)) for _ in range(threads)]
        return Index(dim, metric, dtype, make)

    def load(
        self, records: memoryview, dim: int, metric: fmt.Metric, dtype: fmt.DType, count: int, threads: int, limits: Limits
    ) -> IndexImpl:
        """Gives each shard a contiguous part of the records."""
        record = fmt.record_len(dim, dtype)
        per = -(-count // threads)

        def part(i: int) -> Callable[[], _Shard]:
            a, b = min(i * per, count), min((i + 1) * per, count)
            mine = records[a * record : b * record]
            return lambda: _Shard(self._host.vector_load(limits, dim, metric, dtype, mine), b - a)

        return Index(dim, metric, dtype, [part(i) for i in range(threads)])

    def similarity(self, a: Buffer, b: Buffer, dim: int, metric: fmt.Metric, limits: Limits) -> bytes:
        return self._host.vector_similarity(limits, a, b, dim, metric)
