"""JsonProcessor on every backend: the same results, the same typed errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oms_accel.json
from oms_accel import (
    AccelArgumentError,
    Document,
    JsonError,
    JsonProcessor,
    LimitError,
    Limits,
    PatchError,
    RustJsonProcessor,
    SchemaError,
    ValidationError,
    backends,
)

from ..conftest import is_wasm, with_hosts

BACKENDS = with_hosts(backends.loaded(oms_accel.json.SUPPORTED_BACKENDS))
DOC = {"name": "ontology", "version": 3, "classes": [{"id": "Person", "props": ["name", "born"]}, {"id": "Org"}], "a/b": {"m~n": True}}
TEXT = json.dumps(DOC)


@pytest.fixture(params=BACKENDS)
def proc(request: pytest.FixtureRequest) -> JsonProcessor:
    return JsonProcessor(request.param)


def test_monolith_name() -> None:
    assert RustJsonProcessor is JsonProcessor


@pytest.mark.parametrize("source", ["str", "bytes", "bytearray", "memoryview", "path"])
def test_parse_from_every_source(proc: JsonProcessor, source: str, tmp_path: Path) -> None:
    data: Any = {"str": TEXT, "bytes": TEXT.encode(), "bytearray": bytearray(TEXT.encode()), "memoryview": memoryview(TEXT.encode())}.get(
        source
    )
    if source == "path":
        (tmp_path / "doc.json").write_text(TEXT)
        data = tmp_path / "doc.json"
    doc = proc.parse_large_document(data)
    assert isinstance(doc, Document)
    assert doc.to_python() == DOC


# Texts of scalars that a lookup may read without json.loads, and their neighbours that need it.
SCALAR_TEXTS = [
    '"plain"',
    '""',
    '"tab\\tand \\"quote\\""',
    '"\\u00e9t\u00e9 \\ud83d\\ude00"',
    '"caf\u00e9"',
    "0",
    "-0",
    "7",
    "-12",
    "18446744073709551615",
    "-9223372036854775808",
    "1.5",
    "-0.0",
    "1e3",
    "2E-2",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    '[1, "a"]',
    '{"k": null}',
]


@pytest.mark.parametrize("text", SCALAR_TEXTS)
def test_lookups_give_what_json_loads_gives(proc: JsonProcessor, text: str) -> None:
    doc = proc.parse_large_document(f'{{"v": {text}, "w": [{text}]}}')
    expected = json.loads(text)
    for pointer in ("/v", "/w/0"):
        got = doc.get(pointer)
        assert got == expected and type(got) is type(expected), (pointer, got)


def test_lookups(proc: JsonProcessor) -> None:
    doc = proc.parse_large_document(TEXT)
    assert doc.get("/classes/0/props/1") == "born"
    assert doc.get("/a~1b/m~0n") is True
    assert doc.get("/missing") is None and doc.get("/classes/9", "dflt") == "dflt"
    assert doc.get("/classes/01") is None  # leading zeros are not array indexes
    assert doc.kind("") == "object" and doc.kind("/version") == "number" and doc.kind("/nope") is None
    assert doc.length("/classes") == 2 and doc.length("/name") == 8 and doc.length("/version") is None
    assert doc.keys() == ["name", "version", "classes", "a/b"]  # document order
    assert doc.keys("/classes") is None
    assert json.loads(doc.to_text()) == DOC and json.loads(doc.to_text(pretty=True)) == DOC
    assert doc.to_text().startswith('{"name":"ontology","version":3')
    with pytest.raises(AccelArgumentError, match="pointer"):
        doc.get("no-slash")


STRICT_REJECTS = [
    "[1,]",
    '{"a":1,}',
    "01",
    "[01]",
    "// c\n1",
    "/* c */ 1",
    "NaN",
    "[Infinity]",
    "[-Infinity]",
    '"a\x01b"',
    "[1 2]",
    "{'a':1}",
    "",
    "[",
    '{"a"}',
    "1 2",
    "tru",
    "[-1000000000000000000null]",
    '["\\ud800x"]',
    '"\\udc00"',
    '"\\ud800\\ue000"',
    '"\\ud83d\\ude00\\ude00"',
    '"\\\\\\ud800"',
]


@pytest.mark.parametrize("text", STRICT_REJECTS)
def test_strict_rfc_8259(proc: JsonProcessor, text: str) -> None:
    with pytest.raises(JsonError):
        proc.parse_large_document(text)


def test_invalid_utf8_and_position(proc: JsonProcessor) -> None:
    with pytest.raises(JsonError) as e:
        proc.parse_large_document(b'{"a":\n "\xff"}')
    assert e.value.line == 2
    with pytest.raises(JsonError) as e:
        proc.parse_large_document('{\n  "a": 1,\n  "b": ]\n}')
    assert (e.value.line, e.value.column) == (3, 8)


def test_surrogates(proc: JsonProcessor) -> None:
    """An escaped pair is one character; a lone half is refused where it stands
    (it is no character, and no UTF-8 text can hold it)."""
    assert proc.parse_large_document('["\\ud83d\\ude00", "\\\\ud800"]').to_python() == ["\U0001f600", "\\ud800"]
    with pytest.raises(JsonError, match="lone UTF-16 surrogate") as e:
        proc.parse_large_document('{"a":\n  ["\\ud83d\\ude00", "x\\uDBFF"]}')
    assert (e.value.line, e.value.column) == (2, 22)


def test_hostile_nesting_and_size(proc: JsonProcessor) -> None:
    with pytest.raises(LimitError):
        proc.parse_large_document("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LimitError):
        JsonProcessor(proc.backend, limits=Limits(max_input_bytes=100)).parse_large_document("[" + "1," * 100 + "1]")
    assert proc.parse_large_document("[" * 400 + "]" * 400).length("") == 1  # deep but within the limit


SCHEMA = {
    "type": "object",
    "required": ["name", "version"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "classes": {"type": "array", "items": {"required": ["id"]}},
    },
}


def test_schema_validation(proc: JsonProcessor) -> None:
    schema = proc.compile_schema(SCHEMA)
    assert schema.is_valid(proc.parse_large_document(TEXT))
    assert schema.validate(DOC) == []
    bad = {"name": 5, "version": 0, "classes": [{"x": 1}]}
    errors = schema.validate(bad)
    assert {e.instance_path for e in errors} == {"/name", "/version", "/classes/0"}
    assert all(isinstance(e, ValidationError) and e.message and e.schema_path.startswith("/properties/") for e in errors)
    assert not schema.is_valid(json.dumps(bad))
    assert proc.validate_schema(bad, SCHEMA) == errors  # the monolith's call, cached compile
    assert proc.validate_schema(TEXT, json.dumps(SCHEMA)) == []


@pytest.mark.parametrize("draft", ["4", "6", "7", "2019-09", "2020-12", 7])
def test_drafts(proc: JsonProcessor, draft: Any) -> None:
    schema = proc.compile_schema({"properties": {"n": {"type": "integer"}}}, draft=draft)
    assert schema.is_valid({"n": 1}) and not schema.is_valid({"n": "x"})


def test_invalid_schemas(proc: JsonProcessor) -> None:
    for bad in [{"type": 12}, {"minimum": "x"}, "{not json", {"$ref": "http://example.com/missing.json"}]:
        with pytest.raises(SchemaError):
            proc.compile_schema(bad).validate({})
    with pytest.raises(AccelArgumentError):
        proc.compile_schema({}, draft="3")  # type: ignore[arg-type]


def test_schema_resources(proc: JsonProcessor) -> None:
    schema = proc.compile_schema({"$ref": "http://example.com/int.json"}, resources={"http://example.com/int.json": {"type": "integer"}})
    assert schema.is_valid(3) and not schema.is_valid('"x"')


def test_patches(proc: JsonProcessor) -> None:
    new = json.loads(TEXT)
    new["version"] = 4
    new["classes"].append({"id": "Event"})
    del new["a/b"]
    patch = proc.diff(DOC, new)
    assert isinstance(patch, list) and patch
    assert proc.apply_patch(DOC, patch) == new
    with pytest.raises(PatchError):
        proc.apply_patch(DOC, [{"op": "remove", "path": "/nope"}])
    with pytest.raises(PatchError):
        proc.apply_patch(DOC, {"op": "add"})
    assert proc.merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None, "e": 4}, "f": [1]}) == {
        "a": 1,
        "b": {"d": 3, "e": 4},
        "f": [1],
    }
    assert proc.merge_patch([1], {"a": 1}) == {"a": 1}


def test_canonical_form(proc: JsonProcessor) -> None:
    # RFC 8785, section 3.2.2 and 3.2.3.
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert proc.canonicalize(value) == expected
    assert proc.canonicalize({"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}) == (
        '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\U0001f600":5,"\ufb33":3}'
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=json_values, b=json_values)
def test_diff_then_apply_gives_b(proc: JsonProcessor, a: Any, b: Any) -> None:
    a_text, b_text = json.dumps(a), json.dumps(b)  # a str argument is JSON text, so values cross as text
    assert proc.apply_patch(a_text, json.dumps(proc.diff(a_text, b_text))) == b


@settings(max_examples=100, deadline=None)
@given(value=json_values)
def test_backends_agree_on_canonical_form(value: Any) -> None:
    texts = {JsonProcessor(b).canonicalize(json.dumps(value)) for b in BACKENDS}
    assert len(texts) == 1


def _ndjson(tmp_path: Path) -> Path:
    lines = ['{"id": 1, "name": "a", "tags": ["x"]}', "", '{"id": "two"}', "not json", '{"id": 3, "name": "c"}', "   "]
    path = tmp_path / "records.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ndjson_values(proc: JsonProcessor, tmp_path: Path) -> None:
    records = list(proc.iter_ndjson(_ndjson(tmp_path)))
    assert [r.line for r in records] == [1, 3, 4, 5]
    assert records[0].value == {"id": 1, "name": "a", "tags": ["x"]}
    assert records[2].error and "line 1" in records[2].error and not records[2].valid


def test_ndjson_schema_and_fields(proc: JsonProcessor, tmp_path: Path) -> None:
    schema = {"properties": {"id": {"type": "integer"}}, "required": ["id"]}
    records = list(proc.iter_ndjson(_ndjson(tmp_path), schema=schema, fields=["/name", "/tags/0"]))
    assert [r.valid for r in records] == [True, False, False, True]
    assert records[1].errors[0].instance_path == "/id"
    assert records[0].fields == {"/name": "a", "/tags/0": "x"} and records[3].fields == {"/name": "c", "/tags/0": None}
    assert records[0].value is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_ndjson_record_over_the_limit_is_skipped_not_read_whole(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "big.ndjson"
    path.write_text('{"a": 1}\n{"s": "' + "x" * 5000 + '"}\n{"a": 3}\n')
    seen: list[tuple[int, int]] = []
    proc = JsonProcessor(backend, limits=Limits(max_input_bytes=1000))
    records = list(proc.iter_ndjson(path, progress=lambda done, total: seen.append((done, total))))
    assert [r.line for r in records] == [1, 2, 3]
    assert records[0].value == {"a": 1} and records[2].value == {"a": 3}
    assert not records[1].valid and records[1].error == "the record is over the limit of 1000 bytes"
    size = path.stat().st_size
    assert seen and seen[-1] == (size, size) and all(t == size for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ndjson_large_records_come_back_whole(backend: str, tmp_path: Path) -> None:
    # 140 records of 1 MiB: one batch's results were 140 MB, past what
    # wasmtime-py takes back from one call. A batch now ends past 8 MiB.
    path = tmp_path / "large.ndjson"
    with path.open("w") as f:
        for i in range(140):
            f.write(json.dumps({"i": i, "s": chr(97 + i % 26) * (1 << 20)}) + "\n")
    records = JsonProcessor(backend).iter_ndjson(path)
    for i, r in enumerate(records):
        assert r.line == i + 1 and r.value == {"i": i, "s": chr(97 + i % 26) * (1 << 20)}
    assert i == 139


def test_documents_across_threads(proc: JsonProcessor) -> None:
    doc = proc.parse_large_document(TEXT)
    schema = proc.compile_schema(SCHEMA)
    results: list[Any] = []

    def work() -> None:
        for _ in range(20):
            results.append((doc.get("/classes/0/id"), schema.is_valid(doc)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [("Person", True)] * 80


@pytest.mark.skipif(not any(is_wasm(b) for b in BACKENDS), reason="the component's own memory")
def test_ndjson_streaming_memory_stays_flat(tmp_path: Path) -> None:
    """A regression test: under talc the reader's batches fragmented the
    component's heap, which grew by about 45 MB per 100k records."""

    def rss_mib() -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) // 1024

    path = tmp_path / "many.ndjson"
    record = {"id": "urn:oms:entity:1", "tags": ["a", "b"], "rank": 0.5, "properties": [{"name": "x", "min": 1}] * 3}
    path.write_text((json.dumps(record) + "\n") * 200_000)
    before = None
    for n, _ in enumerate(JsonProcessor("wasm").iter_ndjson(path, fields=["/id"]), 1):
        if n == 10_000:
            before = rss_mib()
    assert n == 200_000 and before is not None
    assert rss_mib() - before < 15
