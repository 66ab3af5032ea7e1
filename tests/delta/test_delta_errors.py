"""Bad input gives a typed error on every backend, never a crash or wrong output."""

from __future__ import annotations

import mmap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms_accel import AccelArgumentError, DeltaEncoder, DeltaError, LimitError, Limits, backends
from oms_accel.delta import VCDIFF_BACKENDS
from oms_accel.samples import document, edit

from ..conftest import EDITS, damaged, make, with_hosts

OLD = document(50_000, seed=31)
NEW = edit(OLD, 0.02, seed=32)


@pytest.fixture
def delta(encoder: DeltaEncoder) -> bytes:
    return encoder.encode(OLD, NEW)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "truncated"),
        (b"\xd6\xc3", "truncated"),
        (b"\x28\xb5", "truncated"),
        (b"not a delta at all", "corrupt"),
        (b"\x28\xb5\x2f\xfd\x20", "truncated"),  # a zstd frame header cut short
        (b"\x28\xb5\x2f\xfd\x00\x00", "unsupported"),  # a zstd frame that does not record its size
        (b"\x28\xb5\x2f\xfd\x24\x05\x29\x00\x00\xff\xff", "corrupt"),  # a zstd frame with a bad block
        (b"\xd6\xc3\xc4\x01\x00", "unsupported"),  # VCDIFF version 1
        (b"\xd6\xc3\xc4\x00\x02", "unsupported"),  # custom code table
        (b"\xd6\xc3\xc4\x00\x00", "truncated"),  # a header and no window
        (b"\xd6\xc3\xc4\x00\x00\x08", "corrupt"),  # unknown window bits
    ],
)
def test_malformed_deltas(encoder: DeltaEncoder, data: bytes, code: str) -> None:
    with pytest.raises(DeltaError) as e:
        encoder.decode(OLD, data)
    if encoder.method != "xdelta3" or data[:3] != b"\xd6\xc3\xc4":
        assert e.value.code == code
    # The xdelta3 library reports every bad VCDIFF the same way.


def test_every_truncation_is_detected(encoder: DeltaEncoder, delta: bytes) -> None:
    for cut in range(len(delta)):
        with pytest.raises(DeltaError):
            encoder.decode(OLD, delta[:cut])


def test_wrong_source(encoder: DeltaEncoder, delta: bytes) -> None:
    precise = encoder.method != "zstd"  # zstd says only "corrupt"
    with pytest.raises(DeltaError) as e:
        encoder.decode(OLD[:1000], delta)
    assert e.value.code == ("wrong-source" if precise else "corrupt")
    other = bytearray(OLD)
    other[20_000] ^= 0x20
    with pytest.raises(DeltaError) as e:
        encoder.decode(bytes(other), delta)
    assert e.value.code == ("checksum-mismatch" if precise else "corrupt")


def test_hostile_window_size_is_refused_before_allocating(
    encoder: DeltaEncoder,
) -> None:
    # One window announcing a 2^40-byte target.
    hostile = b"\xd6\xc3\xc4\x00\x00" + b"\x00\x0a\xa0\x80\x80\x80\x80\x00" + b"\x00\x00\x00\x00"
    with pytest.raises(DeltaError, match="exceeds"):
        encoder.decode(b"", hostile)


def test_output_cap(pair: tuple[str, str]) -> None:
    new = b"x" * 100_000
    delta = make(pair).encode(b"", new)
    with pytest.raises(LimitError) as e:
        make(pair, limits=Limits(max_output_bytes=99_999)).decode(b"", delta)
    assert e.value.code == "limit-exceeded"
    assert make(pair, limits=Limits(max_output_bytes=100_000)).decode(b"", delta) == new


def test_a_callers_mmap_closes_after_a_failed_call(encoder: DeltaEncoder, tmp_path: Path) -> None:
    path = tmp_path / "old"
    path.write_bytes(OLD)
    with open(path, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            encoder.decode(m, b"\xd6\xc3\xc4\x00\x00garbage")
        except DeltaError:
            m.close()  # no view of ours still holds it, even with the traceback alive
        assert m.closed


def test_non_bytes_input(encoder: DeltaEncoder) -> None:
    with pytest.raises(AccelArgumentError, match="not str"):
        encoder.encode("text", b"")  # type: ignore[arg-type]
    with pytest.raises(AccelArgumentError, match="bytes-like"):
        encoder.decode(b"", 12345)  # type: ignore[arg-type]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=8))
def test_bit_flips_never_give_wrong_output_silently(encoder: DeltaEncoder, delta: bytes, flips: list[tuple[int, int]]) -> None:
    bad = bytearray(delta)
    for at, mask in flips:
        bad[at % len(bad)] ^= mask
    try:
        out = encoder.decode(OLD, bytes(bad))
    except DeltaError:
        return
    # A flip the format cannot see (in a byte the decoder ignores, such as
    # our own length header's digits when they still match) must still decode right.
    assert out == NEW


# --- every VCDIFF reader reports a damaged delta the same way --------------------------

_READERS = with_hosts(backends.loaded(VCDIFF_BACKENDS))
_DAMAGEABLE = [
    DeltaEncoder("python").encode(OLD, NEW),
    DeltaEncoder("python", window_size=4096).encode(OLD, NEW),
    DeltaEncoder("python").encode(b"", NEW[:3000]),
]


def _report(backend: str, delta: bytes) -> tuple[str, str | None, str]:
    try:
        return ("ok", None, "right" if DeltaEncoder(backend).decode(OLD, delta) == NEW else "other")
    except DeltaError as e:
        return ("DeltaError", e.code, str(e))
    except LimitError as e:
        return ("LimitError", e.code, str(e))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(range(len(_DAMAGEABLE))),
    EDITS,
)
def test_damaged_deltas_get_the_same_error_from_every_reader(which: int, edits: list[tuple[int, int, int]]) -> None:
    """Code, type and message, whichever reader decodes (wasm on each host, python)."""
    bad = damaged(_DAMAGEABLE[which], edits)
    seen = {r: _report(r, bad) for r in _READERS}
    assert len(set(seen.values())) == 1, seen
