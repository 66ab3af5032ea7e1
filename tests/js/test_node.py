"""The same component in node, through the JS package (js/, transpiled by
jco): what it does there agrees with what it does through wasmtime-py and
with the other backends.

`make build` builds the package; tests/js/run.mjs runs one operation per
call. Set-up installs node and the package's dependencies, so a missing one
is a failure here, not a skip."""

from __future__ import annotations

import array
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from oms_accel import DeltaEncoder, JsonError, JsonProcessor, VectorIndex
from oms_accel.samples import document, edit

from ..conftest import VCDIFF_ENCODERS, make, tool

HERE = Path(__file__).parent
PACKAGE = HERE.parents[1] / "js"


def node(*args: object) -> tuple[int, Any]:
    """Runs run.mjs; its exit code and the JSON it printed."""
    assert (PACKAGE / "build" / "oms_accel.js").is_file(), "the JS package is not built: run `make build`"
    p = subprocess.run([tool("node"), str(HERE / "run.mjs"), *map(str, args)], check=False, capture_output=True, text=True, timeout=120)
    assert p.stdout, f"node printed nothing: {p.stderr}"
    return p.returncode, json.loads(p.stdout)


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    d = tmp_path_factory.mktemp("jco")
    old = document(300_000, seed=11)
    new = edit(old, 0.02, seed=12)
    (d / "old").write_bytes(old)
    (d / "new").write_bytes(new)
    return d / "old", d / "new", new


@pytest.mark.parametrize("pair", VCDIFF_ENCODERS, ids=[f"{b}-{m}" for b, m in VCDIFF_ENCODERS])
def test_a_delta_made_in_node_decodes_on_every_backend(versions: tuple[Path, Path, bytes], pair: tuple[str, str], tmp_path: Path) -> None:
    old, new, expected = versions
    assert node("encode", old, new, tmp_path / "delta") == (0, {})
    delta = (tmp_path / "delta").read_bytes()
    assert len(delta) < len(expected) // 10
    assert make(pair).decode(old.read_bytes(), delta) == expected


@pytest.mark.parametrize("pair", VCDIFF_ENCODERS, ids=[f"{b}-{m}" for b, m in VCDIFF_ENCODERS])
def test_node_decodes_every_backends_delta(versions: tuple[Path, Path, bytes], pair: tuple[str, str], tmp_path: Path) -> None:
    old, _, expected = versions
    (tmp_path / "delta").write_bytes(make(pair).encode(old.read_bytes(), expected))
    assert node("decode", old, tmp_path / "delta", tmp_path / "out") == (0, {})
    assert (tmp_path / "out").read_bytes() == expected


def test_a_corrupt_delta_is_an_error_in_node_too(versions: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    old, _, expected = versions
    delta = bytearray(DeltaEncoder("wasm").encode(old.read_bytes(), expected))
    delta[len(delta) // 2] ^= 0xFF
    (tmp_path / "delta").write_bytes(delta)
    rc, out = node("decode", old, tmp_path / "delta", tmp_path / "out")
    assert rc == 1 and out["error"]["code"] in {"corrupt", "checksum-mismatch"}, out
    assert out["error"]["name"] == "DeltaError"


@pytest.mark.parametrize(
    ("text", "pointer"), [('{"a": [1, {"b": "x\\"y"}], "n": null}', "/a/1/b"), ('{"a": []}', "/a/0"), ("[1, [2, [3]]]", "/1/1")]
)
def test_json_lookups_agree_with_wasmtime(text: str, pointer: str, tmp_path: Path) -> None:
    (tmp_path / "doc.json").write_text(text)
    expected = JsonProcessor("wasm").parse_large_document(text).get(pointer)
    rc, out = node("get", tmp_path / "doc.json", pointer)
    assert rc == 0
    assert (None if out["value"] is None else json.loads(out["value"])) == expected


def test_invalid_json_is_the_same_error_in_node(tmp_path: Path) -> None:
    (tmp_path / "doc.json").write_text('{"a":\n  [1, 2,]}')
    rc, out = node("get", tmp_path / "doc.json", "")
    assert rc == 1
    with pytest.raises(JsonError) as e:
        JsonProcessor("wasm").parse_large_document((tmp_path / "doc.json").read_text())
    assert out["error"] == {
        "name": "JsonSyntaxError",
        "code": "syntax",
        "message": "line 2 column 9: expected a value",
        "position": {"offset": 14, "line": 2, "column": 9},
    }
    assert (e.value.code, str(e.value), e.value.offset, e.value.line, e.value.column) == ("syntax", out["error"]["message"], 14, 2, 9)


def test_vector_search_agrees_with_wasmtime(tmp_path: Path) -> None:
    rng = random.Random(5)
    dim, n = 16, 300
    rows = [[rng.uniform(-1, 1) for _ in range(dim)] for _ in range(n)]
    query = [rng.uniform(-1, 1) for _ in range(dim)]
    index = VectorIndex(dim, "cosine", "f32", backend="wasm")
    index.add(rows)
    ids, scores = index.search(query, k=5)
    (tmp_path / "rows.f32").write_bytes(array.array("f", [x for r in rows for x in r]).tobytes())
    (tmp_path / "query.f32").write_bytes(array.array("f", query).tobytes())
    rc, out = node("search", dim, tmp_path / "rows.f32", tmp_path / "query.f32", 5)
    assert rc == 0
    assert [h[0] for h in out["hits"]] == list(ids)
    assert [h[1] for h in out["hits"]] == pytest.approx(list(scores), rel=1e-6)
