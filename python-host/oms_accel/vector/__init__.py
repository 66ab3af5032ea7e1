"""Exact similarity search over embeddings: cosine, dot product or Euclidean
(L2) distance, top-k with ties broken by the smaller id.

On the native backend (the default where the native module loads) the
index lives in this process and its scoring loop runs with the widest SIMD
the CPU has (AVX-512, AVX2, SSE2 or NEON, chosen at run time), its rows
split over threads. On the wasm backend, the sandboxed choice, the index is
split into shards, one per thread, each in its own component instance
(simd128 kernels); a search runs on all shards at once and their best k
are merged. Both run the same index code: the same scores, bit for bit
(but for the native `similarity` with cosine or dot, an sgemm: within 1e-5
of |a||b|). The python backend does the same in the standard library. numpy is optional: without it, vectors are lists and
results come back as lists; with it, numpy arrays go in without a Python loop
and come back out::

    from oms_accel import VectorIndex
    index = VectorIndex(384, metric="cosine")
    index.add(embeddings)               # (n, 384) array, list of lists, or a path
    ids, scores = index.search(query, k=10)

Each backend is one file (`_native`, `_wasm`, `_python`) implementing
`_backend.VectorBackend`; the GPU (`_gpu`) is a strategy for batches on
any of them.
"""

from __future__ import annotations

import functools
import itertools
import numbers
import operator
import os
import struct
import sys
import weakref
from array import array
from collections.abc import Sequence
from typing import Any

from .. import backends
from .._checks import integer
from .._files import PathLike, atomic_output, require_file
from ..errors import AccelArgumentError, BackendUnavailableError, VectorError
from ..limits import Limits
from . import _format as fmt
from . import _python as fallback
from ._backend import Hits, VectorBackend
from ._format import DType, Metric

SUPPORTED_BACKENDS: tuple[backends.BackendName, ...] = ("native", "wasm", "python")
#: Threads (and on wasm, shards) an index uses by default: one per core, at most this.
MAX_DEFAULT_THREADS = 8
#: Most shards one index may have (each is a component instance).
MAX_THREADS = 256
#: Largest id (ids are stored as u64 and returned as int64).
MAX_ID = 2**63 - 1
_F16_OVERFLOW = 65520.0  # the smallest magnitude that rounds to infinity in f16

#: What the search methods return: ids and scores, best first, as numpy
#: arrays (int64, float32) where numpy is installed, else lists.
Result = tuple[Any, Any]
Vectors = Any  # a numpy array, a list (of lists) of numbers, or a path to raw f32


__all__ = ["VectorIndex", "gpu_adapter", "similarity"]


@functools.cache
def _backend(name: backends.BackendName, host: str | None) -> VectorBackend:
    """The backend `name` (on wasm, on `host`: a name `backends.wasm_host` gave)."""
    if name == "wasm":
        from . import _wasm

        return _wasm.Backend(host or backends.wasm_host())
    if name == "native":
        from . import _native

        return _native.Backend()
    return fallback.Backend()


def _resolve(backend: str | None, host: str | None) -> tuple[backends.BackendName, str | None]:
    """The backend and (on wasm) the host that the arguments name."""
    backend, host = backends.split_host(backend, host)
    name = backends.resolve(backend, SUPPORTED_BACKENDS, "vector search")
    return name, backends.wasm_host(host) if name == "wasm" else None


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


class VectorIndex:
    """An exact vector index: every search scores every vector.

    Args:
        dim: the dimension of every vector (1 to 65536).
        metric: ``"cosine"`` (similarity, highest first; a zero vector scores
            0 against everything), ``"dot"`` (highest first) or ``"l2"``
            (Euclidean distance, lowest first).
        dtype: how vectors are stored: ``"f32"`` exactly, ``"f16"`` (half the
            memory; values beyond 65504 are refused) or ``"i8"`` (a quarter,
            with one scale per vector). Queries are always f32.
        backend: ``"native"``, ``"wasm"`` or ``"python"``; default: ``OMS_ACCEL_BACKEND``,
            else the best that loads; ``"wasm/<host>"`` also names the host.
        host: the wasm backend's host, ``"rust"`` or ``"wasmtime-py"`` (default:
            ``OMS_ACCEL_WASM_HOST``, else the best that loads).
        threads: threads a search uses on the native backend, and shards
            searched in parallel on the wasm backend (default: the number
            of cores, at most 8).
        limits: memory and time limits of each wasm shard (the native and
            python backends run no sandbox).
        gpu: where batch searches run. None (default): on a GPU when the
            native module finds a real one (not a CPU renderer) and the batch
            is large enough to win; True: on the GPU whenever it can take the
            batch (a CPU renderer included: the tests use Mesa's lavapipe);
            False: never.

    NaN and infinities are refused with `AccelArgumentError`, as are vectors
    of the wrong dimension and k < 1.
    """

    def __init__(
        self,
        dim: int,
        metric: Metric = "cosine",
        dtype: DType = "f32",
        backend: str | None = None,
        *,
        threads: int | None = None,
        limits: Limits | None = None,
        gpu: bool | None = None,
        host: str | None = None,
        _load: tuple[memoryview, int] | None = None,
    ) -> None:
        dim = integer("dim", dim, 1, fmt.MAX_DIM)
        if metric not in fmt.METRICS:
            raise AccelArgumentError(f"unknown metric {metric!r}: expected one of {', '.join(fmt.METRICS)}")
        if dtype not in fmt.DTYPES:
            raise AccelArgumentError(f"unknown dtype {dtype!r}: expected one of {', '.join(fmt.DTYPES)}")
        if threads is not None:
            threads = integer("threads", threads, 1, MAX_THREADS)
        self.dim = dim
        self.metric: Metric = metric
        self.dtype: DType = dtype
        self.backend, self.host = _resolve(backend, host)
        if gpu:
            from . import _gpu

            reason = _gpu.unavailable_reason()
            if reason is not None:
                raise BackendUnavailableError(f"gpu=True, but the GPU path is not available: {reason}")
        self.gpu = gpu
        #: Where the last `search_batch` ran: ``"gpu"`` or ``"cpu"``.
        self.last_batch_device: str | None = None
        self._gpu_matrix: Any = None
        self._next_id = 0
        #: The ids held, once they are not simply 0 .. _next_id - 1 (None
        #: until then: an index of default ids keeps no set).
        self._id_set: set[int] | None = None
        #: As given (None: the default where it runs), for pickling.
        self._threads_given = threads
        self.threads = threads or min(os.cpu_count() or 1, MAX_DEFAULT_THREADS)
        self.limits = limits or Limits()
        impl = _backend(self.backend, self.host)
        if _load is None:
            self._impl = impl.create(dim, metric, dtype, self.threads, self.limits)
        else:
            self._impl = impl.load(_load[0], dim, metric, dtype, _load[1], self.threads, self.limits)
        weakref.finalize(self, self._impl.close)

    def __len__(self) -> int:
        return len(self._impl)

    def __repr__(self) -> str:
        where = self.backend if self.host is None else f"{self.backend}/{self.host}"
        return f"<VectorIndex dim={self.dim} metric={self.metric} dtype={self.dtype} len={len(self)} ({where})>"

    def add(self, vectors: Vectors, ids: Sequence[int] | Any | None = None) -> int:
        """Adds vectors: an ``(n, dim)`` numpy array (or one ``(dim,)`` vector),
        a list of lists (or one list), or the path of a file of raw
        little-endian f32, row after row. `ids` default to consecutive numbers
        after the largest id so far. Returns how many were added; nothing is
        added when any vector is refused."""
        raw, n = _rows(vectors, self.dim, "the vectors")
        id_list = self._ids(ids, n)
        if n == 0:
            return 0
        if self.backend != "native" or (self.dtype == "f16" and self.metric != "cosine"):
            # The native backend refuses non-finite values itself, with the
            # same message, in the pass that stores them; the f16 range is
            # checked here, after finiteness, as on every backend.
            _check_values(raw, self.dim, self.dtype, self.metric)
        self._impl.add(raw, id_list)
        self._gpu_matrix = None  # rebuilt on the next batch that goes to the GPU
        if self._id_set is not None:
            self._id_set.update(id_list)
        self._next_id = max(self._next_id, max(id_list) + 1)
        return n

    def _ids(self, ids: Sequence[int] | Any | None, n: int) -> list[int]:
        if ids is None:
            return list(range(self._next_id, self._next_id + n))
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        try:
            out = [_as_id(i) for i in ids]
        except TypeError:
            raise AccelArgumentError("ids must be integers") from None
        if len(out) != n:
            raise AccelArgumentError(f"{n} vectors but {len(out)} ids")
        if out and (min(out) < 0 or max(out) > MAX_ID):
            raise AccelArgumentError(f"ids must be from 0 to {MAX_ID}")
        seen: set[int] = set()
        for i in out:
            if i in seen:
                raise AccelArgumentError(f"id {i} is given twice")
            seen.add(i)
        if self._id_set is None:
            self._id_set = set(range(self._next_id))
        held = next((i for i in out if i in self._id_set), None)
        if held is not None:
            raise AccelArgumentError(f"id {held} is already in the index: ids must be unique")
        return out

    def search(self, query: Vectors, k: int = 10) -> Result:
        """The `k` best vectors for one query: ``(ids, scores)``, best first
        (fewer when the index holds fewer)."""
        k = integer("k", k, 1)
        raw, n = _rows(query, self.dim, "the query")
        if n != 1:
            raise AccelArgumentError(f"search takes one query, not {n} (use search_batch)")
        return self._search(raw, 1, k)[0]

    def search_batch(self, queries: Vectors, k: int = 10) -> list[Result]:
        """`search` for each query of an ``(n, dim)`` array or list of lists:
        one ``(ids, scores)`` per query. Much faster than as many searches:
        the index is read from memory once for the whole batch."""
        k = integer("k", k, 1)
        raw, n = _rows(queries, self.dim, "the queries")
        if not n:
            return []
        if self._on_gpu(n, k):
            self.last_batch_device = "gpu"
            return self._gpu_search(raw, n, k)
        self.last_batch_device = "cpu"
        return self._search(raw, n, k)

    def _on_gpu(self, n: int, k: int) -> bool:
        """Whether this batch goes to the GPU (see `gpu` in the class documentation)."""
        if self.gpu is False or not len(self):
            return False
        from . import _gpu

        # (Cheap tests first: probing for an adapter takes a while.)
        if self.gpu is None and n * len(self) * self.dim < _gpu.MIN_WORK:
            return False
        if _gpu.unavailable_reason() is not None:
            return False
        max_dim, max_k = _gpu.limits()
        if self.dim > max_dim or k > max_k:
            return False
        if self.gpu:
            return True
        return _gpu.is_real_gpu() and n * len(self) * self.dim >= _gpu.MIN_WORK

    def _gpu_search(self, raw: memoryview, n: int, k: int) -> list[Result]:
        from . import _gpu

        _check_values(raw, self.dim, "f32", self.metric)
        if self._gpu_matrix is None:
            self._gpu_matrix = _gpu.Matrix(self._impl.records(), self.dim, self.metric, self.dtype)
        np = _numpy()
        queries = np.frombuffer(raw, dtype="<f4").reshape(n, self.dim)
        return [(ids, scores) for ids, scores in self._gpu_matrix.search(queries, k)]

    def _search(self, raw: memoryview, n: int, k: int) -> list[Result]:
        _check_values(raw, self.dim, "f32", self.metric)
        return [_result(h) for h in self._impl.search_batch(raw, n, k)]

    def save(self, path: PathLike) -> None:
        """Writes the index to `path` (replaced whole, never half-written), in
        a format every backend loads."""
        header, records = self._file_parts()
        with atomic_output(path, VectorError) as out:
            out.write(header)
            out.write(records)

    def to_bytes(self) -> bytes:
        """The index in the file format `save` writes."""
        header, records = self._file_parts()
        return header + bytes(records)

    def _file_parts(self) -> tuple[bytes, Any]:
        """The file format's header and records (written apart, not joined:
        a large index's records are not copied to be saved)."""
        records = self._impl.records()
        return fmt.file_header(self.dim, self.metric, self.dtype, len(self), records), records

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled through the file format, with its settings: loaded again
        where it is unpickled (on the same backend), never a handle."""
        settings = {"threads": self._threads_given, "limits": self.limits, "gpu": self.gpu, "host": self.host}
        return (_unpickled_index, (self.to_bytes(), self.backend, settings))

    @classmethod
    def load(
        cls,
        path: PathLike,
        backend: str | None = None,
        *,
        threads: int | None = None,
        limits: Limits | None = None,
        gpu: bool | None = None,
        host: str | None = None,
    ) -> VectorIndex:
        """An index saved by `save` (on any backend); the arguments are as for `VectorIndex`.

        Raises:
            VectorError: the file is not an index, or is truncated or damaged.
        """
        with open(require_file(path), "rb") as f:
            data = f.read()
        return cls.from_bytes(data, backend, threads=threads, limits=limits, gpu=gpu, host=host)

    @classmethod
    def from_bytes(
        cls,
        data: bytes | bytearray | memoryview,
        backend: str | None = None,
        *,
        threads: int | None = None,
        limits: Limits | None = None,
        gpu: bool | None = None,
        host: str | None = None,
    ) -> VectorIndex:
        """An index from the bytes `to_bytes` (or `save`) wrote; the
        arguments are as for `VectorIndex`.

        Raises:
            VectorError: the bytes are not an index, or are truncated or damaged.
        """
        dim, metric, dtype, count, records = fmt.parse_file(data)
        record = fmt.record_len(dim, dtype)
        ids = [struct.unpack_from("<Q", records, i * record)[0] for i in range(count)]
        top = max(ids, default=-1)
        if top > MAX_ID:
            raise VectorError(f"the index file holds id {top}, beyond the largest id ({MAX_ID})", "corrupt")
        index = cls(dim, metric, dtype, backend, threads=threads, limits=limits, gpu=gpu, host=host, _load=(records, count))
        index._next_id = top + 1
        held = set(ids)
        if len(held) != count or top + 1 != count:  # not the ids 0 .. count - 1: keep them
            index._id_set = held
        return index


def gpu_adapter() -> tuple[str, str, str] | None:
    """``(name, device type, backend)`` of the GPU the native module would use
    for batch searches (device type ``"Cpu"`` for a software renderer such as
    lavapipe), or None."""
    from . import _gpu

    return _gpu.adapter() if _gpu.unavailable_reason() is None else None


def similarity(
    a: Vectors,
    b: Vectors,
    metric: Metric = "cosine",
    backend: str | None = None,
    *,
    limits: Limits | None = None,
    host: str | None = None,
) -> Any:
    """Scores of every vector of `a` against every vector of `b`: an
    ``(len(a), len(b))`` float32 numpy array, or a list of lists without numpy.
    Both take the same forms as `VectorIndex.add`, with the same dimension.
    `limits` bound the component's memory and time (default `Limits()`);
    `backend` and `host` are chosen as for `VectorIndex`."""
    if metric not in fmt.METRICS:
        raise AccelArgumentError(f"unknown metric {metric!r}: expected one of {', '.join(fmt.METRICS)}")
    dim = _dimension_of(a)
    raw_a, na = _rows(a, dim, "the first batch")
    raw_b, nb = _rows(b, dim, "the second batch")
    name, host = _resolve(backend, host)
    if name != "native":  # native checks as it prepares the rows, on threads, with the same message
        _check_values(raw_a, dim, "f32", metric)
        _check_values(raw_b, dim, "f32", metric)
    data = _backend(name, host).similarity(raw_a, raw_b, dim, metric, limits or Limits())
    np = _numpy()
    if np is not None:
        matrix = np.frombuffer(data, dtype="<f4").reshape(na, nb)
        # A bytearray (the native backend's) is the caller's already, and writable.
        return matrix if isinstance(data, bytearray) else matrix.astype(np.float32)
    values = fallback.floats(data)
    return [list(values[i * nb : (i + 1) * nb]) for i in range(na)]


# --- inputs and outputs ----------------------------------------------------------------------


def _as_id(i: Any) -> int:
    """An id as an int: any integer type (numpy's included), never a bool or a float."""
    if isinstance(i, bool):
        raise TypeError
    return operator.index(i)


def _dimension_of(data: Vectors) -> int:
    np = _numpy()
    if np is not None and isinstance(data, np.ndarray):
        return int(data.shape[-1]) if data.ndim else 0
    if isinstance(data, list | tuple) and data:
        first = data[0]
        return len(data) if isinstance(first, numbers.Real) else len(first)
    raise AccelArgumentError("similarity needs a numpy array or a non-empty list of vectors")


def _rows(data: Vectors, dim: int, what: str) -> tuple[memoryview, int]:
    """`data` as raw little-endian f32 bytes, row after row, and its row count."""
    if isinstance(data, str | os.PathLike):
        with open(require_file(data), "rb") as f:
            raw = f.read()
        if len(raw) % (4 * dim):
            raise AccelArgumentError(f"{os.fspath(data)} is {len(raw)} bytes, not whole vectors of {dim} f32 values")
        return memoryview(raw), len(raw) // (4 * dim)
    np = _numpy()
    if np is not None and isinstance(data, np.ndarray):
        if data.ndim not in (1, 2) or data.dtype.kind not in "fiub":
            raise AccelArgumentError(f"{what} must be a 1-D or 2-D numeric array, not {data.ndim}-D {data.dtype}")
        if data.shape[-1] != dim:
            raise AccelArgumentError(f"{what} have dimension {data.shape[-1]}, the index has {dim}")
        if data.size == 0:  # a (0, dim) batch (a memoryview of it cannot be cast)
            return memoryview(b""), 0
        with np.errstate(over="ignore"):  # an overflow to inf is refused below, with its position
            arr = np.ascontiguousarray(data, dtype="<f4")
        return memoryview(arr).cast("B"), 1 if data.ndim == 1 else int(data.shape[0])
    if isinstance(data, list | tuple):
        if not data:
            return memoryview(b""), 0
        rows = [data] if isinstance(data[0], numbers.Real) else data
        for r in rows:
            if not isinstance(r, list | tuple | array) and not hasattr(r, "__len__"):
                raise AccelArgumentError(f"{what} must be a list of numbers or a list of lists of numbers")
            if len(r) != dim:
                raise AccelArgumentError(f"{what} have dimension {len(r)}, the index has {dim}")
        try:
            values = array("f", itertools.chain.from_iterable(rows))
        except (TypeError, OverflowError) as e:
            raise AccelArgumentError(f"{what} must hold numbers: {e}") from None
        if sys.byteorder == "big":
            values.byteswap()
        return memoryview(values).cast("B"), len(rows)
    raise AccelArgumentError(f"{what} must be a numpy array, a list of lists of numbers or a path, not {type(data).__name__}")


def _check_values(raw: memoryview, dim: int, dtype: DType, metric: Metric) -> None:
    """Refuses NaN and infinities (and, for f16 storage, values it cannot
    hold), naming the first: every backend says the same, before any shard
    has added anything."""
    np = _numpy()
    f16 = dtype == "f16" and metric != "cosine"  # unit vectors always fit
    if np is None:
        values = fallback.floats(raw)
        fallback.check_finite(values, dim)
        bad = next((i for i, x in enumerate(values) if abs(x) >= _F16_OVERFLOW), None) if f16 else None
    else:
        values = np.frombuffer(raw, dtype="<f4")
        nonfinite = np.flatnonzero(~np.isfinite(values))
        if len(nonfinite):
            i = int(nonfinite[0])
            shown = fallback.rust_float(float(values[i]))
            raise AccelArgumentError(f"vector {i // dim} has a non-finite value ({shown}) at position {i % dim}", "invalid-argument")
        big = np.flatnonzero(np.abs(values) >= _F16_OVERFLOW) if f16 else None
        bad = int(big[0]) if big is not None and len(big) else None
    if bad is not None:
        raise AccelArgumentError(
            f"vector {bad // dim} has a value ({float(values[bad]):g}) at position {bad % dim} beyond the range of f16 (65504)",
            "invalid-argument",
        )


def _result(hits: Hits) -> Result:
    ids = [h[0] for h in hits]
    scores = [h[1] for h in hits]
    np = _numpy()
    if np is None:
        return ids, scores
    return np.array(ids, dtype=np.int64), np.array(scores, dtype=np.float32)


def _unpickled_index(data: bytes, backend: str, settings: dict[str, Any]) -> VectorIndex:
    return VectorIndex.from_bytes(data, backend, **settings)
