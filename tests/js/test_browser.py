"""The demo page (js/demo) in headless Chromium: what the page computes, with
the component running in the browser, agrees with Python for the same
inputs; Python's deltas decode in the page and the page's in Python; bad
input shows its typed error; the page logs no console errors.

One browser session (js/test/browser.mjs, Debian's chromium driven by
playwright-core) runs every step; the tests below check what it saw. Set-up
installs chromium and the package's npm dependencies, so a missing one is a
failure here, not a skip."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from oms_accel import DeltaEncoder, JsonError, JsonProcessor, VectorIndex
from oms_accel.samples import ONTOLOGY_SCHEMA, json_document

from ..conftest import VCDIFF_ENCODERS, make
from .conftest import DATA, run_page

BAD_JSON = '{"ontology": "urn:oms:x",\n  "entities": [1, 2,]}'


def custom_inputs() -> dict[str, str]:
    """A user's own documents: other versions, another schema."""
    v1 = json_document(20_000, seed=21)
    doc = json.loads(v1)
    doc["entities"][0]["label"] = ""  # minLength 1
    doc["entities"][5]["type"] = "unknown"  # not in the enum
    doc["entities"].insert(
        2, {"id": "urn:oms:entity:999", "type": "class", "label": "new", "properties": [{"name": "label", "range": "x"}]}
    )
    schema = dict(ONTOLOGY_SCHEMA, required=["ontology", "entities"])
    return {
        "#v1": v1,
        "#v2": json.dumps(doc),
        "#schema": json.dumps(schema),
        "#pointer": "/entities/2/properties/0",
        "#query": "17",
        "#k": "8",
    }


@pytest.fixture(scope="module")
def seen(demo_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every step run once in one browser session; what the page showed."""
    d = tmp_path_factory.mktemp("browser")
    custom = custom_inputs()
    old, new = custom["#v1"].encode(), custom["#v2"].encode()
    # A delta made by Python (the pure-Python encoder: another code than the page's).
    (d / "python.vcdiff").write_bytes(DeltaEncoder("python").encode(old, new))
    corrupt = bytearray(DeltaEncoder("python").encode(old, new))
    corrupt[len(corrupt) // 2] ^= 0x5A
    (d / "corrupt.vcdiff").write_bytes(bytes(corrupt))
    steps = [
        {"snapshot": "initial"},
        {"fill": custom},
        {"click": "#run"},
        {"snapshot": "custom"},
        {"fill": {"#v2": ""}},
        {"upload": ["#delta-file", str(d / "python.vcdiff")]},
        {"snapshot": "applied"},
        {"upload": ["#delta-file", str(d / "corrupt.vcdiff")]},
        {"snapshot": "corrupt"},
        {"fill": {"#v2": BAD_JSON, "#query": "123456"}},
        {"click": "#run"},
        {"snapshot": "bad"},
    ]
    out = run_page(demo_server, steps, d)
    out["custom_inputs"] = custom
    return out


def preloaded() -> dict[str, str]:
    return {"#v1": (DATA / "v1.json").read_text(), "#v2": (DATA / "v2.json").read_text(), "#schema": (DATA / "schema.json").read_text()}


def check_against_python(results: dict[str, Any], inputs: dict[str, str], pointer: str, query: int, k: int) -> None:
    """The page's results for `inputs` are Python's, on every backend."""
    old, new = inputs["#v1"].encode(), inputs["#v2"].encode()
    delta = base64.b64decode(results["delta"]["base64"])
    assert results["delta"]["roundTrip"] is True and results["delta"]["size"] == len(delta) < len(new)
    for pair in VCDIFF_ENCODERS:
        assert make(pair).decode(old, delta) == new, pair
    for backend in ("wasm", "python"):
        p = JsonProcessor(backend)  # type: ignore[arg-type]
        assert json.loads(results["diff"]["patch"]) == p.diff(inputs["#v1"], inputs["#v2"])
        want = [(v.instance_path, v.schema_path, v.message) for v in p.validate_schema(inputs["#v2"], inputs["#schema"])]
        assert [(v["instancePath"], v["schemaPath"], v["message"]) for v in results["violations"]["list"]] == want
        assert want, "the inputs break the schema"
        assert results["lookup"]["pointer"] == pointer
        assert json.loads(results["lookup"]["value"]) == p.parse_large_document(inputs["#v2"]).get(pointer)
    meta = json.loads((DATA / "labels.json").read_text())
    rows = np.frombuffer((DATA / "embeddings.f32").read_bytes(), dtype="<f4").reshape(-1, meta["dimension"])
    for backend in ("wasm", "python"):
        index = VectorIndex(meta["dimension"], "cosine", backend=backend)  # type: ignore[arg-type]
        index.add(rows)
        ids, scores = index.search(rows[query], k)
        assert results["search"]["ids"] == list(ids) and len(ids) == k
        np.testing.assert_allclose(results["search"]["scores"], scores, rtol=1e-6)


def test_the_page_loads_with_no_console_errors(seen: dict[str, Any]) -> None:
    assert seen["ready"] is True
    assert seen["consoleErrors"] == []
    initial = seen["snapshots"]["initial"]
    assert initial["errors"] == [] and initial["status"].startswith("Ready")


def test_preloaded_versions_agree_with_python(seen: dict[str, Any]) -> None:
    check_against_python(seen["snapshots"]["initial"]["results"], preloaded(), "/entities/0/label", 0, 5)


def test_a_users_own_documents_agree_with_python(seen: dict[str, Any]) -> None:
    custom = seen["custom_inputs"]
    snap = seen["snapshots"]["custom"]
    assert snap["errors"] == []
    check_against_python(snap["results"], custom, custom["#pointer"], int(custom["#query"]), int(custom["#k"]))


def test_pythons_delta_decodes_in_the_page(seen: dict[str, Any]) -> None:
    applied = seen["snapshots"]["applied"]["results"]["applied"]
    assert applied["text"] == seen["custom_inputs"]["#v2"]


def test_a_corrupt_delta_shows_the_typed_error(seen: dict[str, Any]) -> None:
    snap = seen["snapshots"]["corrupt"]
    error = snap["results"]["applied"]["error"]
    assert error["name"] == "DeltaError" and error["code"] in {"corrupt", "checksum-mismatch", "wrong-source", "truncated"}
    assert any(e.startswith("DeltaError") for e in snap["errors"])


def test_invalid_json_shows_where_as_python_does(seen: dict[str, Any]) -> None:
    snap = seen["snapshots"]["bad"]
    with pytest.raises(JsonError) as python:
        JsonProcessor("python").parse_large_document(BAD_JSON)
    for section in ("diff", "violations", "lookup"):
        error = snap["results"][section]["error"]
        assert error["name"] == "JsonSyntaxError" and error["code"] == "syntax", section
        assert (error["position"]["line"], error["position"]["column"]) == (python.value.line, python.value.column)
        assert error["message"] == str(python.value)
    # A query past the embeddings is an argument error, shown, not a blank page.
    assert snap["results"]["search"]["error"]["name"] == "ArgumentError"
    # Every box says what failed (the corrupt delta's is still up).
    shown = sorted(e.split(" ")[0] for e in snap["errors"])
    assert shown == ["ArgumentError", "DeltaError", "JsonSyntaxError", "JsonSyntaxError", "JsonSyntaxError"], snap["errors"]
    assert snap["status"].startswith("Ready")
    assert seen["consoleErrors"] == []
