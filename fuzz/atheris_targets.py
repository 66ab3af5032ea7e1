"""The pure-Python backend's decoders under atheris (coverage-guided, like
the cargo fuzz targets beside this file): VCDIFF decoding, JSON parsing and
JSON Patch. Each target takes arbitrary bytes and fails only on a finding:
an exception other than the package's documented ones (`AccelError` and its
subclasses), output past the cap, a parse that disagrees with Python's own
`json` on text both accept, or a hang (libFuzzer's -timeout).

    python fuzz/atheris_targets.py TARGET [libFuzzer options] [CORPUS ...]

`make fuzz` runs each as py_TARGET; tests/runtime/test_fuzz_bodies.py runs the
same bodies over seeds and their mutations in `make test`, without atheris.
Two-part inputs are split as the Rust targets split them: a little-endian
u16 length of the first part, modulo what is there, then both parts.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
from collections.abc import Callable
from typing import Any

#: The decoders' output cap under fuzzing (the Rust targets' too).
MAX_OUTPUT = 16 << 20


def split(data: bytes) -> tuple[bytes, bytes]:
    """(first, second) parts of `data`, as the Rust targets split them."""
    if len(data) < 2:
        return b"", data
    rest = data[2:]
    n = int.from_bytes(data[:2], "little") % (len(rest) + 1)
    return rest[:n], rest[n:]


class Targets:
    """The bodies, with the package imported once (under atheris's
    instrumentation when run as a fuzzer)."""

    def __init__(self) -> None:
        from oms_accel import DeltaEncoder, JsonProcessor, Limits
        from oms_accel.errors import AccelError

        limits = Limits(max_output_bytes=MAX_OUTPUT, max_input_bytes=MAX_OUTPUT, timeout_s=5.0)
        self.documented = AccelError
        self.decoders = [DeltaEncoder("python", limits=limits, verify=v) for v in (False, True)]
        self.json = JsonProcessor("python", limits=limits)
        self.by_name: dict[str, Callable[[bytes], None]] = {
            "vcdiff_decode": self.vcdiff_decode,
            "json_parse": self.json_parse,
            "json_patch": self.json_patch,
        }

    def vcdiff_decode(self, data: bytes) -> None:
        """A delta decoded against a source: output within the cap, or a documented error."""
        source, delta = split(data)
        for decoder in self.decoders:
            try:
                out = decoder.decode(source, delta)
            except self.documented:
                continue
            assert len(out) <= MAX_OUTPUT, "output past the cap"

    def json_parse(self, data: bytes) -> None:
        """Strict parsing: what we accept, Python's json accepts with the same value."""
        try:
            value = self.json.parse_large_document(data).to_python()
        except self.documented:
            return
        expected = json.loads(data)
        assert same(value, expected), f"parsed {value!r}, json.loads gives {expected!r}"

    def json_patch(self, data: bytes) -> None:
        """An RFC 6902 patch applied to a document, both arbitrary text."""
        doc, patch = split(data)
        try:
            self.json.apply_patch(doc.decode("utf-8", "replace"), patch.decode("utf-8", "replace"))
        except self.documented:
            return


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: numbers by value (1 == 1.0 as JSON has one
    number type), -0.0 and 0.0 alike, containers element by element."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b) and type(a) is type(b)


def main() -> None:
    import atheris  # type: ignore[import-not-found]

    if len(sys.argv) < 2:
        sys.exit("usage: atheris_targets.py TARGET [libFuzzer options] [CORPUS ...]")
    name = sys.argv.pop(1)
    with atheris.instrument_imports():
        targets = Targets()
    if name not in targets.by_name:
        sys.exit(f"unknown target {name!r}: expected one of {', '.join(targets.by_name)}")
    # libFuzzer runs argv[0] again, through the shell, for -merge, -fork and
    # -minimize_crash: make it a command that runs this target.
    sys.argv[0] = shlex.join([sys.executable, os.path.abspath(__file__), name])
    atheris.Setup(sys.argv, targets.by_name[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
