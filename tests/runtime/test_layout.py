"""The package keeps its shape: only `oms_accel._wasm` knows wasmtime and the
names of the component's exports, and the module paths of earlier releases
still import."""

from __future__ import annotations

import re
from pathlib import Path

import oms_accel

PACKAGE = Path(oms_accel.__file__).parent


def test_only_the_wasm_package_names_exports_or_imports_wasmtime() -> None:
    pattern = re.compile(r'"\[(method|static|constructor)\]|^\s*(import wasmtime|from wasmtime)', re.MULTILINE)
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.parent.name != "_wasm" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_earlier_module_paths_still_import() -> None:
    from oms_accel import RustDeltaEncoder, RustJsonProcessor
    from oms_accel.delta import DeltaEncoder
    from oms_accel.json_processor import JsonProcessor
    from oms_accel.json_processor import RustJsonProcessor as Again
    from oms_accel.vectors import VectorIndex, similarity

    assert RustDeltaEncoder is DeltaEncoder and RustJsonProcessor is JsonProcessor is Again
    assert VectorIndex is oms_accel.VectorIndex and similarity is oms_accel.similarity
