"""VectorIndex and similarity on every backend that loads, against a float64
numpy reference: the same top-k ids, scores within 1e-5 relative (f32), the
same errors, one file format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oms_accel.vector
from oms_accel import AccelArgumentError, AccelError, VectorError, VectorIndex, backends, similarity
from oms_accel._wasm import bindings

from ..conftest import EDITS, damaged, is_wasm, with_hosts

BACKENDS = with_hosts(backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS))
METRICS = ["cosine", "dot", "l2"]


def make(backend: str, dim: int, metric: str = "cosine", dtype: str = "f32") -> VectorIndex:
    # Two shards on wasm, so that every search merges.
    threads = 2 if is_wasm(backend) else None
    return VectorIndex(dim, metric, dtype, backend, threads=threads)  # type: ignore[arg-type]


def reference(m: np.ndarray, q: np.ndarray, metric: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k in float64: cosine on pre-normalized rows (zero rows score 0), ties to the smaller id."""
    m64, q64 = m.astype(np.float64), q.astype(np.float64)
    if metric == "l2":
        s = np.sqrt(((m64 - q64) ** 2).sum(axis=1))
        order = np.lexsort((np.arange(len(s)), s))
    else:
        if metric == "cosine":
            norms = np.linalg.norm(m64, axis=1)
            m64 = np.divide(m64, norms[:, None], out=np.zeros_like(m64), where=norms[:, None] > 0)
            qn = np.linalg.norm(q64)
            q64 = q64 / qn if qn > 0 else q64
        s = m64 @ q64
        order = np.lexsort((np.arange(len(s)), -s))
    top = order[:k]
    return top, s[top]


def assert_matches(ids: Any, scores: Any, ref_ids: np.ndarray, ref_scores: np.ndarray) -> None:
    np.testing.assert_allclose(np.asarray(scores, dtype=np.float64), ref_scores, rtol=1e-5, atol=1e-6)
    # Ids agree except inside a near-tie (scores equal within f32 rounding).
    ids = np.asarray(ids)
    assert len(ids) == len(ref_ids)
    for i in range(len(ids)):
        near = np.abs(ref_scores - ref_scores[i]) <= 1e-5 * max(1.0, abs(ref_scores[i]))
        if near.sum() == 1:
            assert ids[i] == ref_ids[i], (i, ids, ref_ids)
        else:
            assert ids[i] in ref_ids[near]


def data(n: int = 300, dim: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, dim)).astype(np.float32)
    if n > 11:
        m[7] = 0.0  # a zero vector
        m[11] = m[3]  # a duplicate
    return m


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", METRICS)
def test_top_k_matches_a_float64_reference(backend: str, metric: str) -> None:
    m = data()
    index = make(backend, m.shape[1], metric)
    assert index.add(m) == len(m) and len(index) == len(m)
    queries = np.vstack([m[3], m[7], np.random.default_rng(1).standard_normal((5, m.shape[1])).astype(np.float32)])
    for q in queries:
        for k in (1, 10, len(m) + 5):
            ids, scores = index.search(q, k)
            assert ids.dtype == np.int64 and scores.dtype == np.float32
            assert_matches(ids, scores, *reference(m, q, metric, k))
    # The duplicate of row 3 ties with it, and goes after it by id.
    if metric != "dot":
        ids, _ = index.search(m[3], 2)
        assert list(ids) == [3, 11]
    # A batch gives exactly what single searches give.
    batch = index.search_batch(queries, 10)
    for q, (ids, scores) in zip(queries, batch, strict=True):
        one = index.search(q, 10)
        assert list(ids) == list(one[0]) and list(scores) == list(one[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_vectors_under_cosine(backend: str) -> None:
    index = make(backend, 2)
    index.add([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    ids, scores = index.search([0.0, 0.0], 3)
    assert list(ids) == [0, 1, 2] and list(scores) == [0.0, 0.0, 0.0]
    ids, scores = index.search([3.0, 0.0], 3)
    assert list(ids) == [1, 0, 2] and list(scores) == [1.0, 0.0, 0.0]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 40),
    dim=st.integers(1, 40),
    k=st.integers(1, 50),
    metric=st.sampled_from(METRICS),
    seed=st.integers(0, 2**32 - 1),
)
def test_backends_agree_with_the_reference(n: int, dim: int, k: int, metric: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, dim)).astype(np.float32)
    q = rng.standard_normal(dim).astype(np.float32)
    for backend in BACKENDS:
        index = make(backend, dim, metric)
        index.add(m)
        assert_matches(*index.search(q, k), *reference(m, q, metric, k))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["f16", "i8"])
@pytest.mark.parametrize("metric", METRICS)
def test_compact_storage_stays_close(backend: str, dtype: str, metric: str) -> None:
    m = data(200, 32)
    index = make(backend, 32, metric, dtype)
    index.add(m)
    for q in m[:5]:
        _, ref_scores = reference(m, q, metric, 5)
        _, scores = index.search(q, 5)
        scale = {"cosine": 1.0, "dot": float(q @ q), "l2": float(np.linalg.norm(q))}[metric]
        tol = (0.002 if dtype == "f16" else 0.02) * scale
        assert abs(float(scores[0]) - ref_scores[0]) <= tol


def compact_values(dtype: str) -> np.ndarray:
    """Rows of 16 holding every value `dtype` stores: each finite half, or
    each of -127..127 with 127 in every row's last lane (so that each row's
    i8 scale is exactly 1)."""
    if dtype == "f16":
        halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
        return halves[np.isfinite(halves)].astype(np.float32).reshape(-1, 16)
    values = np.arange(-127, 128, dtype=np.float32).reshape(-1, 15)
    return np.hstack([values, np.full((len(values), 1), 127, dtype=np.float32)])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["f16", "i8"])
# In wasm, a query against halves is multiplied by 2^112 before the scan
# unless a value would then overflow (2^16 and more): 2^15 is the largest
# power of two it takes, 2^17 goes the other way, and 2^-140 (a subnormal
# f32) makes products that underflow.
@pytest.mark.parametrize("size", [1.0, 2.0**15, 2.0**17, 2.0**-140])
def test_every_stored_value_is_read_exactly(backend: str, dtype: str, size: float) -> None:
    """A one-hot query's dot product with a row is that row's lane times
    the query's value, exactly: every half (subnormals and the largest
    included) and every byte is converted back to the f32 it came from
    (natively by the CPU's conversions, in wasm four lanes at a time by
    hand), and the product rounded once. Zeros compare equal whatever their
    sign: it does not survive the sum with the other lanes' zero products."""
    rows = compact_values(dtype)
    index = make(backend, 16, "dot", dtype)
    index.add(rows)
    for lane in range(16):
        ids, scores = index.search(np.eye(16, dtype=np.float32)[lane] * np.float32(size), len(rows))
        got = np.asarray(scores, dtype=np.float32)[np.argsort(np.asarray(ids))]
        want = rows[:, lane] * np.float32(size)
        assert np.array_equal(got, want), (lane, np.flatnonzero(got != want)[:5])


@pytest.mark.parametrize("dtype", ["f32", "f16", "i8"])
@pytest.mark.parametrize("metric", METRICS)
def test_files_load_on_every_backend(tmp_path: Path, dtype: str, metric: str) -> None:
    m = data(120, 16)
    q = m[5] + 0.25
    results = {}
    for saver in BACKENDS:
        index = make(saver, 16, metric, dtype)
        index.add(m[:60])
        index.add(m[60:], ids=np.arange(1000, 1060))
        path = tmp_path / f"{saver.replace('/', '-')}.idx"
        index.save(path)
        results[saver] = [list(x) for x in index.search(q, 7)]
        for loader in BACKENDS:
            back = VectorIndex.load(path, backend=loader)
            assert (back.dim, back.metric, back.dtype, len(back)) == (16, metric, dtype, 120)
            ids, scores = back.search(q, 7)
            assert list(ids) == results[saver][0]
            np.testing.assert_allclose(scores, results[saver][1], rtol=1e-6, atol=1e-6)
            # New ids continue after the largest loaded one.
            back.add(m[:1])
            assert max(back.search(m[0], len(back))[0]) == 1060
    # Every backend and host stores the same rows: the same ids, f32 bit for
    # bit up to normalization rounding.
    assert all(r[0] == results["python"][0] for r in results.values())


@pytest.mark.parametrize("backend", BACKENDS)
def test_refusals_are_typed_and_add_nothing(backend: str) -> None:
    index = make(backend, 3, "l2", "f16")
    with pytest.raises(AccelArgumentError, match="dimension 2, the index has 3"):
        index.add([[1.0, 2.0]])
    with pytest.raises(AccelArgumentError, match=r"vector 1 has a non-finite value \(NaN\) at position 2"):
        index.add(np.array([[1, 2, 3], [1, 2, np.nan]], dtype=np.float32))
    with pytest.raises(AccelArgumentError, match="beyond the range of f16"):
        index.add([[1.0, 2.0, 3.0], [1.0, 70000.0, 1.0]])
    with pytest.raises(AccelArgumentError, match="2 vectors but 1 ids"):
        index.add([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], ids=[5])
    with pytest.raises(AccelArgumentError, match="ids must be from 0"):
        index.add([[1.0, 2.0, 3.0]], ids=[-1])
    with pytest.raises(AccelArgumentError, match="must hold numbers"):
        index.add([[1.0, "x", 3.0]])
    assert len(index) == 0
    index.add([[1.0, 2.0, 3.0]])
    with pytest.raises(AccelArgumentError, match="dimension 4"):
        index.search([1.0, 2.0, 3.0, 4.0], 1)
    with pytest.raises(AccelArgumentError, match="non-finite value \\(inf\\)"):
        index.search([1.0, float("inf"), 3.0], 1)
    for k in (0, -1, True, 1.5):
        with pytest.raises(AccelArgumentError, match="k must be"):
            index.search([1.0, 2.0, 3.0], k)  # type: ignore[arg-type]
    with pytest.raises(AccelArgumentError, match="one query"):
        index.search([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], 1)
    for bad in ({"dim": 0}, {"dim": 70000}, {"dim": 3, "metric": "manhattan"}, {"dim": 3, "dtype": "f64"}):
        with pytest.raises(AccelArgumentError):
            VectorIndex(backend=backend, **bad)  # type: ignore[arg-type]
    assert issubclass(AccelArgumentError, AccelError) and issubclass(VectorError, AccelError)


@pytest.mark.parametrize("backend", BACKENDS)
def test_damaged_files_are_refused(tmp_path: Path, backend: str) -> None:
    from oms_accel.vector import _format as fmt

    index = make(backend, 4, "dot")
    index.add(data(12, 4))  # records of 24 bytes
    path = tmp_path / "ok.idx"
    index.save(path)
    raw = path.read_bytes()
    assert raw[:8] == b"OMSVECS2"
    checksum = "checksum does not match"
    cases = {
        "bad magic": (b"X" + raw[1:], "corrupt"),
        "holds one record less": (raw[:-24], "checksum-mismatch"),
        "holds half a record less": (raw[:-12], "checksum-mismatch"),
        "holds a record more": (raw + raw[32:56], "checksum-mismatch"),
        "changed metric": (raw[:12] + b"\x00" + raw[13:], "checksum-mismatch"),  # dot to cosine: still a valid code
        "not finite": (raw[:48] + np.float32(np.nan).tobytes() + raw[52:], "checksum-mismatch"),
        "reserved bytes": (raw[:28] + b"\x01" + raw[29:], "checksum-mismatch"),
        "cut inside the header": (raw[:20], "truncated"),
    }
    for name, (broken, code) in cases.items():
        bad = tmp_path / "bad.idx"
        bad.write_bytes(broken)
        with pytest.raises(VectorError) as e:
            VectorIndex.load(bad, backend=backend)
        assert e.value.code == code, name
        if code == "checksum-mismatch":
            assert checksum in str(e.value) and "save it again" in str(e.value)
    # A version 1 file (no checksum) still loads, with every field checked.
    v1 = fmt.header(4, "dot", "f32", 12) + raw[32:]
    (tmp_path / "v1.idx").write_bytes(v1)
    q = data(1, 4)[0]
    assert [list(r) for r in VectorIndex.load(tmp_path / "v1.idx", backend=backend).search(q, 5)] == [list(r) for r in index.search(q, 5)]
    v1_cases = {
        "holds 11.5": v1[:-12],
        "holds 13": v1 + v1[24:48],
        "unknown metric": v1[:12] + b"\x09" + v1[13:],
        "reserved header bytes": v1[:14] + b"\x01" + v1[15:],
        "not finite": v1[:32] + np.float32(np.nan).tobytes() + v1[36:],
        "beyond the largest id": v1[:24] + (2**64 - 1).to_bytes(8, "little") + v1[32:],
    }
    for match, broken in v1_cases.items():
        bad = tmp_path / "bad.idx"
        bad.write_bytes(broken)
        with pytest.raises(VectorError, match=match):
            VectorIndex.load(bad, backend=backend)
    with pytest.raises(FileNotFoundError):
        VectorIndex.load(tmp_path / "missing.idx", backend=backend)
    # A failed save leaves nothing half-written.
    with pytest.raises(VectorError) as e:
        index.save(tmp_path / "no-such-dir" / "x.idx")
    assert e.value.code == "io"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.idx", "ok.idx", "v1.idx"]


_SAVED: dict[str, bytes] = {}


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None)
@given(EDITS)
def test_a_mutated_index_file_is_refused_or_unchanged(
    tmp_path_factory: pytest.TempPathFactory, backend: str, edits: list[tuple[int, int, int]]
) -> None:
    """Of 3,000 mutated files, 205 once loaded and searched differently: now
    every change to a byte is refused, with a VectorError."""
    if backend not in _SAVED:
        index = make(backend, 6, "cosine", "i8")
        index.add(data(20, 6))
        p = tmp_path_factory.mktemp("idx") / "ok.idx"
        index.save(p)
        _SAVED[backend] = p.read_bytes()
    raw = _SAVED[backend]
    bad = damaged(raw, edits)
    p = tmp_path_factory.mktemp("bad") / "bad.idx"
    p.write_bytes(bad)
    if bad == raw:
        assert len(VectorIndex.load(p, backend=backend)) == 20
    else:
        with pytest.raises(VectorError):
            VectorIndex.load(p, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_from_files_and_lists_without_numpy(tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    m = data(50, 8)
    raw = tmp_path / "vectors.f32"
    raw.write_bytes(m.astype("<f4").tobytes())
    from_file = make(backend, 8, "dot")
    assert from_file.add(raw) == 50
    expected = from_file.search(m[2], 4)
    (tmp_path / "ragged.f32").write_bytes(b"\0" * 12)
    with pytest.raises(AccelArgumentError, match="not whole vectors"):
        from_file.add(tmp_path / "ragged.f32")
    monkeypatch.setitem(sys.modules, "numpy", None)  # numpy is now not importable
    index = make(backend, 8, "dot")
    index.add(m.tolist())
    ids, scores = index.search(m[2].tolist(), 4)
    assert isinstance(ids, list) and isinstance(scores, list) and isinstance(scores[0], float)
    assert ids == list(expected[0]) and scores == [float(s) for s in expected[1]]
    with pytest.raises(AccelArgumentError, match="non-finite"):
        index.add([[float("nan")] * 8])
    batch = index.search_batch(m[:3].tolist(), 2)
    assert [b[0] for b in batch] == [index.search(v, 2)[0] for v in m[:3].tolist()]
    sim = similarity(m[:2].tolist(), m[:3].tolist(), "dot", backend=backend)
    assert isinstance(sim, list) and len(sim) == 2 and len(sim[0]) == 3


@pytest.mark.skipif("wasm/wasmtime-py" not in BACKENDS, reason="the wasmtime-py host does not run here")
def test_large_batches_cross_through_files(monkeypatch: pytest.MonkeyPatch) -> None:
    m = data(100, 16)
    index = make("wasm/wasmtime-py", 16, "l2")
    index.add(m)
    by_hex = index.search_batch(m[:9], 5)
    monkeypatch.setattr(bindings, "HEX_LIMIT", 0)
    by_file = index.search_batch(m[:9], 5)
    for a, b in zip(by_hex, by_file, strict=True):
        assert list(a[0]) == list(b[0]) and list(a[1]) == list(b[1])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", METRICS)
def test_similarity_is_every_pair(backend: str, metric: str) -> None:
    a, b = data(7, 12, seed=2), data(9, 12, seed=3)
    got = similarity(a, b, metric, backend=backend)
    assert got.shape == (7, 9) and got.dtype == np.float32
    want = np.array([[reference(b, q, metric, 9)[1][np.argsort(reference(b, q, metric, 9)[0])][j] for j in range(9)] for q in a])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(AccelArgumentError, match="dimension"):
        similarity(a, data(3, 5), metric, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", METRICS)
def test_similarity_names_a_non_finite_value_by_its_place(backend: str, metric: str) -> None:
    # 2500 rows: past the native sgemm's first step (1024 rows).
    a, b = data(3, 8, seed=2), data(2500, 8, seed=3)
    b[2100, 6] = np.inf
    with pytest.raises(AccelArgumentError, match=r"vector 2100 has a non-finite value \(inf\) at position 6"):
        similarity(a, b, metric, backend=backend)
    a[1, 2] = np.nan
    with pytest.raises(AccelArgumentError, match=r"vector 1 has a non-finite value \(NaN\) at position 2"):
        similarity(a, b, metric, backend=backend)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if is_wasm(b)])
def test_memory_limit_is_a_limit_error_and_the_index_stays_usable(backend: str) -> None:
    from oms_accel import LimitError, Limits

    index = VectorIndex(256, "l2", backend=backend, threads=1, limits=Limits(memory_bytes=32 << 20))
    small = data(100, 256)
    index.add(small)
    with pytest.raises(LimitError, match="out of memory"):
        index.add(np.ones((40_000, 256), dtype=np.float32))  # 40 MB, over the shard's 32 MiB
    # Nothing of it stays (a part that fitted was taken back): the shard still answers, unchanged.
    ids, _ = index.search(small[5], 1)
    assert len(index) == 100 and list(ids) == [5]
    assert len(index.search(small[5], 10_000)[0]) == 100


@pytest.mark.parametrize("backend", [b for b in BACKENDS if is_wasm(b)])
def test_a_refused_part_takes_back_every_part_before_it(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from oms_accel import LimitError
    from oms_accel.vector import _wasm

    monkeypatch.setattr(_wasm, "ADD_PART_BYTES", 64 << 10)  # a batch crosses in many parts
    index = VectorIndex(256, "l2", backend=backend, threads=2)
    small = data(100, 256)
    index.add(small)
    before = index.to_bytes()
    crossed: list[int] = []
    shard = index._impl._shards[1]  # type: ignore[attr-defined]
    add = shard.handle.add

    def refuse_the_fourth(vectors: Any, ids: Any) -> None:
        if len(crossed) == 3:
            raise LimitError("out of memory (a stand-in)", "limit-exceeded")
        add(vectors, ids)
        crossed.append(len(ids) // 8)

    shard.handle.add = refuse_the_fourth
    with pytest.raises(LimitError, match="a stand-in"):
        index.add(data(1000, 256, seed=1))  # 500 rows a shard, 64 in a part
    assert crossed == [64, 64, 64]
    # Both shards hold what they held before the call, and no more.
    assert len(index) == 100 and index.to_bytes() == before
    assert sorted(index.search(small[5], 10_000)[0]) == list(range(100))
    shard.handle.add = add
    index.add(data(50, 256, seed=2))
    assert len(index) == 150 and sorted(index.search(small[5], 10_000)[0]) == list(range(150))


@pytest.mark.parametrize("backend", [b for b in BACKENDS if is_wasm(b)])
def test_a_batch_over_the_memory_limit_leaves_the_shards_able_to_add(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from oms_accel import LimitError, Limits
    from oms_accel.vector import _wasm

    monkeypatch.setattr(_wasm, "ADD_PART_BYTES", 1 << 20)
    index = VectorIndex(256, "l2", backend=backend, threads=2, limits=Limits(memory_bytes=32 << 20))
    small = data(100, 256)
    index.add(small)
    with pytest.raises(LimitError, match="out of memory"):
        index.add(data(60_000, 256, seed=1))  # 61 MB: 30 for each 32 MiB shard
    assert len(index) == 100 and sorted(index.search(small[5], 10_000)[0]) == list(range(100))
    # The refusal did not leave the shards' memory at their limit: a batch
    # of half of it still fits.
    index.add(data(16_000, 256, seed=2))
    assert len(index) == 16_100 and len(index.search(small[5], 100_000)[0]) == 16_100


@pytest.mark.skipif("wasm/rust" not in BACKENDS, reason="the Rust host does not load here")
def test_a_batch_that_cannot_fit_is_refused_before_a_part_grows_the_shard() -> None:
    from oms_accel import LimitError, Limits

    index = VectorIndex(256, "l2", backend="wasm/rust", threads=1, limits=Limits(memory_bytes=32 << 20))
    index.add(data(100, 256))
    inst = index._impl._shards[0].handle.inst  # type: ignore[attr-defined]
    size = inst.linear_bytes
    with pytest.raises(LimitError, match="could pass its limit of 32 MiB"):
        index.add(data(40_000, 256, seed=1))  # 40 MB: its first 16 MiB part alone would fit
    assert inst.linear_bytes == size and len(index) == 100


@pytest.mark.parametrize("backend", [b for b in BACKENDS if is_wasm(b)])
def test_a_shard_over_half_its_memory_limit_is_saved_and_loaded(backend: str, tmp_path: Path) -> None:
    from oms_accel import Limits

    # 36 MiB of rows in a shard of 64 MiB: the whole index file beside them
    # would not fit (it trapped, and took the shard with it). Records cross
    # a part at a time, both ways.
    limits = Limits(memory_bytes=64 << 20)
    index = VectorIndex(256, "l2", backend=backend, threads=1, limits=limits)
    rows = data(36_000, 256, seed=4)
    for start in range(0, len(rows), 4_000):
        index.add(rows[start : start + 4_000])
    index.save(tmp_path / "big.idx")
    loaded = VectorIndex.load(tmp_path / "big.idx", backend=backend, threads=1, limits=limits)
    assert loaded.to_bytes() == index.to_bytes()
    for i in (0, 12_345, 35_999):
        assert loaded.search(rows[i], 1)[0][0] == i
    # Both still take rows.
    for ix in (index, loaded):
        ix.add(data(100, 256, seed=5))
        assert len(ix) == 36_100


@pytest.mark.parametrize("backend", [b for b in BACKENDS if is_wasm(b)])
def test_a_batch_that_fits_a_shard_once_but_not_twice_is_added(backend: str) -> None:
    from oms_accel import Limits

    # 72 MiB of rows in one call to a shard of 128 MiB: guest memory holds
    # the rows and a part of the batch, not the rows and the whole batch.
    index = VectorIndex(1024, "l2", backend=backend, threads=1, limits=Limits(memory_bytes=128 << 20))
    rows = data(18_432, 1024, seed=3)
    index.add(rows)
    assert len(index) == len(rows)
    for i in (0, 9_000, 18_431):
        assert index.search(rows[i], 1)[0][0] == i


@pytest.mark.parametrize("backend", BACKENDS)
def test_threads_search_while_others_add(backend: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    m = data(400, 16)
    index = make(backend, 16, "l2")
    index.add(m[:200])

    def search(i: int) -> int:
        ids, _ = index.search(m[i], 1)
        return int(ids[0])

    with ThreadPoolExecutor(4) as pool:
        adding = pool.submit(lambda: [index.add(m[200 + 20 * j : 220 + 20 * j]) for j in range(10)])
        found = list(pool.map(search, range(200)))
        adding.result()
    # An exact match is its own nearest (row 11 duplicates row 3: the tie goes to 3).
    assert found == [3 if i == 11 else i for i in range(200)]
    assert len(index) == 400 and [search(i) for i in (250, 399)] == [250, 399]


@pytest.mark.parametrize("backend", BACKENDS)
def test_ids_are_unique(tmp_path: Path, backend: str) -> None:
    index = make(backend, 4)
    index.add(data(3, 4))  # ids 0, 1, 2
    with pytest.raises(AccelArgumentError, match="given twice"):
        index.add(data(2, 4), ids=[7, 7])
    with pytest.raises(AccelArgumentError, match="id 1 is already in the index"):
        index.add(data(2, 4), ids=[9, 1])
    assert len(index) == 3  # a refused add adds nothing
    index.add(data(2, 4), ids=[10, 20])
    index.add(data(1, 4))  # the next default id: 21
    index.save(tmp_path / "i.idx")
    loaded = VectorIndex.load(tmp_path / "i.idx", backend=backend)
    with pytest.raises(AccelArgumentError, match="id 20 is already"):
        loaded.add(data(1, 4), ids=[20])
    loaded.add(data(1, 4), ids=[5])
    assert len(loaded) == 7


@pytest.mark.parametrize("dtype", ["f32", "f16", "i8"])
def test_python_rows_span_segments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dtype: str) -> None:
    # Segments of 3 rows of 4 values: 10 rows added in 3 calls span 4 of them,
    # and every row is found, saved and loaded where it was put.
    from oms_accel.vector import _python

    monkeypatch.setattr(_python, "SEGMENT_BYTES", 3 * 4 * (1 if dtype == "i8" else 4))
    rng = np.random.default_rng(5)
    m = rng.standard_normal((10, 4)).astype(np.float32)
    index = make("python", 4, "dot", dtype)
    for part in (m[:2], m[2:7], m[7:]):
        index.add(part)
    assert len(index._impl.rows.segments) == 4  # type: ignore[attr-defined]
    for i in range(10):
        ids, _ = index.search(m[i], 10)
        exact = np.argsort(-(m @ m[i]), kind="stable")
        assert ids[0] == exact[0], (i, ids, exact)
    path = tmp_path / "i.idx"
    index.save(path)
    loaded = VectorIndex.load(path, backend="native" if "native" in BACKENDS else "python")
    for q in m[:3]:
        assert list(loaded.search(q, 10)[0]) == list(index.search(q, 10)[0])
