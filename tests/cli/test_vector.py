"""`oms-accel vector build|search|info`: outputs and exit codes (0 ok, 2 usage
or unusable input) on every vector backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import oms_accel.vector
from oms_accel import VectorIndex, backends
from oms_accel.cli import main

from ..conftest import with_hosts

BACKENDS = with_hosts(backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS))


@pytest.fixture
def vectors(tmp_path: Path) -> np.ndarray:
    m = np.random.default_rng(3).standard_normal((300, 12)).astype("<f4")
    m.tofile(tmp_path / "v.f32")
    np.save(tmp_path / "v.npy", m)
    m[:4].tofile(tmp_path / "q.f32")
    return m


@pytest.mark.parametrize("backend", BACKENDS)
def test_build_search_info(tmp_path: Path, vectors: np.ndarray, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    idx = tmp_path / "v.idx"
    assert (
        main(["vector", "build", str(tmp_path / "v.f32"), "-d", "12", "-m", "l2", "-o", str(idx), "--backend", backend, "--progress"]) == 0
    )
    assert "300 vectors of dimension 12 (l2, f32)" in capsys.readouterr().err
    assert main(["vector", "info", str(idx)]) == 0
    assert json.loads(capsys.readouterr().out) == {"dim": 12, "metric": "l2", "dtype": "f32", "count": 300, "bytes": idx.stat().st_size}
    assert main(["vector", "search", str(idx), str(tmp_path / "q.f32"), "-k", "3", "--backend", backend]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = VectorIndex.load(idx, backend=backend).search_batch(vectors[:4], 3)
    assert [r["ids"] for r in lines] == [list(e[0]) for e in expected]
    assert [r["query"] for r in lines] == [0, 1, 2, 3] and lines[0]["ids"][0] == 0 and lines[0]["scores"][0] == 0.0
    # .npy in, a file out.
    out = tmp_path / "hits.jsonl"
    assert main(["vector", "build", str(tmp_path / "v.npy"), "--dtype", "f16", "-o", str(tmp_path / "h.idx"), "--backend", backend]) == 0
    assert main(["vector", "search", str(tmp_path / "h.idx"), str(tmp_path / "v.npy"), "-o", str(out), "--backend", backend]) == 0
    assert len(out.read_text().splitlines()) == 300


def test_unusable_input_exits_2(tmp_path: Path, vectors: np.ndarray, capsys: pytest.CaptureFixture[str]) -> None:
    f32, idx = str(tmp_path / "v.f32"), str(tmp_path / "v.idx")
    assert main(["vector", "build", f32, "-o", idx]) == 2
    assert "needs --dim" in capsys.readouterr().err
    assert main(["vector", "build", f32, "-d", "7", "-o", idx]) == 2
    assert "not whole vectors of 7" in capsys.readouterr().err
    assert not Path(idx).exists()
    bad = tmp_path / "nan.f32"
    np.full((2, 12), np.nan, dtype="<f4").tofile(bad)
    assert main(["vector", "build", str(bad), "-d", "12", "-o", idx]) == 2
    assert "non-finite" in capsys.readouterr().err and not Path(idx).exists()
    assert main(["vector", "build", f32, "-d", "12", "-o", idx]) == 0
    assert main(["vector", "search", idx, str(tmp_path / "missing.f32")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert main(["vector", "search", idx, str(tmp_path / "v.npy"), "-k", "0"]) == 2
    assert "k must be" in capsys.readouterr().err
    assert main(["vector", "info", f32]) == 2
    assert "bad magic" in capsys.readouterr().err


def test_build_to_standard_output_writes_the_index_there(tmp_path: Path, vectors: np.ndarray) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "oms-accel"
    done = subprocess.run(
        [exe, "vector", "build", tmp_path / "v.npy", "-o", "-", "--backend", "python"], cwd=tmp_path, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "-").exists()
    (tmp_path / "piped.idx").write_bytes(done.stdout)
    assert len(VectorIndex.load(tmp_path / "piped.idx")) == len(vectors)


@pytest.mark.parametrize(
    "options", [["--threads", "999999"], ["--threads", "0"], ["--dim", "0"], ["--timeout", "-1"], ["--timeout", "inf"]]
)
def test_bad_option_values_exit_2(tmp_path: Path, vectors: np.ndarray, options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["vector", "build", str(tmp_path / "v.f32"), "--dim", "12", "-o", str(tmp_path / "x.idx"), *options])
    assert rc == 2
    assert "must be" in capsys.readouterr().err
    assert not (tmp_path / "x.idx").exists()
