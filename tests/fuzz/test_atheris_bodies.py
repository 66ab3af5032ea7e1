"""The atheris targets' bodies (fuzz/atheris_targets.py, run coverage-guided
by `make fuzz`) over seeds and deterministic mutations of them, so that the
harnesses cannot rot and the cheapest findings are caught by `make test`."""

from __future__ import annotations

import importlib.util
import json
import random
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from oms_accel import DeltaEncoder, JsonProcessor, available_backends
from oms_accel.samples import document, edit, json_document

HARNESS = Path(__file__).parents[2] / "fuzz" / "atheris_targets.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("atheris_targets", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _load()


@pytest.fixture(scope="module")
def targets() -> Any:
    return harness.Targets()


def join(first: bytes, second: bytes) -> bytes:
    return struct.pack("<H", len(first)) + first + second


def mutations(seed: bytes, n: int, rng: random.Random) -> list[bytes]:
    """`seed`, cut and with bytes changed, as a fuzzer's first moves would be."""
    out = [seed]
    for i in range(n):
        m = bytearray(seed or b"\0")
        at = rng.randrange(len(m))
        if i % 3 == 0:
            m[at] ^= 1 << rng.randrange(8)
        elif i % 3 == 1:
            m[at] = rng.choice(b'\x00\xff\x7f\x80"{]')
        else:
            del m[at:]
        out.append(bytes(m))
    return out


def test_split_is_the_rust_targets_split() -> None:
    assert harness.split(b"") == (b"", b"")
    assert harness.split(join(b"abc", b"defg")) == (b"abc", b"defg")
    # A length past what is there wraps, as the Rust targets' does.
    assert harness.split(b"\x09\x00abcd") == (b"abcd"[: 9 % 5], b"abcd"[9 % 5 :])


def test_vcdiff_decode_over_damaged_deltas(targets: Any) -> None:
    old = document(3000, 1)
    new = edit(old, 0.05, 2)
    rng = random.Random(1)
    # Our encoders' deltas, the component's too where it loads.
    for backend in [b for b in ("python", "wasm") if b in available_backends()]:
        delta = DeltaEncoder(backend).encode(old, new)
        for data in mutations(join(old, delta), 300, rng):
            targets.vcdiff_decode(data)


def test_json_parse_over_damaged_documents(targets: Any) -> None:
    rng = random.Random(2)
    for text in (json_document(60, seed=3), '{"a": [1, -0.0, 1e400, "\\ud800", 12345678901234567890]}'):
        for data in mutations(text.encode(), 400, rng):
            targets.json_parse(data)


def test_json_patch_over_damaged_patches(targets: Any) -> None:
    a, b = json_document(30, seed=4), json_document(30, seed=5)
    patch = json.dumps(JsonProcessor("python").diff(a, b)).encode()
    rng = random.Random(3)
    for data in mutations(join(a.encode(), patch), 200, rng):
        targets.json_patch(data)


def test_a_body_reports_an_undocumented_exception(targets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The harness lets only the documented errors through: anything else
    # is a finding, raised to the fuzzer.
    def broken(*args: object) -> bytes:
        raise IndexError("a decoder bug")

    monkeypatch.setattr(targets.decoders[0], "decode", broken)
    with pytest.raises(IndexError):
        targets.vcdiff_decode(b"\x00\x00")


def test_a_parse_that_disagrees_with_json_is_a_finding(targets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Wrong:
        def to_python(self) -> object:
            return [2]

    monkeypatch.setattr(targets.json, "parse_large_document", lambda data: Wrong())
    with pytest.raises(AssertionError, match=r"json\.loads gives"):
        targets.json_parse(b"[1]")
