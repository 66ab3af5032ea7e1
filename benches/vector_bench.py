"""Vector search benchmark: each backend beside numpy, in one run.

100k x 384 f32 rows (random, seeded; ``--rows 1000000`` for a million),
top-10 cosine:
0. The native backend (the default) beside its peers: numpy, faiss-cpu
   (``IndexFlatIP``, and its scalar quantizer for f16 and 8 bits), usearch's
   exact search and simsimd's ``cdist``: one query, a batch of 64, f16 and
   i8 storage (with their recall@10 against exact f32), ``similarity()``
   of 64 x 16k, and add throughput.
1. One query: numpy is ``m @ q`` on pre-normalized rows plus ``argpartition``
   (and the sort of the 10); oms-accel is ``VectorIndex.search``.
2. A batch of 64 queries: ``search_batch`` against 64 single searches, and
   numpy's ``M @ Q.T`` with the same top-k.
3. The scaling over threads (shards) of the wasm backend, on each host, its
   f16 and i8 rows (checked against the native backend's hits), and the
   component's search compiled natively (`guest native`, the same shards):
   the sandbox's price.
4. The GPU path (wgpu) on batches of 64 and 1024, where a real GPU is present.
5. The pure-Python backend, one query.
6. Real embeddings (``benches/real_embeddings.py``: 18.6k names and
   descriptions of browser-compat-data's features, all-MiniLM-L6-v2): the
   native backend's speed beside numpy on them and the recall@10 of f16 and
   i8 (and of faiss's 8-bit quantizer); ``--no-real`` skips them.

Every oms-accel f32 result is checked against numpy's top-10 ids.

Usage: python benches/vector_bench.py [--rows N] [--dim D] [--repeat N] [--check]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from _targets import HOSTS, Targets, guest_native
from _targets import best as _best

import oms_accel.vector
from oms_accel import VectorIndex, backends, gpu_adapter, similarity
from oms_accel.vector._gpu import is_real_gpu

BACKENDS = backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS)

K = 10
BATCH = 64


def numpy_top(mn: np.ndarray, q: np.ndarray) -> np.ndarray:
    s = mn @ (q / np.linalg.norm(q))
    top = np.argpartition(-s, K)[:K]
    return top[np.argsort(-s[top], kind="stable")]


def numpy_batch(mn: np.ndarray, qs: np.ndarray) -> list[np.ndarray]:
    s = mn @ (qs / np.linalg.norm(qs, axis=1, keepdims=True)).T
    top = np.argpartition(-s, K, axis=0)[:K]
    return [top[np.argsort(-s[top[:, j], j], kind="stable"), j] for j in range(qs.shape[0])]


def top_ids(scores: np.ndarray) -> np.ndarray:
    """The K best of one row of scores (higher first), ties to the smaller id."""
    top = np.argpartition(-scores, K)[:K]
    return top[np.lexsort((top, -scores[top]))]


def recall(got: list[Any], want: list[np.ndarray]) -> float:
    """Recall@K of `got` (one (ids, scores) per query) against exact ids."""
    return float(np.mean([len(set(g[0].tolist()) & set(w.tolist())) / K for g, w in zip(got, want, strict=True)]))


T = TypeVar("T")

#: Seconds to let the other libraries' worker threads go idle before a timing.
SETTLE_S = 0.3


def best(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """`_targets.best` once other threads have stopped spinning: OpenBLAS's
    (numpy) and OpenMP's (faiss) keep a core busy for 0.05-0.2 s after each
    call, which on two cores halves whatever is timed next (measured: the
    native search of the real embeddings took 1.16 ms right after numpy's
    products, 0.66 ms 0.2 s later)."""
    time.sleep(SETTLE_S)
    return _best(fn, repeat)


def peer(name: str) -> Any:
    """The peer module `name`, or None (reported) where it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        print(f"{name} is not installed: not measured")
        return None


def native_and_peers(m: np.ndarray, queries: np.ndarray, repeat: int) -> tuple[dict[str, float], dict[str, float], dict[str, list[Any]]]:
    """The native backend and its peers: {row: seconds per query (add: per
    vector)}, {dtype: recall@K against exact f32} and {dtype: the batch's
    hits}."""
    rows: dict[str, float] = {}
    recalls: dict[str, float] = {}
    hits: dict[str, list[Any]] = {}
    mn = m / np.linalg.norm(m, axis=1, keepdims=True)
    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    exact = [top_ids(mn @ q) for q in qn]
    # Memory this process has never touched costs about 10 us a page on these
    # machines (a microVM's memory is backed on first touch): 4.4 us a
    # vector for the first f32 add of 100k, 0.5 us for the next. A warm-up
    # add takes that cost once, as a long-running service has.
    warm = VectorIndex(m.shape[1], "cosine", backend="native")
    warm.add(m)
    del warm
    for dtype in ("f32", "f16", "i8"):
        index = VectorIndex(m.shape[1], "cosine", dtype, backend="native")  # type: ignore[arg-type]
        t0 = time.perf_counter()
        index.add(m)
        rows[f"native {dtype} add (per vector)"] = (time.perf_counter() - t0) / len(m)
        rows[f"native {dtype} search"] = best(lambda index=index: index.search(queries[0], K), repeat)[0]
        t, got = best(lambda index=index: index.search_batch(queries, K), 3)
        rows[f"native {dtype} batch{BATCH}"] = t / BATCH
        recalls[dtype] = recall(got, exact)
        hits[dtype] = got
        del index
    b = m[:16_000]
    rows[f"native similarity {BATCH}x{len(b)}"] = best(lambda: similarity(queries, b), repeat)[0]
    # simsimd first: run after faiss and usearch, it refused its inputs.
    simsimd = peer("simsimd")
    if simsimd is not None:
        m16, q16 = mn.astype(np.float16), qn[:1].astype(np.float16)
        try:
            rows["simsimd search"] = best(
                lambda: top_ids(np.asarray(simsimd.cdist(qn[:1], mn, metric="inner", dtype="float32"))[0]), repeat
            )[0]
            rows["simsimd f16 search"] = best(
                lambda: top_ids(np.asarray(simsimd.cdist(q16, m16, metric="inner", dtype="float16"))[0]), repeat
            )[0]
        except TypeError as e:  # seen with simsimd 6.5.16 when it ran after faiss and usearch in the process
            print(f"simsimd failed, not measured: {e}")
    faiss = peer("faiss")
    if faiss is not None:
        flat = faiss.IndexFlatIP(m.shape[1])
        flat.add(mn)
        rows["faiss flat search"] = best(lambda: flat.search(qn[:1], K), repeat)[0]
        rows[f"faiss flat batch{BATCH}"] = best(lambda: flat.search(qn, K), 3)[0] / BATCH
        for name, kind in (("f16", faiss.ScalarQuantizer.QT_fp16), ("sq8", faiss.ScalarQuantizer.QT_8bit)):
            sq = faiss.IndexScalarQuantizer(m.shape[1], kind, faiss.METRIC_INNER_PRODUCT)
            sq.train(mn)
            sq.add(mn)
            rows[f"faiss {name} search"] = best(lambda sq=sq: sq.search(qn[:1], K), repeat)[0]
            del sq
        del flat
    usearch = peer("usearch.index")
    if usearch is not None:
        ip = usearch.MetricKind.IP
        rows["usearch exact search"] = best(lambda: usearch.search(mn, qn[0], K, ip, exact=True), repeat)[0]
        rows[f"usearch exact batch{BATCH}"] = best(lambda: usearch.search(mn, qn, K, ip, exact=True), 3)[0] / BATCH
    # numpy's `similarity`: the same work, normalizing both sides.
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    rows[f"numpy similarity {BATCH}x{len(b)}"] = best(lambda: unit(queries) @ unit(b).T, repeat)[0]
    return rows, recalls, hits


def real_embeddings(repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """The native backend on real embeddings (benches/real_embeddings.py:
    18.6k texts of an ontology, all-MiniLM-L6-v2): 64 of them, held out,
    query the rest. {row: seconds per query} and {storage: recall@K}, with
    faiss's 8-bit scalar quantizer's recall beside the native i8."""
    import real_embeddings

    _, vectors = real_embeddings.load()
    order = np.random.default_rng(11).permutation(len(vectors))
    m, queries = vectors[order[BATCH:]], vectors[order[:BATCH]]
    exact = [top_ids(m @ q) for q in queries]
    rows: dict[str, float] = {}
    recalls: dict[str, float] = {}
    for dtype in ("f32", "f16", "i8"):
        index = VectorIndex(m.shape[1], "cosine", dtype, backend="native")  # type: ignore[arg-type]
        index.add(m)
        rows[f"real: native {dtype} search"] = best(lambda index=index: index.search(queries[0], K), repeat)[0]
        t, got = best(lambda index=index: index.search_batch(queries, K), 3)
        rows[f"real: native {dtype} batch{BATCH}"] = t / BATCH
        recalls[f"real {dtype}"] = recall(got, exact)
    faiss = peer("faiss")
    if faiss is not None:
        sq = faiss.IndexScalarQuantizer(m.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sq.train(m)
        sq.add(m)
        _, ids = sq.search(queries, K)
        recalls["real faiss sq8"] = float(np.mean([len(set(i.tolist()) & set(w.tolist())) / K for i, w in zip(ids, exact, strict=True)]))
    rows["real: numpy search"] = best(lambda: numpy_top(m, queries[0]), repeat)[0]
    rows[f"real: numpy batch{BATCH}"] = best(lambda: numpy_batch(m, queries), 3)[0] / BATCH
    return rows, recalls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--native-only", action="store_true", help="only the native backend and its peers (for 1M rows)")
    ap.add_argument("--no-real", action="store_true", help="skip the real embeddings (computed on first use: minutes)")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    m = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    queries = rng.standard_normal((BATCH, args.dim), dtype=np.float32)
    cores = os.cpu_count() or 1
    rows: dict[str, float] = {}  # name -> seconds per query
    expected = [numpy_top(m / np.linalg.norm(m, axis=1, keepdims=True), q) for q in queries[:4]]

    def same_ids(got: Any, want: np.ndarray, what: str) -> None:
        assert list(got) == list(want), f"{what}: {list(got)} != {list(want)}"

    recalls: dict[str, float] = {}
    native_hits: dict[str, list[Any]] = {}  # dtype -> the native batch's hits
    if "native" in BACKENDS:
        native_rows, recalls, native_hits = native_and_peers(m, queries, args.repeat)
        rows.update(native_rows)
        if not args.no_real:
            real_rows, real_recalls = real_embeddings(args.repeat)
            rows.update(real_rows)
            recalls.update(real_recalls)

    # oms-accel first: numpy's BLAS threads spin for a while after each call,
    # which would steal the cores from whatever runs next.
    for host in HOSTS if "wasm" in BACKENDS and not args.native_only else []:
        wasm = f"wasm/{host}"
        for threads in sorted({1, cores}):
            index = VectorIndex(args.dim, "cosine", backend=wasm, threads=threads)
            t0 = time.perf_counter()
            index.add(m)
            rows[f"{wasm} add ({threads} thr, per vector)"] = (time.perf_counter() - t0) / args.rows
            same_ids(index.search(queries[0], K)[0], expected[0], f"{wasm} search")
            for got, want in zip(index.search_batch(queries[:4], K), expected, strict=True):
                same_ids(got[0], want, f"{wasm} search_batch")
            rows[f"{wasm} search, {threads} thr"] = best(lambda index=index: index.search(queries[0], K), args.repeat)[0]
            rows[f"{wasm} batch{BATCH}, {threads} thr"] = best(lambda index=index: index.search_batch(queries, K), 3)[0] / BATCH
            del index
        # Compact rows in the sandbox (every core): converted to f32 as the
        # kernel loads them, so the same hits as the native backend's.
        for dtype in ("f16", "i8"):
            index = VectorIndex(args.dim, "cosine", dtype, backend=wasm, threads=cores)  # type: ignore[arg-type]
            index.add(m)
            if dtype in native_hits:
                for got, want in zip(index.search_batch(queries[:4], K), native_hits[dtype][:4], strict=True):
                    same_ids(got[0], want[0], f"{wasm} {dtype} search_batch")
            rows[f"{wasm} {dtype} search, {cores} thr"] = best(lambda index=index: index.search(queries[0], K), args.repeat)[0]
            rows[f"{wasm} {dtype} batch{BATCH}, {cores} thr"] = best(lambda index=index: index.search_batch(queries, K), 3)[0] / BATCH
            del index
    # The component's own search compiled natively, on the same rows, with
    # as many shards (threads) as the wasm rows above, at the baseline SIMD
    # level (128-bit, as in wasm): the sandbox's price, not AVX2's gain.
    if not args.native_only:
        with tempfile.TemporaryDirectory() as d:
            paths = [os.path.join(d, name) for name in ("rows.f32", "queries.f32")]
            m.astype("<f4").tofile(paths[0])
            queries.astype("<f4").tofile(paths[1])
            native = guest_native("vector", *paths, args.dim, K, cores, args.repeat)
            rows[f"guest native search, {cores} thr"] = native["one_query"]
            rows[f"guest native batch{BATCH}, {cores} thr"] = native["batch"] / BATCH
    # The GPU path only on a real GPU: a CPU renderer (lavapipe) is for tests.
    if is_real_gpu():
        index = VectorIndex(args.dim, "cosine", gpu=True)
        index.add(m)
        for got, want in zip(index.search_batch(queries[:4], K), expected, strict=True):
            same_ids(got[0], want, "gpu search_batch")
        rows[f"gpu batch{BATCH}"] = best(lambda index=index: index.search_batch(queries, K), 3)[0] / BATCH
        big = np.vstack([queries] * 16)
        rows[f"gpu batch{len(big)}"] = best(lambda index=index: index.search_batch(big, K), 3)[0] / len(big)
        del index
    else:
        print(f"GPU path not measured: the adapter is {gpu_adapter()}, not a real GPU")
    if "python" in BACKENDS and not args.native_only:
        index = VectorIndex(args.dim, "cosine", backend="python")
        index.add(m)
        t0 = time.perf_counter()
        got = index.search(queries[0], K)
        rows["python search"] = time.perf_counter() - t0
        same_ids(got[0], expected[0], "python search")
        del index

    mn = m / np.linalg.norm(m, axis=1, keepdims=True)
    rows["numpy search"] = best(lambda: numpy_top(mn, queries[0]), args.repeat)[0]
    rows[f"numpy batch{BATCH}"] = best(lambda: numpy_batch(mn, queries), 3)[0] / BATCH
    if any(name.startswith("gpu batch") and name != f"gpu batch{BATCH}" for name in rows):
        big = np.vstack([queries] * 16)
        rows[f"numpy batch{len(big)}"] = best(lambda: numpy_batch(mn, big), 3)[0] / len(big)
    for got, want in zip(numpy_batch(mn, queries[:4]), expected, strict=True):
        same_ids(got, want, "numpy batch")

    numpy_t = rows["numpy search"]
    print(f"\nVector search: {args.rows} x {args.dim} f32, top-{K} cosine, {cores} cores (ms per query; add: us per vector)")
    print(f"{'':<36} {'ms':>9} {'speed vs numpy':>15}")
    for name, t in rows.items():
        if " add (" in name:
            print(f"{name:<36} {t * 1e6:>8.2f}u")
        else:
            # Real embeddings are another size: beside numpy on the same rows.
            ref = rows["real: numpy search"] if name.startswith("real:") else numpy_t
            print(f"{name:<36} {t * 1e3:>9.3f} {ref / t:>14.3g}x")
    for dtype, r in recalls.items():
        print(f"recall@{K} of {dtype if ' ' in dtype else 'native ' + dtype}: {r:.4f}")
    if not args.check:
        return 0
    target = Targets()
    if "native f32 search" in rows:
        one = numpy_t / rows["native f32 search"]
        target(one >= 1.1, f"native one query {one:.2f}x numpy (target 1.1x)")
        batch = rows[f"numpy batch{BATCH}"] / rows[f"native f32 batch{BATCH}"]
        target(batch >= 1.0, f"native batch of {BATCH} {batch:.2f}x numpy (target 1x)")
        for dtype, floor in (("f16", 0.99), ("i8", 0.97)):
            speed = numpy_t / rows[f"native {dtype} search"]
            target(speed >= 1.5, f"native {dtype} one query {speed:.2f}x numpy's f32 (target 1.5x)")
            target(recalls[dtype] >= floor, f"native {dtype} recall@{K} {recalls[dtype]:.4f} (target {floor})")
        for dtype, floor in (("f16", 0.99), ("i8", 0.97)):
            if f"real {dtype}" in recalls:
                r = recalls[f"real {dtype}"]
                target(r >= floor, f"native {dtype} recall@{K} on real embeddings {r:.4f} (target {floor})")
        sim = next(name for name in rows if name.startswith("native similarity"))
        ratio = rows[sim.replace("native", "numpy")] / rows[sim]
        target(ratio >= 1.0, f"native similarity() {ratio:.2f}x numpy (target 1x)")
    wasm = f"wasm/{HOSTS[0]}" if HOSTS else "wasm"
    single = rows.get(f"{wasm} search, {cores} thr")
    rust, native = rows.get(f"wasm/rust search, {cores} thr"), rows.get(f"guest native batch{BATCH}, {cores} thr")
    if rust:
        target(numpy_t / rust >= 1, f"one query on the rust host at {numpy_t / rust:.2f}x numpy's speed (target 1x)")
        batch = rows[f"wasm/rust batch{BATCH}, {cores} thr"]
        if native:
            gap = batch / native
            target(gap <= 1.5, f"a batch of {BATCH} on the rust host {gap:.2f}x the guest code native's time (target at most 1.5x)")
    if single:
        target(numpy_t / single >= 0.7, f"one query on wasm at {numpy_t / single:.2f}x numpy's speed (target 0.7x)")
        batch = rows[f"{wasm} batch{BATCH}, {cores} thr"]
        target(single / batch >= 1.6, f"a batch of {BATCH} {single / batch:.2f}x faster than {BATCH} single searches (target 1.6x)")
        if "python search" in rows:
            py = rows["python search"]
            target(py / single >= 100, f"one query on wasm {py / single:.0f}x faster than the pure-Python backend (target 100x)")
            target(py / batch >= 100, f"per query in a batch, wasm {py / batch:.0f}x faster than the pure-Python backend (target 100x)")
    return target.exit_status()


if __name__ == "__main__":
    sys.exit(main())
