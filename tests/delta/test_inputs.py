"""Inputs as users pass them: a symlink to a file elsewhere, a pipe such as
``<(...)``, standard input. Each is read as a Unix tool would read it, on
every backend and host (a pipe was once read as an empty file, and a
symlink refused by the sandbox)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import oms_accel.delta
from oms_accel import DeltaEncoder, JsonProcessor, backends
from oms_accel.samples import document, edit

from ..conftest import with_hosts

OLD = document(300_000, seed=61)
NEW = edit(OLD, 0.01, seed=62)
BACKENDS = with_hosts(backends.loaded(oms_accel.delta.SUPPORTED_BACKENDS))
OMS_ACCEL = str(Path(sys.executable).parent / "oms-accel")


def fifo(tmp_path: Path, name: str, data: bytes) -> Path:
    """A named pipe that a thread fills with `data` once it is opened."""
    path = tmp_path / name
    os.mkfifo(path)

    def feed() -> None:
        with open(path, "wb") as f:
            f.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return path


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_symlink_to_a_file_elsewhere(backend: str, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "old").write_bytes(OLD)
    (tmp_path / "new").write_bytes(NEW)
    (tmp_path / "old-link").symlink_to(tmp_path / "elsewhere" / "old")
    enc = DeltaEncoder(backend)
    enc.encode_file(tmp_path / "old-link", tmp_path / "new", tmp_path / "delta")
    enc.decode_file(tmp_path / "old-link", tmp_path / "delta", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == NEW


@pytest.mark.parametrize("backend", BACKENDS)
def test_pipes_are_read_not_taken_for_empty_files(backend: str, tmp_path: Path) -> None:
    (tmp_path / "old").write_bytes(OLD)
    enc = DeltaEncoder(backend)
    size = enc.encode_file(tmp_path / "old", fifo(tmp_path, "new-pipe", NEW), tmp_path / "delta")
    assert size < len(NEW) // 10  # a real delta, not a full copy of an "empty" old version
    enc.decode_file(fifo(tmp_path, "old-pipe", OLD), fifo(tmp_path, "delta-pipe", (tmp_path / "delta").read_bytes()), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == NEW


def test_standard_input_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "old").write_bytes(OLD)
    (tmp_path / "new").write_bytes(NEW)
    enc = [OMS_ACCEL, "delta", "encode", str(tmp_path / "old"), "-", "-o", str(tmp_path / "delta")]
    done = subprocess.run(enc, input=NEW, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    dec = [OMS_ACCEL, "delta", "decode", str(tmp_path / "old"), "-", "-o", "-"]
    done = subprocess.run(dec, input=(tmp_path / "delta").read_bytes(), capture_output=True, check=False)
    assert (done.returncode, done.stdout) == (0, NEW), done.stderr
    (tmp_path / "s.json").write_text('{"properties": {"a": {"type": "integer"}}}')
    nd = [OMS_ACCEL, "json", "ndjson", "-", "-s", str(tmp_path / "s.json")]
    done = subprocess.run(nd, input=b'{"a": 1}\n{"a": "x"}\nnot json\n', capture_output=True, check=False)
    assert done.returncode == 1
    assert [line.split(b",")[0] for line in done.stdout.splitlines()] == [b'{"line": 2', b'{"line": 3']


@pytest.mark.parametrize("backend", with_hosts(["wasm", "python"]))
def test_ndjson_from_a_pipe(backend: str, tmp_path: Path) -> None:
    records = list(JsonProcessor(backend).iter_ndjson(fifo(tmp_path, "nd", b'{"a": 1}\n\n[2]\n'), fields=["/a"]))
    assert [(r.line, r.fields) for r in records] == [(1, {"/a": 1}), (3, {"/a": None})]
