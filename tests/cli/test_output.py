"""`-o PATH` writes what a Unix tool would: a regular file replaced whole, a
symlink's target (the link stays), a device or FIFO written through."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from oms_accel.cli import main
from oms_accel.samples import document, edit


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path]:
    old = document(64 << 10, seed=3)
    (tmp_path / "old").write_bytes(old)
    (tmp_path / "new").write_bytes(edit(old, seed=4))
    return tmp_path / "old", tmp_path / "new"


def test_a_device_stays_a_device(versions: tuple[Path, Path]) -> None:
    assert main(["delta", "encode", str(versions[0]), str(versions[1]), "-o", "/dev/null", "-q"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_symlink_stays_and_its_target_is_written(versions: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "real.delta"
    target.write_bytes(b"old contents")
    link = tmp_path / "link.delta"
    link.symlink_to(target)
    assert main(["delta", "encode", str(versions[0]), str(versions[1]), "-o", str(link), "-q"]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert main(["delta", "decode", str(versions[0]), str(target), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert (tmp_path / "out").read_bytes() == versions[1].read_bytes()


def test_a_fifo_is_written_through(versions: tuple[Path, Path], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert main(["json", "query", str(_doc(tmp_path)), "/a", "-o", str(fifo)]) == 0
    reader.join(30)
    assert got == [b"[1, 2]\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def _doc(tmp_path: Path) -> Path:
    p = tmp_path / "doc.json"
    p.write_text('{"a": [1, 2]}')
    return p
