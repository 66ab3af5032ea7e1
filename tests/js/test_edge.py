"""The edge service (js/edge/worker.js, a Workers-style module over the same
component) run by workerd, offline on this machine: what it answers equals
what Python computes, its deltas decode in Python and Python's at the edge,
and bad requests get their typed error and HTTP status. workerd comes inside
its npm package (set-up installs it), so a missing one is a failure here."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oms_accel import DeltaEncoder, JsonError, JsonProcessor, VectorIndex
from oms_accel.samples import ONTOLOGY_SCHEMA, document, edit, json_document

from ..conftest import VCDIFF_ENCODERS, make, tool
from .conftest import DATA, PACKAGE, run_page


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def edge() -> Iterator[str]:
    """workerd serving the worker on a free port; its base URL."""
    workerd = PACKAGE / "node_modules" / ".bin" / "workerd"
    assert workerd.exists(), "workerd is missing: run `make build`"
    address = f"127.0.0.1:{free_port()}"
    subprocess.run([tool("node"), str(PACKAGE / "edge" / "config.mjs"), address], check=True, capture_output=True, timeout=60)
    p = subprocess.Popen([str(workerd), "serve", str(PACKAGE / "edge" / "workerd.capnp")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://{address}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/v1/info", timeout=5).close()
                break
            except OSError:
                assert p.poll() is None, f"workerd exited: {p.stdout.read().decode() if p.stdout else ''}"
                time.sleep(0.1)
        yield url
    finally:
        p.terminate()
        p.wait(10)


def call(url: str, body: Any, *, raw: bytes | None = None, content_type: str = "application/json", method: str = "POST") -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data if method == "POST" else None, method=method, headers={"content-type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_one_component_in_python_node_the_browser_and_at_the_edge(edge: str, demo_server: str, tmp_path: Path) -> None:
    """The same artifact: the sha256 `oms-accel info` prints is that of the
    .wasm Python loads, of the component node imports (the JS package), the
    one the demo page shows in Chromium, and the one the edge runs."""
    info = json.loads(
        subprocess.run(
            [str(Path(sys.executable).parent / "oms-accel"), "info", "--json"], check=True, capture_output=True, text=True
        ).stdout
    )
    component = (resources.files("oms_accel") / "oms_accel.wasm").read_bytes()
    assert info["component_sha256"] == hashlib.sha256(component).hexdigest()
    in_node = subprocess.run(
        [tool("node"), "--input-type=module", "-e", "import { componentSha256 } from './index.js'; console.log(componentSha256)"],
        cwd=PACKAGE,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    status, at_edge = call(edge + "/v1/info", None, method="GET")
    in_browser = run_page(demo_server, [{"snapshot": "loaded"}], tmp_path)["snapshots"]["loaded"]["sha"]
    assert status == 200 and in_node == at_edge["componentSha256"] == in_browser == info["component_sha256"]


def test_concurrent_requests_all_get_their_own_answer(edge: str) -> None:
    docs = [json_document(3_000, seed=s) for s in range(24)]
    expected = [JsonProcessor("python").diff(docs[0], d) for d in docs]

    def one(i: int) -> Any:
        status, out = call(edge + "/v1/json/diff", {"a": docs[0], "b": docs[i]})
        assert status == 200
        return json.loads(out["patch"])

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(one, range(len(docs)))) == expected


def test_deltas_cross_between_the_edge_and_python(edge: str) -> None:
    old = document(200_000, seed=31)
    new = edit(old, 0.01, seed=32)
    status, out = call(edge + "/v1/delta/encode", {"old": b64(old), "new": b64(new)})
    assert status == 200
    delta = base64.b64decode(out["delta"])
    assert out["size"] == len(delta) < len(new) // 10
    for pair in VCDIFF_ENCODERS:
        assert make(pair).decode(old, delta) == new, pair
    python_delta = DeltaEncoder("python").encode(old, new)
    status, out = call(edge + "/v1/delta/decode", {"old": b64(old), "delta": b64(python_delta)})
    assert status == 200 and base64.b64decode(out["new"]) == new


def test_diff_and_validation_agree_with_python(edge: str) -> None:
    a = json_document(20_000, seed=41)
    doc = json.loads(a)
    doc["entities"][3]["rank"] = 7
    doc["entities"][8]["id"] = "nope"
    b = json.dumps(doc)
    p = JsonProcessor("python")
    status, out = call(edge + "/v1/json/diff", {"a": a, "b": b})
    assert status == 200 and json.loads(out["patch"]) == p.diff(a, b)
    status, out = call(edge + "/v1/json/validate", {"schema": json.dumps(ONTOLOGY_SCHEMA), "document": b})
    want = [
        {"instancePath": v.instance_path, "schemaPath": v.schema_path, "message": v.message} for v in p.validate_schema(b, ONTOLOGY_SCHEMA)
    ]
    assert status == 200 and out == {"valid": False, "violations": want} and len(want) == 2


def test_search_agrees_with_python(edge: str) -> None:
    meta = json.loads((DATA / "labels.json").read_text())
    rows = np.frombuffer((DATA / "embeddings.f32").read_bytes(), dtype="<f4").reshape(-1, meta["dimension"])
    index = VectorIndex(meta["dimension"], "cosine", backend="python")
    index.add(rows)
    for q in (0, 77, 1999):
        ids, scores = index.search(rows[q], 7)
        status, out = call(edge + "/v1/vector/search", {"query": rows[q].tolist(), "k": 7})
        assert status == 200 and out["ids"] == list(ids) and out["labels"] == [meta["labels"][i] for i in ids]
        np.testing.assert_allclose(out["scores"], scores, rtol=1e-6)


def test_bad_input_is_the_typed_error(edge: str) -> None:
    old = document(20_000, seed=5)
    delta = bytearray(DeltaEncoder("python").encode(old, edit(old, 0.05, seed=6)))
    delta[len(delta) // 2] ^= 0x5A
    status, out = call(edge + "/v1/delta/decode", {"old": b64(old), "delta": b64(bytes(delta))})
    assert status == 400 and out["error"]["name"] == "DeltaError" and out["error"]["code"] in {"corrupt", "checksum-mismatch", "truncated"}
    bad = '{"a": [1,\n 2,]}'
    status, out = call(edge + "/v1/json/diff", {"a": bad, "b": "{}"})
    with pytest.raises(JsonError) as python:
        JsonProcessor("python").parse_large_document(bad)
    assert status == 400 and out["error"]["name"] == "JsonSyntaxError" and out["error"]["message"] == str(python.value)
    assert (out["error"]["position"]["line"], out["error"]["position"]["column"]) == (python.value.line, python.value.column)
    status, out = call(edge + "/v1/vector/search", {"query": [1.0, 2.0], "k": 3})
    assert status == 400 and out["error"]["name"] == "ArgumentError"


def test_http_errors(edge: str) -> None:
    assert call(edge + "/v1/nothing", {})[0] == 404
    assert call(edge + "/v1/json/diff", None, method="GET")[0] == 405
    assert call(edge + "/v1/json/diff", None, raw=b"a=1", content_type="text/plain")[0] == 415
    assert call(edge + "/v1/json/diff", None, raw=b"{not json")[0] == 400
    # A body declared over the limit is refused before it is read.
    host, port = edge.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("POST", "/v1/delta/encode")
    conn.putheader("content-type", "application/json")
    conn.putheader("content-length", str(33 << 20))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and "limited" in json.loads(response.read())["error"]["message"]
    conn.close()
