"""Interop with the xdelta3 command-line tool, both ways, on every backend."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oms_accel import DeltaEncoder, DeltaError
from oms_accel.samples import document, edit

from ..conftest import make, with_hosts

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
def test_xdelta3_decodes_ours(vcdiff_encoder: DeltaEncoder, xdelta3: str, tmp_path: Path, old: bytes, new: bytes) -> None:
    o = write(tmp_path / "old", old)
    d = write(tmp_path / "delta", vcdiff_encoder.encode(old, new))
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
def test_we_decode_xdelta3(pair: tuple[str, str], xdelta3: str, tmp_path: Path, case: str) -> None:
    flags, old, new = XDELTA3_CASES[case]
    o = write(tmp_path / "old", old)
    n = write(tmp_path / "new", new)
    d = tmp_path / "delta"
    subprocess.run(
        [xdelta3, "-e", "-f", *flags, "-s", str(o), str(n), str(d)],
        check=True,
        capture_output=True,
    )
    # `-n` leaves the windows without a checksum: decoded only when told (test_verify).
    verify = "-n" not in flags
    assert make(pair, verify=verify).decode(old, d.read_bytes()) == new


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


# --- zstd patch-from and the xdelta3 library (native module) ---------------------------

ZSTD_CASES = {"doc": (OLD, NEW), "no-source": (b"", NEW), "20MiB": (BIG_OLD, BIG_NEW)}


@pytest.mark.parametrize("case", ZSTD_CASES)
def test_zstd_tool_decodes_ours(zstd_tool: str, tmp_path: Path, case: str) -> None:
    old, new = ZSTD_CASES[case]
    o = write(tmp_path / "old", old)
    d = write(tmp_path / "delta.zst", DeltaEncoder("native", method="zstd").encode(old, new))
    out = tmp_path / "out"
    subprocess.run([zstd_tool, "-q", "-d", "-f", f"--patch-from={o}", str(d), "-o", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == new


# The tool refuses an empty --patch-from file; -19 on 20 MiB takes the tool 12 s.
@pytest.mark.parametrize(("case", "level"), [("doc", "-3"), ("doc", "-19"), ("20MiB", "-3")])
def test_we_decode_the_zstd_tool(encoder: DeltaEncoder, zstd_tool: str, tmp_path: Path, case: str, level: str) -> None:
    old, new = ZSTD_CASES[case]
    o = write(tmp_path / "old", old)
    n = write(tmp_path / "new", new)
    d = tmp_path / "delta.zst"
    subprocess.run([zstd_tool, "-q", "-f", level, f"--patch-from={o}", str(n), "-o", str(d)], check=True, capture_output=True)
    assert encoder.decode(old, d.read_bytes()) == new  # any encoder: the format is detected


@pytest.mark.parametrize("maker", with_hosts(["wasm", "python"]))
def test_xdelta3_library_decodes_the_portable_codecs(maker: str) -> None:
    from oms_accel import _native

    delta = DeltaEncoder(maker, method="vcdiff").encode(OLD, NEW)
    assert _native.xdelta3_decode(OLD, delta, len(NEW)) == NEW


@pytest.mark.parametrize("reader", with_hosts(["wasm", "python"]))
def test_portable_codecs_decode_the_xdelta3_library(reader: str, xdelta3: str, tmp_path: Path) -> None:
    delta = DeltaEncoder("native", method="xdelta3").encode(OLD, NEW)
    assert DeltaEncoder(reader, method="vcdiff").decode(OLD, delta) == NEW
    o, d, out = write(tmp_path / "old", OLD), write(tmp_path / "d", delta), tmp_path / "out"
    subprocess.run([xdelta3, "-d", "-f", "-s", str(o), str(d), str(out)], check=True, capture_output=True)
    assert out.read_bytes() == NEW
