"""Child processes after the parent used every capability on the component,
on each host.

Spawned and forkserver children load the component themselves and get the
same answers. A forked child builds no runtime from the parent's (its
engine, stores and epoch ticker do not survive fork()), and objects made
before the fork raise instead of hanging. On the Rust host the child builds
its own runtime and the wasm backend works there. On wasmtime-py the
runtime that serves WASI file I/O inside its library does not survive fork
either: once the parent has used files the wasm backend is unavailable in
the child with the reason, and `auto` picks the next backend. Each start
method runs in a fresh interpreter with a time limit, so a hang fails the
test instead of stalling the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..conftest import WASM_HOSTS

SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp, sys
    import oms_accel
    from oms_accel import AccelError, BackendUnavailableError, DeltaEncoder, JsonProcessor, VectorIndex, similarity

    OLD, NEW = b"version one " * 500, b"version two " * 500

    def work(backend):
        enc = DeltaEncoder(backend, method="vcdiff")
        delta = enc.encode(OLD, NEW)
        doc = JsonProcessor(backend).parse_large_document('{"a": [1, 2, 3]}')
        index = VectorIndex(3, backend=backend, threads=2)
        index.add([[1, 0, 0], [0, 1, 0]])
        sim = similarity([[1, 0, 0]], [[1, 0, 0], [0, 1, 0]], backend=backend)
        return enc.decode(OLD, delta) == NEW, doc.get("/a/2"), [int(i) for i in index.search([0, 1, 0], k=1)[0]], float(sim[0][0])

    def forked(_):
        refused = False
        try:
            DeltaEncoder("wasm")
        except BackendUnavailableError as e:
            refused = "fork" in str(e)
        try:
            PARENT_DOC.get("/a")
        except AccelError as e:
            inherited = e.code
        return refused, inherited, "wasm" in oms_accel.available_backends(), work(None)

    if __name__ == "__main__":
        method, host = sys.argv[1], sys.argv[2]
        expected = work("wasm")  # the parent uses every capability first
        PARENT_DOC = JsonProcessor("wasm").parse_large_document('{"a": 1}')
        with mp.get_context(method).Pool(2) as pool:
            if method == "fork":
                got = pool.map(forked, range(2), chunksize=1)
                portable = host == "wasmtime-py"
                assert got == [(portable, "unavailable", not portable, expected)] * 2, (got, expected)
            else:
                got = pool.map(work, ["wasm", "wasm"], chunksize=1)
                assert got == [expected, expected], (got, expected)
        assert work("wasm") == expected and PARENT_DOC.get("/a") == 1  # the parent is unharmed
        print("ok", method)
    """
)


@pytest.mark.skipif(not WASM_HOSTS, reason="no host runs the component here")
@pytest.mark.parametrize("host", WASM_HOSTS)
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_children_work_after_the_parent_used_every_capability(method: str, host: str, tmp_path: Path) -> None:
    script = tmp_path / "children.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMS_ACCEL_WASM_HOST=host)
    p = subprocess.run([sys.executable, str(script), method, host], env=env, capture_output=True, text=True, timeout=240, check=False)
    assert p.returncode == 0 and f"ok {method}" in p.stdout, p.stderr[-3000:]
