"""Scratch files (the wasmtime-py host's way across the sandbox wall) that
cannot fill a small tmpfs or outlive the process that made them."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oms_accel import AccelError
from oms_accel._wasm import bindings
from oms_accel._wasm import component as comp

from ..conftest import WASM_HOSTS

pytestmark = pytest.mark.skipif("wasmtime-py" not in WASM_HOSTS, reason="the wasmtime-py host does not load here")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_scratch_of_a_dead_process_is_removed_at_start_up(tmp_path: Path) -> None:
    dead = tmp_path / f"oms-accel-{_dead_pid()}-abcd"
    dead.mkdir()
    (dead / "old").write_bytes(b"a copy of someone's input" * 1000)
    alive = tmp_path / f"oms-accel-{os.getpid()}-efgh"  # this test process: alive
    alive.mkdir()
    other = tmp_path / "unrelated"
    other.mkdir()
    env = dict(os.environ, OMS_ACCEL_SCRATCH_DIR=str(tmp_path))
    code = (
        "from oms_accel import DeltaEncoder\n"
        "assert DeltaEncoder('wasm/wasmtime-py').decode(b'', DeltaEncoder('python').encode(b'', b'x')) == b'x'\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert not dead.exists() and alive.exists() and other.exists()
    # The child's own scratch went with it, and nothing of its inputs is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, "unrelated"])


def test_a_small_tmpfs_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(comp.ENV_SCRATCH, raising=False)
    monkeypatch.setattr(comp, "TMPFS", str(tmp_path))
    monkeypatch.setattr(comp, "TMPFS_MIN_FREE", 1)
    assert comp.scratch_base() == str(tmp_path)
    monkeypatch.setattr(comp, "TMPFS_MIN_FREE", 1 << 62)  # more room than any tmpfs has
    assert comp.scratch_base() != str(tmp_path)


def test_a_full_scratch_filesystem_is_a_typed_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def full(*args: object, **kw: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bindings, "open", full, raising=False)
    with pytest.raises(AccelError) as e:
        bindings._write(str(tmp_path / "x" / "old"), b"data")
    assert e.value.code == "io" and "No space left" in str(e.value) and comp.ENV_SCRATCH in str(e.value)
