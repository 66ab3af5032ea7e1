"""The oms-accel command: exit codes, outputs, errors, no partial files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oms_accel.cli import main
from oms_accel.samples import document, edit

from ..conftest import WASM_HOSTS, with_hosts

OLD = document(300_000, seed=61)
NEW = edit(OLD, 0.01, seed=62)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "old").write_bytes(OLD)
    (tmp_path / "new").write_bytes(NEW)
    return tmp_path


def cli(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    exe = os.path.join(os.path.dirname(sys.executable), "oms-accel")
    return subprocess.run([exe, *args], check=False, capture_output=True, stdin=subprocess.DEVNULL, **kw)  # type: ignore[call-overload, no-any-return]


@pytest.mark.parametrize("backend", with_hosts(["native", "wasm", "python"]))
def test_encode_decode_round_trip(files: Path, backend: str) -> None:
    assert (
        main(
            [
                "delta",
                "encode",
                str(files / "old"),
                str(files / "new"),
                "-o",
                str(files / "d"),
                "--backend",
                backend,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "delta",
                "decode",
                str(files / "old"),
                str(files / "d"),
                "-o",
                str(files / "out"),
                "--backend",
                backend,
            ]
        )
        == 0
    )
    assert (files / "out").read_bytes() == NEW


@pytest.mark.parametrize("backend", with_hosts(["wasm"]))
def test_timeout_none_is_no_time_limit(files: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--backend", backend, "--timeout"]
    assert main(["delta", "encode", str(files / "old"), str(files / "new"), "-o", str(files / "d"), *common, "none"]) == 0
    assert main(["delta", "decode", str(files / "old"), str(files / "d"), "-o", str(files / "out"), *common, "None"]) == 0
    assert (files / "out").read_bytes() == NEW
    with pytest.raises(SystemExit) as e:
        main(["delta", "decode", str(files / "old"), str(files / "d"), "-o", str(files / "x"), *common, "never"])
    assert e.value.code == 2
    assert "expected seconds or 'none'" in capsys.readouterr().err
    assert not (files / "x").exists()


@pytest.mark.parametrize(
    ("method", "magic"),
    [("auto", b"\x28\xb5\x2f\xfd"), ("zstd", b"\x28\xb5\x2f\xfd"), ("vcdiff", b"\xd6\xc3\xc4"), ("xdelta3", b"\xd6\xc3\xc4")],
)
def test_standard_output_and_methods(files: Path, method: str, magic: bytes) -> None:
    r = cli("delta", "encode", str(files / "old"), str(files / "new"), "-o", "-", "--method", method)
    assert r.returncode == 0 and r.stdout.startswith(magic)
    (files / "d").write_bytes(r.stdout)
    r = cli("delta", "decode", str(files / "old"), str(files / "d"), "-o", "-")
    assert r.returncode == 0 and r.stdout == NEW


def test_corrupt_delta_exits_1_and_writes_nothing(files: Path) -> None:
    (files / "bad").write_bytes(b"\xd6\xc3\xc4\x00\x00garbage")
    r = cli(
        "delta",
        "decode",
        str(files / "old"),
        str(files / "bad"),
        "-o",
        str(files / "out"),
    )
    assert r.returncode == 1
    assert b"oms-accel: error:" in r.stderr
    assert not (files / "out").exists()
    assert sorted(p.name for p in files.iterdir()) == ["bad", "new", "old"]


def test_wrong_source_says_so(files: Path) -> None:
    assert (
        main(
            [
                "delta",
                "encode",
                str(files / "old"),
                str(files / "new"),
                "-o",
                str(files / "d"),
            ]
        )
        == 0
    )
    (files / "other").write_bytes(OLD[:100])
    r = cli(
        "delta",
        "decode",
        str(files / "other"),
        str(files / "d"),
        "-o",
        str(files / "out"),
    )
    assert r.returncode == 1 and b"wrong source" in r.stderr


def test_missing_file_exits_2(files: Path) -> None:
    r = cli(
        "delta",
        "encode",
        str(files / "nope"),
        str(files / "new"),
        "-o",
        str(files / "d"),
    )
    assert r.returncode == 2
    assert b"nope" in r.stderr and b"No such file" in r.stderr
    assert not (files / "d").exists()


def test_usage_errors_exit_2() -> None:
    assert cli("delta", "encode", "only-one-arg").returncode == 2
    assert cli("frobnicate").returncode == 2
    assert cli("delta", "decode", "a", "b", "-o", "c", "--backend", "gpu").returncode == 2


def test_output_cap(files: Path) -> None:
    assert (
        main(
            [
                "delta",
                "encode",
                str(files / "old"),
                str(files / "new"),
                "-o",
                str(files / "d"),
            ]
        )
        == 0
    )
    r = cli(
        "delta",
        "decode",
        str(files / "old"),
        str(files / "d"),
        "-o",
        str(files / "out"),
        "--max-output",
        "1000",
    )
    assert r.returncode == 1 and b"limit" in r.stderr
    assert not (files / "out").exists()


def test_progress_bar_on_request(files: Path) -> None:
    r = cli(
        "delta",
        "encode",
        str(files / "old"),
        str(files / "new"),
        "-o",
        str(files / "d"),
        "--progress",
    )
    assert r.returncode == 0
    assert b"encode" in r.stderr and b"%" in r.stderr
    r = cli(
        "delta",
        "encode",
        str(files / "old"),
        str(files / "new"),
        "-o",
        str(files / "d"),
        "-q",
    )
    assert r.returncode == 0 and r.stderr == b""


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backends"]["wasm"] == "available"
    assert info["wasm_hosts"] == {h: "available" for h in ("rust", "wasmtime-py")}
    assert info["wasm_host"] == WASM_HOSTS[0] == "rust"
    assert info["wasmtime_py"].startswith("50.")
    assert len(info["component_sha256"]) == 64
    assert main(["info"]) == 0
    assert "cache_dir" in capsys.readouterr().out


def test_tour_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", "--size", "200000", "--versions", "3"]) == 0
    out = capsys.readouterr().out
    assert "wasm" in out and "python" in out
    assert "byte for byte" in out
