"""No silent wrong output: a delta that carries nothing to check its output
by (a VCDIFF window without its Adler-32, a zstd frame without its content
checksum) is refused unless the caller turns verification off, on every
backend and host, in memory, from files and on the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oms_accel import DeltaEncoder, DeltaError
from oms_accel.samples import document, edit

from ..conftest import make, with_hosts

OLD = document(60_000, seed=41)
NEW = edit(OLD, 0.02, seed=42)
#: The command line tool, as installed beside this interpreter.
OMS_ACCEL = [str(Path(sys.executable).parent / "oms-accel")]
#: The old version with one byte changed where the deltas copy from it.
WRONG_OLD = OLD[:30_000] + bytes([OLD[30_000] ^ 0x20]) + OLD[30_001:]


@pytest.fixture(params=["ours", "xdelta3-n", "zstd-no-check"])
def unverifiable(request: pytest.FixtureRequest, tmp_path: Path, xdelta3: str, zstd_tool: str) -> bytes:
    """A delta from OLD to NEW with no checksum in it, made three ways."""
    if request.param == "ours":
        return DeltaEncoder("python", checksum=False).encode(OLD, NEW)
    o, n, d = tmp_path / "old", tmp_path / "new", tmp_path / "delta"
    o.write_bytes(OLD)
    n.write_bytes(NEW)
    if request.param == "xdelta3-n":
        cmd = [xdelta3, "-e", "-f", "-S", "none", "-n", "-s", str(o), str(n), str(d)]
    else:
        cmd = [zstd_tool, "-q", "-f", "--no-check", f"--patch-from={o}", str(n), "-o", str(d)]
    subprocess.run(cmd, check=True, capture_output=True)
    return d.read_bytes()


def test_an_unverifiable_delta_is_refused_by_default(pair: tuple[str, str], unverifiable: bytes) -> None:
    for old in (OLD, WRONG_OLD):
        with pytest.raises(DeltaError, match="no checksum") as e:
            make(pair).decode(old, unverifiable)
        assert e.value.code == "unverified"


def test_verify_false_decodes_it_and_the_caller_owns_the_risk(pair: tuple[str, str], unverifiable: bytes) -> None:
    enc = make(pair, verify=False)
    assert enc.decode(OLD, unverifiable) == NEW
    if unverifiable[:3] == b"\xd6\xc3\xc4":
        # What verification is for: nothing in the delta notices the wrong source.
        assert enc.decode(WRONG_OLD, unverifiable) != NEW


def test_a_verified_delta_still_catches_the_wrong_source(pair: tuple[str, str]) -> None:
    delta = make(pair).encode(OLD, NEW)
    with pytest.raises(DeltaError) as e:
        make(pair).decode(WRONG_OLD, delta)
    assert e.value.code in ("checksum-mismatch", "corrupt")


@pytest.mark.parametrize("backend", with_hosts(["wasm", "python"]))
def test_file_decode_refuses_it_and_writes_nothing(backend: str, tmp_path: Path) -> None:
    o, d, out = tmp_path / "old", tmp_path / "delta", tmp_path / "out"
    o.write_bytes(OLD)
    d.write_bytes(DeltaEncoder("python", checksum=False).encode(OLD, NEW))
    with pytest.raises(DeltaError) as e:
        DeltaEncoder(backend).decode_file(o, d, out)
    assert e.value.code == "unverified"
    assert not out.exists()
    assert DeltaEncoder(backend, verify=False).decode_file(o, d, out) == len(NEW)
    assert out.read_bytes() == NEW


def test_cli_refuses_it_unless_told(tmp_path: Path) -> None:
    o, d, out = tmp_path / "old", tmp_path / "delta", tmp_path / "out"
    o.write_bytes(OLD)
    d.write_bytes(DeltaEncoder("python", checksum=False).encode(OLD, NEW))
    cli = [*OMS_ACCEL, "delta", "decode", str(o), str(d), "-o", str(out)]
    refused = subprocess.run(cli, check=False, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "no checksum" in refused.stderr and "--no-verify" in refused.stderr
    assert not out.exists()
    done = subprocess.run([*cli, "--no-verify"], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == NEW
