"""No copy of a call's vectors stays behind in the scratch directory, and
`similarity` keeps the caller's limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import oms_accel.vector
from oms_accel import LimitError, Limits, backends, similarity

from ..conftest import WASM_HOSTS, is_wasm, with_hosts

BACKENDS = with_hosts(backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS))

SCRIPT = """
import numpy as np, os, sys
from oms_accel import VectorIndex, similarity

rng = np.random.default_rng(1)
index = VectorIndex(16, backend="wasm", threads=2)
index.add(rng.standard_normal((500, 16), dtype=np.float32))
index.search(rng.standard_normal(16, dtype=np.float32), k=3)
index.search_batch(rng.standard_normal((8, 16), dtype=np.float32), k=3)
index.save(sys.argv[1] + "/saved.index")
VectorIndex.load(sys.argv[1] + "/saved.index", backend="wasm", threads=2).search(np.ones(16, dtype=np.float32))
similarity(np.ones((3, 16), dtype=np.float32), np.ones((4, 16), dtype=np.float32), backend="wasm")
scratch = os.environ["OMS_ACCEL_SCRATCH_DIR"]
left = [os.path.join(d, f) for d, _, files in os.walk(scratch) for f in files]
print(left, len(os.listdir(scratch)))
"""


@pytest.mark.parametrize("host", WASM_HOSTS)
def test_no_scratch_copy_outlives_its_call(host: str, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "OMS_ACCEL_SCRATCH_DIR": str(scratch), "OMS_ACCEL_WASM_HOST": host}
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr[-2000:]
    left, entries = p.stdout.strip().rsplit(" ", 1)
    assert left == "[]", f"files left in the scratch directories: {left}"
    if host == "rust":
        assert entries == "0"  # in-memory calls cross in memory: no scratch directory at all


@pytest.mark.parametrize("backend", [b for b in BACKENDS if is_wasm(b)])
def test_similarity_keeps_the_callers_limits(backend: str) -> None:
    a = np.ones((2000, 64), dtype=np.float32)
    with pytest.raises(LimitError):  # a 2000 x 2000 matrix and its inputs do not fit in 16 MiB
        similarity(a, a, backend=backend, limits=Limits(memory_bytes=16 << 20))
    assert similarity(a[:2], a[:3], backend=backend, limits=Limits(memory_bytes=16 << 20)).shape == (2, 3)
