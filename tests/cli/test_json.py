"""`oms-accel json ...`: outputs and exit codes (0 ok, 1 invalid / failed, 2
usage or input error) on every JSON backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import oms_accel.json
from oms_accel import backends
from oms_accel.cli import main

from ..conftest import with_hosts

BACKENDS = with_hosts(backends.loaded(oms_accel.json.SUPPORTED_BACKENDS))
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "array"}}, "required": ["a"]}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def d(tmp_path: Path) -> Path:
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "good.json").write_text('{"a": 1, "b": [1, "two", {"c": null}]}')
    (tmp_path / "bad.json").write_text('{"a": "x", "b": 3}')
    (tmp_path / "broken.json").write_text('{"a": 1,\n "b": [1, 2,]}')
    (tmp_path / "records.ndjson").write_text('{"a": 1}\n{"a": "x"}\nnot json\n\n{"a": 3, "b": []}\n')
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], backend: str, *args: str | Path) -> tuple[int, str, str]:
    rc = main(["json", *map(str, args), "--backend", backend])
    out, err = capsys.readouterr()
    return rc, out, err


def test_validate_valid_and_invalid(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, backend, "validate", d / "good.json", "-s", d / "schema.json")
    assert (rc, out) == (0, f"{d / 'good.json'}: valid\n")
    rc, out, _ = run(capsys, backend, "validate", d / "good.json", d / "bad.json", "--schema", d / "schema.json")
    assert rc == 1
    lines = out.splitlines()
    assert lines[0].endswith("good.json: valid")
    assert any("bad.json: /a: " in line and "(schema /properties/a/type)" in line for line in lines[1:])
    assert any("bad.json: /b: " in line for line in lines[1:])


def test_validate_json_output_and_quiet(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, backend, "validate", d / "bad.json", "-s", d / "schema.json", "--json")
    assert rc == 1
    errors = [json.loads(line) for line in out.splitlines()]
    assert {e["instance_path"] for e in errors} == {"/a", "/b"}
    assert all(e["file"] == str(d / "bad.json") and e["message"] for e in errors)
    rc, out, _ = run(capsys, backend, "validate", d / "bad.json", "-s", d / "schema.json", "-q")
    assert (rc, out) == (1, "")


def test_validate_input_errors_exit_2(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, backend, "validate", d / "broken.json", "-s", d / "schema.json")
    assert (rc, out) == (2, "")
    assert "broken.json: line 2 column" in err
    (d / "bad-schema.json").write_text('{"type": 12}')
    rc, _, err = run(capsys, backend, "validate", d / "good.json", "-s", d / "bad-schema.json")
    assert rc == 2 and "bad-schema.json" in err and "schema" in err
    rc, _, err = run(capsys, backend, "validate", d / "missing.json", "-s", d / "schema.json")
    assert rc == 2 and "missing.json" in err
    rc, _, err = run(capsys, backend, "validate", d, "-s", d / "schema.json")
    assert rc == 2 and "directory" in err


def test_query(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, backend, "query", d / "good.json", "/b/1")[:2] == (0, '"two"\n')
    assert run(capsys, backend, "query", d / "good.json", "/b/2")[:2] == (0, '{"c": null}\n')
    rc, out, err = run(capsys, backend, "query", d / "good.json", "/b/9")
    assert (rc, out) == (1, "") and "nothing at '/b/9'" in err
    rc, _, err = run(capsys, backend, "query", d / "good.json", "b")
    assert rc == 2 and "pointer" in err


def test_query_from_stdin(d: Path, backend: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"x": [10, 20]}')))
    assert run(capsys, backend, "query", "-", "/x/1")[:2] == (0, "20\n")


def test_diff_then_patch_round_trip(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, backend, "diff", d / "good.json", d / "bad.json", "-o", d / "p.json")
    assert (rc, out) == (0, "")
    ops = json.loads((d / "p.json").read_text())
    assert {op["path"] for op in ops} == {"/a", "/b"}
    rc, out, _ = run(capsys, backend, "patch", d / "good.json", d / "p.json")
    assert rc == 0 and json.loads(out) == json.loads((d / "bad.json").read_text())


def test_patch_that_does_not_apply_exits_1_and_writes_nothing(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    (d / "p.json").write_text('[{"op": "remove", "path": "/nope"}]')
    rc, out, err = run(capsys, backend, "patch", d / "good.json", d / "p.json", "-o", d / "out.json")
    assert (rc, out) == (1, "") and "does not apply" in err
    assert not (d / "out.json").exists()
    assert [p.name for p in d.iterdir() if p.name.startswith(".out.json")] == []


def test_merge_patch(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    (d / "m.json").write_text('{"b": null, "c": {"d": 1}}')
    rc, out, _ = run(capsys, backend, "patch", d / "good.json", d / "m.json", "--merge")
    assert rc == 0 and json.loads(out) == {"a": 1, "c": {"d": 1}}


def test_canonicalize(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    (d / "c.json").write_text('{"b": 1.0, "a": [1e2, "\\u00e9"]}')
    assert run(capsys, backend, "canonicalize", d / "c.json")[:2] == (0, '{"a":[100,"é"],"b":1}\n')


def test_ndjson_validation(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, backend, "ndjson", d / "records.ndjson", "-s", d / "schema.json", "-q")
    assert rc == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in lines] == [2, 3]
    assert lines[0]["errors"][0]["instance_path"] == "/a"
    assert "line 1 column 1" in lines[1]["error"]
    assert "4 records, 2 invalid" in err


def test_ndjson_fields_with_progress(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, backend, "ndjson", d / "records.ndjson", "-f", "/a", "--field", "/b", "--progress")
    assert rc == 1  # line 3 is not JSON
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0] == {"line": 1, "fields": {"/a": 1, "/b": None}}
    assert lines[-1] == {"line": 5, "fields": {"/a": 3, "/b": []}}
    assert "ndjson" in err  # the bar, on standard error


def test_ndjson_all_valid_exits_0(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    (d / "ok.ndjson").write_text('{"a": 1}\n{"a": 2}\n')
    rc, out, err = run(capsys, backend, "ndjson", d / "ok.ndjson", "-s", d / "schema.json")
    assert (rc, out) == (0, "") and "2 records, 0 invalid" in err
    rc, _, err = run(capsys, backend, "ndjson", d / "nope.ndjson")
    assert rc == 2 and "not a file" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["json", "validate", "doc.json"])  # no --schema
    assert e.value.code == 2
    assert "--schema" in capsys.readouterr().err


def test_ndjson_output_does_not_depend_on_the_backend(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (d / "mixed.ndjson").write_text('{"a": 1}\n{"a": "x", "b": 3}\n[1,]\n{"a": 1e400}\n{}\n{"a": [[[]]]}\n{"a": 2, "b": [1]}\n')
    outputs = {b: run(capsys, b, "ndjson", d / "mixed.ndjson", "-s", d / "schema.json", "-f", "/a")[:2] for b in BACKENDS}
    assert len(set(outputs.values())) == 1, outputs
    rc, out = next(iter(outputs.values()))
    assert rc == 1 and len(out.splitlines()) == 7


def test_validate_goes_on_past_a_document_it_cannot_read(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(
        capsys, "python", "validate", d / "good.json", d / "broken.json", d / "nope.json", d / "bad.json", "-s", d / "schema.json"
    )
    assert rc == 2  # an unusable input outranks an invalid document
    assert f"{d / 'good.json'}: valid" in out and f"{d / 'bad.json'}: /a: " in out
    assert "broken.json: line 2" in err and "nope.json" in err


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_huge_value_makes_a_short_message(d: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    (d / "huge.json").write_text(json.dumps({"a": "x" * (12 << 20)}))
    rc, out, _ = run(capsys, backend, "validate", d / "huge.json", "-s", d / "schema.json")
    assert rc == 1
    assert 0 < len(out) < 1000 and "characters cut" in out and 'is not of type "integer"' in out
