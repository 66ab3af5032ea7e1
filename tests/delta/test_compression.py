"""oms_accel.compress / decompress: zstd frames through the native module."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oms_accel import AccelArgumentError, CompressionError, LimitError, compress, decompress
from oms_accel.samples import document

DOC = document(500_000, seed=71)


@pytest.mark.parametrize("level", [-5, 1, 3, 19])
@pytest.mark.parametrize("data", [b"", b"x", DOC, bytearray(DOC), memoryview(DOC)[1000:]], ids=["empty", "one", "doc", "bytearray", "view"])
def test_round_trip(data: bytes, level: int) -> None:
    frame = compress(data, level)
    assert frame[:4] == b"\x28\xb5\x2f\xfd"
    assert decompress(frame) == bytes(data)


def test_higher_levels_compress_more() -> None:
    assert len(compress(DOC, 19)) < len(compress(DOC, 1)) < len(DOC) / 3


def test_zstd_tool_reads_ours_and_we_read_its(zstd_tool: str, tmp_path: Path) -> None:
    (tmp_path / "ours.zst").write_bytes(compress(DOC))
    out = subprocess.run([zstd_tool, "-d", "-c", str(tmp_path / "ours.zst")], check=True, capture_output=True).stdout
    assert out == DOC
    (tmp_path / "doc").write_bytes(DOC)
    subprocess.run([zstd_tool, "-q", "-19", str(tmp_path / "doc"), "-o", str(tmp_path / "theirs.zst")], check=True)
    assert decompress((tmp_path / "theirs.zst").read_bytes()) == DOC


def test_output_cap() -> None:
    frame = compress(b"\0" * 10_000_000)
    assert len(frame) < 1000  # a small frame that expands 10,000x
    with pytest.raises(LimitError):
        decompress(frame, max_output_size=9_999_999)
    assert len(decompress(frame, max_output_size=10_000_000)) == 10_000_000


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"", "corrupt"),
        (b"not zstd", "corrupt"),
        (b"\x28\xb5\x2f\xfd\x20", "truncated"),
        (b"\x28\xb5\x2f\xfd\x00\x00", "unsupported"),  # content size not recorded
    ],
)
def test_bad_frames(frame: bytes, code: str) -> None:
    with pytest.raises(CompressionError) as e:
        decompress(frame)
    assert e.value.code == code


def test_every_truncation_and_bit_flip_is_an_error() -> None:
    frame = compress(DOC[:20_000])
    for cut in range(len(frame)):
        with pytest.raises((CompressionError, LimitError)):
            decompress(frame[:cut])
    for i in range(0, len(frame), 7):
        bad = bytearray(frame)
        bad[i] ^= 0x55
        try:
            out = decompress(bytes(bad))
        except (CompressionError, LimitError):
            continue
        assert out == DOC[:20_000]  # the checksum leaves no silent corruption


def test_trailing_data_is_refused() -> None:
    with pytest.raises(CompressionError, match="after the zstd frame"):
        decompress(compress(b"abc") + b"junk")


def test_bad_arguments() -> None:
    with pytest.raises(AccelArgumentError):
        compress(b"x", level=99)
    with pytest.raises(AccelArgumentError):
        decompress(compress(b"x"), max_window_log=40)
    with pytest.raises(AccelArgumentError, match="not str"):
        compress("text")
