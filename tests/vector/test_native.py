"""The native backend: the default where the module loads, the component's
own scores bit for bit at every SIMD level and thread count, and memory
that comes back."""

from __future__ import annotations

import gc
import os
import select
import signal
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from oms_accel import VectorIndex, backends, similarity
from oms_accel.vector import SUPPORTED_BACKENDS

from ..conftest import WASM_HOSTS

pytestmark = pytest.mark.skipif("native" not in backends.loaded(SUPPORTED_BACKENDS), reason="the native module is not built")

DTYPES = ["f32", "f16", "i8"]
METRICS = ["cosine", "dot", "l2"]


@pytest.fixture
def levels() -> Iterator[list[str]]:
    """Every SIMD level this CPU runs (narrowest first); the widest is restored after."""
    from oms_accel import _native

    widest = _native.native_simd("avx512")
    runs = []
    for name in ("sse2", "neon", "avx2", "avx512"):
        try:
            if _native.native_simd(name) == name:
                runs.append(name)
        except Exception:  # not a level of this architecture
            pass
    yield runs
    _native.native_simd(widest)


def data(n: int, dim: int, seed: int = 3) -> np.ndarray:
    m = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    if n > 9:
        m[5] = 0.0  # a zero vector
        m[9] = m[2]  # a duplicate: a tie
    return m


def results(index: VectorIndex, queries: np.ndarray, k: int) -> list[tuple[list[int], bytes]]:
    """Ids and the scores' exact bits, single searches and a batch."""
    out = [index.search(q, k) for q in queries[:3]] + index.search_batch(queries, k)
    return [(list(ids), np.asarray(scores, dtype=np.float32).tobytes()) for ids, scores in out]


def test_native_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(backends.ENV_VAR, raising=False)
    assert VectorIndex(8).backend == "native"


# 37: steps of 16 lanes and a tail; 101: 64 lanes a loop iteration (wasm), then
# 16, then a tail of 5; 384: whole iterations only.
@pytest.mark.parametrize("dim", [37, 101, 384])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", METRICS)
def test_scores_are_the_components_bit_for_bit(metric: str, dtype: str, dim: int, levels: list[str]) -> None:
    from oms_accel import _native

    m, queries = data(700, dim), data(10, dim, seed=4)
    wasm = VectorIndex(dim, metric, dtype, "wasm", threads=2)  # type: ignore[arg-type]
    wasm.add(m)
    want = results(wasm, queries, 20)
    for level in levels:
        assert _native.native_simd(level) == level
        for threads in (1, 3):
            native = VectorIndex(dim, metric, dtype, "native", threads=threads)  # type: ignore[arg-type]
            native.add(m)
            assert results(native, queries, 20) == want, (level, threads)


def test_threads_split_the_rows_and_merge_exactly() -> None:
    # 18 MB of rows: every thread it is given, each taking several chunks.
    # Each row is there four times, 3,000 rows apart, so that equal scores
    # fall in different chunks and the merge must break the ties by id.
    m, queries = np.vstack([data(3000, 384)] * 4), data(6, 384, seed=8)
    answers = []
    for threads in (1, 2, 5):
        index = VectorIndex(384, "dot", backend="native", threads=threads)
        index.add(m)
        answers.append(results(index, queries, 50))
    assert answers[0] == answers[1] == answers[2]
    for ids, _ in answers[1]:
        assert ids[:4] == [ids[0] + 3000 * i for i in range(4)]


def test_a_forked_child_searches_on_threads_of_its_own() -> None:
    # The worker threads are started once per process and do not survive
    # fork(): a child that handed work to its parent's would wait forever.
    m, queries = data(2000, 384), data(3, 384, seed=9)
    index = VectorIndex(384, "cosine", backend="native", threads=2)
    index.add(m)
    want = results(index, queries, 10)  # the parent's threads are started
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 1
        try:
            fresh = VectorIndex(384, "cosine", backend="native", threads=2)
            fresh.add(m)
            code = 0 if results(index, queries, 10) == want == results(fresh, queries, 10) else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 60)
        assert ready, "the forked child's search did not finish in 60 s"
        assert os.read(read, 1) == b"\x00", "the forked child's results differ from its parent's"
    finally:
        os.close(read)
        if not os.waitpid(pid, os.WNOHANG)[0]:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_similarity_matches_the_component_and_is_writable(levels: list[str]) -> None:
    """L2 runs the index's kernel: the component's scores, bit for bit.
    Cosine and dot run an sgemm, whose order of additions differs: the
    component's scores to within 1e-5 of |a||b| (README's tolerance)."""
    from oms_accel import _native

    # 8000 rows: several of the sgemm's steps (1024 rows), and a 2.2 MB
    # matrix, which is split over threads (1 MB each at least).
    a, b = data(70, 40, seed=1), data(8000, 40, seed=2)
    for metric in METRICS:
        if metric == "cosine":
            b = b.copy()
            b[7] = 1e30  # its norm overflows f32: a zero vector, as in an index
        norms = np.outer(np.linalg.norm(a.astype(np.float64), axis=1), np.linalg.norm(b.astype(np.float64), axis=1))
        want = similarity(a, b, metric, backend="wasm")  # type: ignore[arg-type]
        for level in levels:
            _native.native_simd(level)
            got = similarity(a, b, metric, backend="native")  # type: ignore[arg-type]
            assert got.dtype == np.float32 and got.shape == (70, 8000) and got.flags.writeable
            if metric == "l2":
                assert got.tobytes() == want.tobytes(), level
                continue
            tolerance = 1e-5 * (1.0 if metric == "cosine" else norms)
            assert (np.abs(got.astype(np.float64) - want) <= tolerance).all(), (metric, level)
            # A zero vector scores 0, exactly (never -0.0).
            for zeros in (got[:, 5], got[5]) + ((got[:, 7],) if metric == "cosine" else ()):
                assert (zeros == 0).all() and not np.signbit(zeros).any(), metric


def test_searches_run_in_parallel_threads() -> None:
    """The GIL is released: searches from several Python threads at once
    give what they give one at a time."""
    m, queries = data(3000, 64), data(16, 64, seed=6)
    index = VectorIndex(64, "cosine", backend="native", threads=1)
    index.add(m)
    want = [index.search(q, 5) for q in queries]
    got: dict[int, object] = {}

    def run(i: int) -> None:
        got[i] = index.search(queries[i], 5)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i, (ids, scores) in enumerate(want):
        g_ids, g_scores = got[i]  # type: ignore[misc]
        assert list(g_ids) == list(ids) and g_scores.tobytes() == scores.tobytes()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_getaffinity"), reason="reads /proc (Linux)")
def test_memory_is_the_vectors_and_comes_back() -> None:
    n, dim = 200_000, 384
    vectors = np.random.default_rng(0).standard_normal((n, dim), dtype=np.float32)
    gc.collect()
    before = _rss()
    index = VectorIndex(dim, "cosine", backend="native")
    for part in np.array_split(vectors, 4):  # added in parts, as a service would
        index.add(part)
    index.search(vectors[0], 10)
    held = _rss() - before
    assert held <= 1.3 * vectors.nbytes + (64 << 20), f"{held >> 20} MiB held for {vectors.nbytes >> 20} MiB of vectors"
    del index
    gc.collect()
    assert _rss() - before <= 64 << 20, f"{(_rss() - before) >> 20} MiB still held after del"


def test_a_saved_index_loads_on_every_backend(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "native.index"
    m, queries = data(300, 24), data(4, 24, seed=9)
    native = VectorIndex(24, "l2", "i8", "native")
    native.add(m, ids=np.arange(300) * 7)
    native.save(path)
    want = results(native, queries, 10)
    for backend in ["native", *(f"wasm/{h}" for h in WASM_HOSTS)]:
        loaded = VectorIndex.load(path, backend)
        assert len(loaded) == 300 and results(loaded, queries, 10) == want, backend
    py = VectorIndex.load(path, "python")
    assert [ids for ids, _ in results(py, queries, 10)] == [ids for ids, _ in want]
