"""Interop with the xdelta3 command-line tool, both ways, on every backend."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oms_accel import DeltaEncoder, DeltaError
from oms_accel.samples import document, edit

OLD = document(200_000, seed=21)
NEW = edit(OLD, 0.02, seed=22)
BIG_OLD = document(20 << 20, seed=23)  # several 8 MiB windows, xdelta3 too
BIG_NEW = edit(BIG_OLD, 0.005, seed=24)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("old", "new"),
    [(OLD, NEW), (b"", NEW), (OLD, b""), (BIG_OLD, BIG_NEW)],
    ids=["doc", "no-source", "empty", "20MiB"],
)
def test_xdelta3_decodes_ours(encoder: DeltaEncoder, xdelta3: str, tmp_path: Path, old: bytes, new: bytes) -> None:
    o = write(tmp_path / "old", old)
    d = write(tmp_path / "delta", encoder.encode(old, new))
    out = tmp_path / "out"
    subprocess.run(
        [xdelta3, "-d", "-f", "-s", str(o), str(d), str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == new


XDELTA3_CASES = {
    "doc": (["-S", "none"], OLD, NEW),
    "doc-9": (["-S", "none", "-9"], OLD, NEW),
    "doc-no-appheader": (["-S", "none", "-A"], OLD, NEW),
    "doc-no-checksum": (["-S", "none", "-n"], OLD, NEW),
    "doc-16KiB-windows": (["-S", "none", "-W", "16384"], OLD, NEW),
    "no-source": (["-S", "none"], b"", NEW),
    "20MiB": (["-S", "none"], BIG_OLD, BIG_NEW),
    "20MiB-9": (["-S", "none", "-9"], BIG_OLD, BIG_NEW),
}


@pytest.mark.parametrize("case", XDELTA3_CASES)
def test_we_decode_xdelta3(encoder: DeltaEncoder, xdelta3: str, tmp_path: Path, case: str) -> None:
    flags, old, new = XDELTA3_CASES[case]
    o = write(tmp_path / "old", old)
    n = write(tmp_path / "new", new)
    d = tmp_path / "delta"
    subprocess.run(
        [xdelta3, "-e", "-f", *flags, "-s", str(o), str(n), str(d)],
        check=True,
        capture_output=True,
    )
    assert encoder.decode(old, d.read_bytes()) == new


def test_secondary_compression_is_a_clear_error(encoder: DeltaEncoder, xdelta3: str, tmp_path: Path) -> None:
    o = write(tmp_path / "old", OLD)
    n = write(tmp_path / "new", document(100_000, seed=99))
    d = tmp_path / "delta"
    subprocess.run(
        [xdelta3, "-e", "-f", "-S", "djw", "-s", str(o), str(n), str(d)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(DeltaError, match="secondary compression") as e:
        encoder.decode(OLD, d.read_bytes())
    assert e.value.code == "unsupported"
