"""Round trips, cross-backend decoding and bytes-like inputs."""

from __future__ import annotations

import array
import mmap
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms_accel import AccelError, DeltaEncoder, detect_format
from oms_accel.samples import document, edit

from ..conftest import ENCODERS, make

DOC = document(300_000, seed=3)
CASES = {
    "empty-empty": (b"", b""),
    "empty-old": (b"", DOC[:5000]),
    "empty-new": (DOC[:5000], b""),
    "identical": (DOC, DOC),
    "edited": (DOC, edit(DOC, 0.01, seed=4)),
    "prefix": (DOC, DOC[:1000]),
    "suffix": (DOC[1000:], DOC),
    "unrelated": (os.urandom(20_000), os.urandom(20_000)),
    "runs": (b"\0" * 100_000, b"\0" * 50_000 + b"\1" * 50_000),
}


@pytest.mark.parametrize("case", CASES)
def test_round_trip(encoder: DeltaEncoder, case: str) -> None:
    old, new = CASES[case]
    delta = encoder.encode(old, new)
    assert detect_format(delta) == ("zstd" if encoder.method == "zstd" else "vcdiff")
    assert encoder.decode(old, delta) == new


def test_small_edits_give_small_deltas(encoder: DeltaEncoder) -> None:
    old, new = CASES["edited"]
    assert len(encoder.encode(old, new)) < 0.03 * len(new)
    assert len(encoder.encode(old, old)) < 100


@pytest.mark.parametrize("decoder", ENCODERS, ids=[f"by-{b}-{m}" for b, m in ENCODERS])
@pytest.mark.parametrize("case", ["edited", "unrelated", "empty-old", "empty-new", "runs"])
def test_every_backend_decodes_every_other(encoder: DeltaEncoder, decoder: tuple[str, str], case: str) -> None:
    # decode() recognizes the format, so any encoder decodes any delta.
    old, new = CASES[case]
    delta = encoder.encode(old, new)
    assert make(decoder).decode(old, delta) == new


def test_many_windows(pair: tuple[str, str]) -> None:
    old = document(1_000_000, seed=9)
    new = edit(old, 0.01, seed=10)
    delta = make(pair, window_size=64 * 1024).encode(old, new)
    for other in ENCODERS:
        assert make(other).decode(old, delta) == new


def test_any_bytes_like_input(encoder: DeltaEncoder, tmp_path: os.PathLike[str]) -> None:
    old, new = CASES["edited"]
    path = os.path.join(tmp_path, "old")
    with open(path, "wb") as f:
        f.write(old)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        delta = encoder.encode(mm, bytearray(new))
        assert encoder.decode(mm, memoryview(delta)) == new
    words = array.array("I", range(1000))
    delta = encoder.encode(b"", words)
    assert encoder.decode(b"", delta) == words.tobytes()


versions = st.binary(max_size=2000)
edits = st.lists(
    st.tuples(
        st.integers(0, 1999),
        st.sampled_from(["set", "insert", "delete", "append"]),
        st.binary(min_size=1, max_size=50),
    )
)


def apply_edits(old: bytes, ops: list[tuple[int, str, bytes]]) -> bytes:
    new = bytearray(old)
    for at, kind, data in ops:
        at = at % (len(new) + 1)
        if kind == "set":
            new[at : at + len(data)] = data
        elif kind == "insert":
            new[at:at] = data
        elif kind == "delete":
            del new[at : at + len(data)]
        else:
            new += old[: len(data) * 10]
    return bytes(new)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(old=versions, ops=edits)
def test_hypothesis_round_trip_across_backends(encoder: DeltaEncoder, old: bytes, ops: list[tuple[int, str, bytes]]) -> None:
    new = apply_edits(old, ops)
    delta = encoder.encode(old, new)
    for other in ENCODERS:
        assert make(other).decode(old, delta) == new


def test_scratch_files_written_at_once_arrive_whole_or_raise(tmp_path: Path) -> None:
    """encode writes its two inputs on two threads: both land, and a failed
    write on the helper thread is raised in the caller's."""
    from oms_accel._wasm.bindings import PARALLEL_WRITE_MIN, _write_all

    a, b = b"a" * PARALLEL_WRITE_MIN, b"b" * (PARALLEL_WRITE_MIN + 1)
    _write_all([(str(tmp_path / "a"), a), (str(tmp_path / "b"), b)])
    assert (tmp_path / "a").read_bytes() == a and (tmp_path / "b").read_bytes() == b
    with pytest.raises(AccelError) as e:  # (a typed error: the scratch filesystem failed)
        _write_all([(str(tmp_path / "a"), a), (str(tmp_path / "missing" / "b"), b)])
    assert e.value.code == "io"
