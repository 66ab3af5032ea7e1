"""The GPU path of batch searches (wgpu), run on whatever adapter set-up
provides: Mesa's lavapipe on a machine without a GPU. Set-up installs it, so
a missing adapter fails here rather than skipping."""

from __future__ import annotations

import numpy as np
import pytest

import oms_accel.vector
from oms_accel import VectorIndex, backends, gpu_adapter
from oms_accel.vector import _gpu as _vector_gpu

from ..conftest import with_hosts
from .test_vectors import METRICS, assert_matches, data, reference

BACKENDS = with_hosts(backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS))


def test_an_adapter_is_found() -> None:
    assert _vector_gpu.unavailable_reason() is None
    info = gpu_adapter()
    assert info is not None and info[2] == "Vulkan", info


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_gpu_batches_match_the_cpu_and_the_reference(backend: str, metric: str, dtype: str) -> None:
    m = data(2600, 20)  # three chunks of 1024 rows, the last one partial
    queries = np.vstack([m[3], m[7], np.random.default_rng(5).standard_normal((37, 20)).astype(np.float32)])
    gpu = VectorIndex(20, metric, dtype, backend, gpu=True)  # type: ignore[arg-type]
    cpu = VectorIndex(20, metric, dtype, backend, gpu=False)  # type: ignore[arg-type]
    gpu.add(m)
    cpu.add(m)
    for k in (1, 10, 50):
        on_gpu = gpu.search_batch(queries, k)
        assert gpu.last_batch_device == "gpu"
        on_cpu = cpu.search_batch(queries, k)
        assert cpu.last_batch_device == "cpu"
        for q, (ids, scores), (_, cpu_scores) in zip(queries, on_gpu, on_cpu, strict=True):
            assert ids.dtype == np.int64 and scores.dtype == np.float32
            np.testing.assert_allclose(scores, cpu_scores, rtol=1e-5, atol=1e-5)
            if dtype == "f32":
                assert_matches(ids, scores, *reference(m, q, metric, k))


def test_small_indexes_new_rows_and_custom_ids() -> None:
    index = VectorIndex(3, "l2", gpu=True)
    index.add([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], ids=[40, 30])
    ids, scores = index.search_batch([[1.0, 0.0, 0.0]], 10)[0]
    assert list(ids) == [30, 40] and index.last_batch_device == "gpu"
    np.testing.assert_allclose(scores, [0.0, np.sqrt(2)], rtol=1e-6)
    # Rows added later reach the device (the matrix is rebuilt).
    index.add([[1.0, 0.0, 0.0]], ids=[5])
    ids, _ = index.search_batch([[1.0, 0.0, 0.0]], 2)[0]
    assert list(ids) == [5, 30]  # a tie at distance 0, broken by id


def test_automatic_choice_leaves_a_cpu_renderer_alone() -> None:
    index = VectorIndex(8, "dot")
    index.add(data(100, 8))
    index.search_batch(data(4, 8), 3)
    real = _vector_gpu.is_real_gpu()
    assert index.last_batch_device == "cpu"  # too little work for any device
    assert real or gpu_adapter() is not None
    # Beyond the shader's limits the batch stays on the CPU, even when asked.
    max_dim, max_k = _vector_gpu.limits()
    wide = VectorIndex(max_dim + 1, "dot", gpu=True)
    wide.add(np.ones((2, max_dim + 1), dtype=np.float32))
    wide.search_batch(np.ones((1, max_dim + 1), dtype=np.float32), 1)
    assert wide.last_batch_device == "cpu"
    many = VectorIndex(4, "dot", gpu=True)
    many.add(data(10, 4))
    ids, _ = many.search_batch(data(1, 4), max_k + 1)[0]
    assert many.last_batch_device == "cpu" and len(ids) == 10


def test_asking_for_a_missing_gpu_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from oms_accel import BackendUnavailableError

    monkeypatch.setattr(_vector_gpu, "unavailable_reason", lambda: "no adapter here")
    with pytest.raises(BackendUnavailableError, match="no adapter here"):
        VectorIndex(4, gpu=True)
    index = VectorIndex(4)  # automatic: quietly on the CPU
    index.add(data(5, 4))
    index.search_batch(data(2, 4), 2)
    assert index.last_batch_device == "cpu"


def test_the_probe_prints_no_driver_noise() -> None:
    """Vulkan drivers print "XDG_RUNTIME_DIR is invalid" on a machine
    without a display; it is noise, kept off the caller's standard error."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from oms_accel import VectorIndex, gpu_adapter\n"
        "assert gpu_adapter() is not None\n"
        "i = VectorIndex(8, gpu=True); i.add(np.ones((50, 8), dtype=np.float32))\n"
        "i.search_batch(np.ones((2, 8), dtype=np.float32), 3); assert i.last_batch_device == 'gpu'\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "XDG_RUNTIME_DIR"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    assert "XDG_RUNTIME_DIR" not in p.stderr, p.stderr
