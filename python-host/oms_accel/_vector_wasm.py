"""The wasm vector index: one index resource per shard, each shard in its own
component instance, searched in parallel on a thread per shard (a wasm call
releases the GIL), with the per-shard top-k merged here.

Sharding, not copying: each instance holds a part of the rows, so memory is
the index's size once, and one query is as parallel as a batch. Vectors,
queries and results cross through each instance's scratch directory as raw
little-endian files (DESIGN.md: a WIT ``list<f32>`` crosses element by
element in wasmtime-py, a file at hundreds of MB/s).
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from . import _vector_format as fmt
from ._wasm_runtime import Instance, get_runtime
from .errors import AccelArgumentError, AccelError, VectorError
from .limits import Limits

VECTOR_INTERFACE = "oms:accel/vector@0.1.0"
Hits = list[tuple[int, float]]
T = TypeVar("T")
_HIT = struct.Struct("<Qf")
#: Queries up to this many bytes cross as a hex string (a WIT string crosses
#: in microseconds; a file costs the guest a few WASI calls, ~0.2 ms), larger
#: batches through the scratch directory.
HEX_LIMIT = 4 << 20


def vector_error(code: str, message: str) -> AccelError:
    if code == "invalid-argument":
        return AccelArgumentError(message, code)
    return VectorError(message, code)


class _Shard:
    def __init__(self, inst: Instance, handle: Any) -> None:
        self.inst = inst
        self.handle = handle
        self.size = 0

    def call(self, method: str, *args: Any) -> Any:
        return self.inst.call(VECTOR_INTERFACE, f"[method]index.{method}", [self.handle, *args], vector_error)

    def write(self, name: str, data: bytes | memoryview) -> str:
        with open(self.inst.scratch_path(name), "wb") as f:
            f.write(data)
        return f"/scratch/{name}"

    def read(self, name: str) -> bytes:
        path = self.inst.scratch_path(name)
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
        return data

    def drop(self) -> None:
        if not self.inst.dead:
            try:
                with self.inst.lock:
                    self.handle.drop(self.inst.store)
            finally:
                self.inst.close()


class Index:
    def __init__(self, dim: int, metric: fmt.Metric, dtype: fmt.DType, shards: int, limits: Limits) -> None:
        self.dim = dim
        self.metric = metric
        self.dtype = dtype
        self._shards: list[_Shard] = []
        self._pool = ThreadPoolExecutor(max_workers=shards, thread_name_prefix="oms-accel-vector")
        self._lock = threading.Lock()
        runtime = get_runtime()
        try:
            for _ in range(shards):
                inst = runtime.new_instance(limits)
                handle = inst.call(VECTOR_INTERFACE, "[constructor]index", [dim, metric, dtype], vector_error)
                self._shards.append(_Shard(inst, handle))
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return sum(s.size for s in self._shards)

    def close(self) -> None:
        for s in self._shards:
            s.drop()
        self._shards = []
        self._pool.shutdown(wait=False)

    def _each(self, fn: Callable[[_Shard], T], shards: Sequence[_Shard] | None = None) -> list[T]:
        """`fn` on every shard in parallel; the first error is raised after all have finished."""
        shards = self._shards if shards is None else shards
        if any(s.inst.dead for s in shards):
            raise AccelError("a shard of this index lived in a component instance that was reset after an error: load or build it again")
        if len(shards) == 1:
            return [fn(shards[0])]
        futures = [self._pool.submit(fn, s) for s in shards]
        return [f.result() for f in futures]

    def add(self, raw: memoryview, ids: Sequence[int]) -> None:
        """Adds the rows in `raw` (f32, row after row) under `ids`, each
        shard taking a part so that they stay the same size. All shards
        check their part first (a refused vector adds nothing anywhere)."""
        n = len(ids)
        row = 4 * self.dim
        # Fill the smallest shards first.
        order = sorted(self._shards, key=lambda s: s.size)
        total = len(self) + n
        target = -(-total // len(order))
        parts: list[tuple[_Shard, int, int]] = []
        start = 0
        for s in order:
            take = min(max(target - s.size, 0), n - start)
            if take:
                parts.append((s, start, start + take))
                start += take
        id_bytes = struct.pack(f"<{n}Q", *ids)

        def stage(part: tuple[_Shard, int, int]) -> None:
            s, a, b = part
            s.write("add.f32", raw[a * row : b * row])
            s.write("add.ids", id_bytes[a * 8 : b * 8])

        # (The caller has checked every value: the guest's add is all or
        # nothing per shard, and a refusal by one must not leave others grown.)
        with self._lock:
            for p in parts:
                stage(p)
            self._each(lambda s: s.call("add-file", "/scratch/add.f32", "/scratch/add.ids"), [p[0] for p in parts])
            for s, a, b in parts:
                s.size += b - a

    def search_batch(self, raw: bytes | memoryview, nq: int, k: int) -> list[Hits]:
        k = min(k, 2**32 - 1)
        with self._lock:
            shards = [s for s in self._shards if s.size] or self._shards[:1]

            def search(s: _Shard) -> list[Hits]:
                if len(raw) <= HEX_LIMIT:
                    data = bytes.fromhex(s.call("search-hex", bytes(raw).hex(), k))
                else:
                    s.write("queries.f32", raw)
                    s.call("search-file", "/scratch/queries.f32", k, "/scratch/hits")
                    data = s.read("hits")
                per = min(k, s.size)
                hits = list(_HIT.iter_unpack(data))
                return [hits[i * per : (i + 1) * per] for i in range(nq)]

            results = self._each(search, shards)
        if len(results) == 1:
            return [list(h) for h in results[0]]
        return [merge([r[i] for r in results], k, self.metric) for i in range(nq)]

    def save_parts(self) -> list[bytes]:
        """Each shard's records (its file without the header)."""
        with self._lock:

            def save(s: _Shard) -> bytes:
                s.call("save", "/scratch/index")
                return s.read("index")[fmt.HEADER.size :]

            return self._each(save)

    def load_parts(self, data: memoryview, count: int) -> None:
        """Gives each shard a contiguous part of the records in `data` (a whole file)."""
        record = fmt.record_len(self.dim, self.dtype)
        body = data[fmt.HEADER.size :]
        per = -(-count // len(self._shards))

        def load(s: _Shard, i: int) -> None:
            a, b = min(i * per, count), min((i + 1) * per, count)
            path = s.inst.scratch_path("load")
            with open(path, "wb") as f:
                f.write(fmt.header(self.dim, self.metric, self.dtype, b - a))
                f.write(body[a * record : b * record])
            handle = s.inst.call(VECTOR_INTERFACE, "[static]index.load", ["/scratch/load"], vector_error)
            os.unlink(path)
            old, s.handle = s.handle, handle
            with s.inst.lock:
                old.drop(s.inst.store)
            s.size = b - a

        with self._lock:
            futures = [self._pool.submit(load, s, i) for i, s in enumerate(self._shards)]
            for f in futures:
                f.result()


def merge(parts: Sequence[Hits], k: int, metric: fmt.Metric) -> Hits:
    """The best `k` of the shards' best-k lists (ties to the smaller id)."""
    hits = [h for part in parts for h in part]
    if metric == "l2":
        hits.sort(key=lambda h: (h[1], h[0]))
    else:
        hits.sort(key=lambda h: (-h[1], h[0]))
    return hits[:k]
