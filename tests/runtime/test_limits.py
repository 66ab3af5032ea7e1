"""The time limit where the capability suites leave it untested: the
pure-Python backend's deltas, which check it between VCDIFF windows (the
component's calls are stopped mid-window by epochs: test_wasm_runtime.py;
validation on every backend: tests/json/test_agreement.py). README's
"Limits on each backend" says what each backend bounds and how."""

from __future__ import annotations

import os

import pytest

from oms_accel import DeltaEncoder, LimitError, Limits
from oms_accel.samples import document, edit

HURRIED = Limits(timeout_s=0.001)


def test_a_python_encode_stops_at_the_time_limit_between_windows() -> None:
    # 16 windows of random bytes: the first alone takes longer than 1 ms.
    new = os.urandom(256 << 10)
    with pytest.raises(LimitError, match="time limit") as e:
        DeltaEncoder("python", window_size=16 << 10, limits=HURRIED).encode(b"", new)
    assert e.value.code == "limit-exceeded"


def test_a_python_decode_stops_at_the_time_limit_between_windows() -> None:
    old = document(2 << 20, 7)
    new = edit(old, 0.05, 8)
    delta = DeltaEncoder("python", window_size=16 << 10).encode(old, new)
    with pytest.raises(LimitError, match="time limit"):
        DeltaEncoder("python", limits=HURRIED).decode(old, delta)
    # The same delta, in time, decodes.
    assert DeltaEncoder("python").decode(old, delta) == new


def test_no_time_limit_on_the_python_backends() -> None:
    from oms_accel import JsonProcessor

    unlimited = Limits(timeout_s=None)
    assert unlimited.timeout_s is None
    old = document(256 << 10, 9)
    new = edit(old, 0.02, 10)
    enc = DeltaEncoder("python", window_size=16 << 10, limits=unlimited)
    assert enc.decode(old, enc.encode(old, new)) == new
    proc = JsonProcessor("python", limits=unlimited)
    [violation] = proc.validate_schema({"a": 1}, {"properties": {"a": {"type": "string"}}})
    assert violation.instance_path == "/a"
