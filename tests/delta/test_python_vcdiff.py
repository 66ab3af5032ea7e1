"""The pure-Python VCDIFF encoder: opcodes come from the code table itself,
and a memory-mapped input is read in place, not copied."""

from __future__ import annotations

import mmap
import tracemalloc
from pathlib import Path

from oms_accel import DeltaEncoder
from oms_accel.delta import _vcdiff


def test_opcodes_are_the_code_tables() -> None:
    for op, (first, second) in enumerate(_vcdiff.TABLE):
        if second[0] == _vcdiff.NOOP:
            assert _vcdiff._SINGLE[first] == op
        else:
            assert _vcdiff._PAIR[(first, second)] == op
    out = bytearray()
    _vcdiff._push(out, _vcdiff.COPY, 18, 3)
    assert _vcdiff.TABLE[out[0]][0] == (_vcdiff.COPY, 18, 3) and len(out) == 1
    out = bytearray()
    _vcdiff._push(out, _vcdiff.ADD, 100, 0)
    assert _vcdiff.TABLE[out[0]][0] == (_vcdiff.ADD, 0, 0) and out[1:] == bytes([100])


def test_a_memory_map_is_encoded_in_place(tmp_path: Path) -> None:
    size = 8 << 20
    (tmp_path / "old").write_bytes(b"0123456789abcdef" * (size // 16))
    (tmp_path / "new").write_bytes(b"0123456789abcdef" * (size // 16 - 1) + b"changed at end!!")
    tracemalloc.start()
    try:
        DeltaEncoder("python").encode_file(tmp_path / "old", tmp_path / "new", tmp_path / "delta")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One 8 MiB window of the new version is sliced out, and the index of the
    # old version takes 8 bytes a position; neither input is copied whole.
    index = size // _vcdiff.STRIDE * 8
    assert peak < size + index + (2 << 20), peak
    with open(tmp_path / "old", "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        view = memoryview(m)
        assert _vcdiff._sliceable(view) is m
        view.release()
    assert (
        DeltaEncoder("python").decode((tmp_path / "old").read_bytes(), (tmp_path / "delta").read_bytes()) == (tmp_path / "new").read_bytes()
    )
