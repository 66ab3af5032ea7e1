"""oms_accel.compress / decompress: zstd frames through the native module."""

from __future__ import annotations

import subprocess
import sys
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


#: 17 bytes: a zstd frame that announces 2,000,000,000 bytes of content
#: (single segment, 4-byte content size) and holds one raw block of 5.
HOSTILE_FRAME = b"\x28\xb5\x2f\xfd\xa0" + (2_000_000_000).to_bytes(4, "little") + b"\x29\x00\x00" + b"hello"

_PEAK_RSS = """
import resource, subprocess, sys
from pathlib import Path
from oms_accel import CompressionError, DeltaError, DeltaEncoder, decompress
frame = Path(sys.argv[1]).read_bytes()
old = b"old version" * 100
# One of our VCDIFF deltas (one window: no application header), given a
# length header that claims 2 GB.
vcdiff = DeltaEncoder("python").encode(old, b"new version" * 100)
app = b"oms-accel:len=2000000000"
assert vcdiff[4] == 0
vcdiff = vcdiff[:4] + bytes([4, len(app)]) + app + vcdiff[5:]
encoders = [DeltaEncoder("native", method="zstd")] + [DeltaEncoder(b) for b in ("native", "wasm", "python")]
for enc in encoders:  # loaded and warm (the component compiled) before measuring
    enc.decode(old, enc.encode(old, old))
calls = [lambda: decompress(frame), lambda: encoders[0].decode(old, frame)]
calls += [lambda enc=enc: enc.decode(old, vcdiff) for enc in encoders[1:]]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
errors = 0
for call in calls:
    try:
        call()
    except (CompressionError, DeltaError):
        errors += 1
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
exe = str(Path(sys.executable).with_name("oms-accel"))
cli = subprocess.run([exe, "delta", "decode", sys.argv[2], sys.argv[1], "-o", sys.argv[3]], capture_output=True)
print(errors, grown, cli.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_memory_follows_what_is_decoded_not_what_a_header_claims(tmp_path: Path) -> None:
    # Believing the 2 GB claim cost 1.9 GB of resident memory before zstd
    # found the frame corrupt; every backend's decode and the CLI must stay
    # small, for zstd frames and for VCDIFF deltas that announce a length.
    frame, old = tmp_path / "frame.zst", tmp_path / "old"
    frame.write_bytes(HOSTILE_FRAME)
    old.write_bytes(b"old version" * 100)
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(frame), str(old), str(tmp_path / "new")],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors, grown_kib, cli_rc, cli_peak_kib = map(int, out.stdout.split())
    assert errors == 5
    assert grown_kib < 64 << 10, f"the calls grew the process by {grown_kib >> 10} MiB"
    assert cli_rc == 1, out.stderr
    assert cli_peak_kib < 256 << 10, f"the CLI peaked at {cli_peak_kib >> 10} MiB"
    assert not (tmp_path / "new").exists()


def test_a_large_claim_that_holds_still_decodes() -> None:
    # Past the plausible ratio the output grows as it arrives: same bytes.
    data = b"\0" * 30_000_000 + b"end"
    assert decompress(compress(data)) == data
