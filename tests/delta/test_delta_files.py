"""encode_file / decode_file: large inputs in place, progress, nothing partial on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from oms_accel import DeltaEncoder, DeltaError, LimitError, Limits
from oms_accel.samples import document, edit

from ..conftest import ENCODERS, make


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    d = tmp_path_factory.mktemp("versions")
    old = document(3 << 20, seed=51)
    new = edit(old, 0.01, seed=52)
    (d / "old.json").write_bytes(old)
    (d / "new.json").write_bytes(new)
    return d / "old.json", d / "new.json", new


def test_file_round_trip_with_progress(pair: tuple[str, str], versions: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    old, new, expected = versions
    backend = pair[0]
    enc = make(pair, window_size=1 << 20)
    seen: list[tuple[int, int]] = []
    size = enc.encode_file(
        old,
        new,
        tmp_path / "d.vcdiff",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert size == (tmp_path / "d.vcdiff").stat().st_size
    assert seen[-1] == (len(expected), len(expected))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    if backend.startswith("wasm"):
        assert len(seen) >= 3  # one report per 1 MiB window
    for other in ENCODERS:
        out = tmp_path / f"out-{other[0].replace('/', '-')}-{other[1]}"
        assert make(other).decode_file(old, tmp_path / "d.vcdiff", out) == len(expected)
        assert out.read_bytes() == expected


def test_files_in_the_same_and_in_different_directories(encoder: DeltaEncoder, versions: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    old, new, expected = versions
    (tmp_path / "sub").mkdir()
    copy = tmp_path / "sub" / "new copy (1).json"
    copy.write_bytes(new.read_bytes())
    enc = encoder
    enc.encode_file(old, copy, tmp_path / "d")
    enc.decode_file(old, tmp_path / "d", tmp_path / "sub" / "rebuilt")
    assert (tmp_path / "sub" / "rebuilt").read_bytes() == expected


def test_failure_leaves_no_output(encoder: DeltaEncoder, versions: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    old, _, _ = versions
    bad = tmp_path / "bad.vcdiff"
    bad.write_bytes(b"\xd6\xc3\xc4\x00\x00\x05\x00\x00")
    out = tmp_path / "out"
    with pytest.raises(DeltaError):
        encoder.decode_file(old, bad, out)
    assert list(tmp_path.iterdir()) == [bad]


def test_output_cap_on_files(pair: tuple[str, str], versions: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    old, new, _ = versions
    make(pair).encode_file(old, new, tmp_path / "d")
    with pytest.raises(LimitError):
        make(pair, limits=Limits(max_output_bytes=1 << 20)).decode_file(old, tmp_path / "d", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_existing_output_survives_a_failure(encoder: DeltaEncoder, versions: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    old, _, _ = versions
    out = tmp_path / "out"
    out.write_bytes(b"precious")
    (tmp_path / "bad").write_bytes(b"garbage")
    with pytest.raises(DeltaError):
        encoder.decode_file(old, tmp_path / "bad", out)
    assert out.read_bytes() == b"precious"


def test_missing_input_is_file_not_found(encoder: DeltaEncoder, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        encoder.encode_file(tmp_path / "nope", tmp_path / "nope", tmp_path / "out")
