"""Threads under load: 16 threads run every capability at once (deltas,
JSON parse, query, validation and diff, vector search) on each backend and
host for a bounded time, every answer checked; meanwhile one of them keeps
hitting limits (output and input sizes, and on the wasm backend a time limit,
which traps its instance), which must leave the others' calls intact."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import oms_accel.vector
from oms_accel import AccelError, DeltaEncoder, JsonProcessor, LimitError, Limits, VectorIndex, backends
from oms_accel.samples import ONTOLOGY_SCHEMA, document, edit, json_document

from ..conftest import with_hosts

BACKENDS = with_hosts(["native", "wasm", "python"])
THREADS = 16
SECONDS = 1.5

OLD = document(60_000, seed=1)
NEW = edit(OLD, 0.02, seed=2)
DOC = json_document(20_000, seed=3)
BAD = DOC.replace('"version": 1', '"version": 0')
ROWS = np.random.default_rng(5).standard_normal((2000, 64)).astype(np.float32)


def json_backend(backend: str) -> str:
    return "wasm/rust" if backend == "native" else backend  # the JSON processor has no native backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_sixteen_threads_running_everything_get_right_answers(backend: str) -> None:
    loaded = backends.loaded(("native", "wasm", "python"))
    if backend.split("/")[0] not in loaded:
        pytest.fail(f"backend {backend} does not load here")
    enc = DeltaEncoder(backend)
    proc = JsonProcessor(json_backend(backend))
    schema = proc.compile_schema(ONTOLOGY_SCHEMA)
    vector_backend = backend if backend.split("/")[0] in oms_accel.vector.SUPPORTED_BACKENDS else "python"
    index = VectorIndex(64, "cosine", backend=vector_backend, threads=1)
    index.add(ROWS)
    want_ids = [list(index.search(ROWS[i], 5)[0]) for i in range(0, 2000, 97)]
    want_violations = [(v.instance_path, v.message) for v in schema.validate(BAD)]
    want_diff = proc.diff(DOC, BAD)
    assert want_violations and want_diff
    failures: list[str] = []
    counts = [0] * THREADS
    deadline = time.monotonic() + SECONDS

    def worker(t: int) -> None:
        try:
            while time.monotonic() < deadline:
                step = counts[t] % 4
                if step == 0:
                    assert enc.decode(OLD, enc.encode(OLD, NEW)) == NEW
                elif step == 1:
                    doc = proc.parse_large_document(DOC)
                    assert doc.get("/version") == 1 and schema.is_valid(doc)
                    assert [(v.instance_path, v.message) for v in schema.validate(BAD)] == want_violations
                elif step == 2:
                    assert proc.diff(DOC, BAD) == want_diff
                else:
                    q = (counts[t] * 97 + t) % len(want_ids)
                    assert list(index.search(ROWS[q * 97], 5)[0]) == want_ids[q]
                counts[t] += 1
        except Exception as e:  # reported below, with the thread
            failures.append(f"thread {t}: {type(e).__name__}: {e}")

    def limited() -> None:
        """Hits a limit again and again; each must be a LimitError."""
        tiny = DeltaEncoder(backend, limits=Limits(max_output_bytes=1000))
        hurried = DeltaEncoder(backend, limits=Limits(timeout_s=0.001)) if backend.startswith("wasm") else None
        noise = np.random.default_rng(9).bytes(48 << 20)  # what no encoder gets through in 1 ms
        big = proc if backend == "python" else JsonProcessor(json_backend(backend), limits=Limits(max_input_bytes=1000))
        while time.monotonic() < deadline:
            try:
                tiny.decode(OLD, enc.encode(OLD, NEW))
                failures.append("the output limit did not hold")
            except LimitError:
                pass
            try:
                big.parse_large_document(DOC)
                if big is not proc:
                    failures.append("the input limit did not hold")
            except (LimitError, AccelError):
                pass
            if hurried is not None:
                try:  # a trap: the instance is interrupted (epoch) and replaced
                    hurried.encode(noise[: 24 << 20], noise[24 << 20 :])
                    failures.append("the time limit did not hold")
                except LimitError:
                    pass

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS - 1)]
    threads.append(threading.Thread(target=limited))
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    assert failures == []
    assert all(c > 0 for c in counts[: THREADS - 1]), counts
