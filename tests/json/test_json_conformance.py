"""The official JSON-Schema-Test-Suite (required tests of drafts 2020-12,
2019-09, 7, 6 and 4) and the RFC 6902 tests of json-patch-test-suite, on
every backend. Set-up fetches both (tests/fetch_conformance.py).

A test that fails is listed below with its reason; every backend is held to
the same list: a listed test may pass, an unlisted one may not fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import oms_accel.json
from oms_accel import JsonProcessor, PatchError, SchemaError, backends

from ..conftest import with_hosts

SUITE = Path(__file__).parent.parent / "data" / "JSON-Schema-Test-Suite"
PATCH_SUITE = Path(__file__).parent.parent / "data" / "json-patch-test-suite"
DRAFTS = {"draft2020-12": "2020-12", "draft2019-09": "2019-09", "draft7": "7", "draft6": "6", "draft4": "4"}
BACKENDS = with_hosts(backends.loaded(oms_accel.json.SUPPORTED_BACKENDS))

_NO_VOCABULARY = (
    "$vocabulary is not honoured: a custom meta-schema that leaves out the validation vocabulary still has "
    "its keywords applied (neither the jsonschema crate, given resources through our retriever, nor Python's "
    "jsonschema implements $vocabulary)"
)

#: "draft/file.json :: group :: test" -> why it fails.
KNOWN_FAILURES: dict[str, str] = {
    f"{d}/vocabulary.json :: schema that uses custom metaschema with with no validation vocabulary :: "
    "no validation: invalid number, but it still validates": _NO_VOCABULARY
    for d in ("draft2019-09", "draft2020-12")
}


def _need(path: Path) -> None:
    assert path.is_dir(), f"{path} is missing: run `make setup` (tests/fetch_conformance.py fetches it)"


def _remotes(draft_dir: str) -> dict[str, Any]:
    """The suite's remotes for one draft (those of no draft, and the draft's
    own folder), at the URIs its tests expect them to be served from."""
    root = SUITE / "remotes"
    out = {}
    for p in root.rglob("*.json"):
        rel = p.relative_to(root).as_posix()
        if not rel.startswith("draft") or rel.startswith(draft_dir + "/"):
            out[f"http://localhost:1234/{rel}"] = json.loads(p.read_text())
    return out


def _schema_files() -> list[str]:
    _need(SUITE)
    return [f"{d}/{p.name}" for d in DRAFTS for p in sorted((SUITE / "tests" / d).glob("*.json"))]


@pytest.fixture(scope="module", params=BACKENDS)
def proc(request: pytest.FixtureRequest) -> JsonProcessor:
    return JsonProcessor(request.param)


@pytest.mark.parametrize("name", _schema_files())
def test_json_schema_suite(proc: JsonProcessor, name: str) -> None:
    draft_dir = name.split("/")[0]
    draft = DRAFTS[draft_dir]
    remotes = _remotes(draft_dir)
    failures: dict[str, str] = {}
    for group in json.loads((SUITE / "tests" / name).read_text()):
        try:
            # A str argument is JSON text, so values cross as text.
            schema = proc.compile_schema(json.dumps(group["schema"]), draft=draft, resources=remotes)  # type: ignore[arg-type]
        except SchemaError as e:
            for test in group["tests"]:
                failures[f"{name} :: {group['description']} :: {test['description']}"] = f"schema rejected: {e}"
            continue
        for test in group["tests"]:
            key = f"{name} :: {group['description']} :: {test['description']}"
            text = json.dumps(test["data"])
            try:
                got = schema.is_valid(text)
                violations = schema.validate(text)
                # On the wasm backend text is read through a tape and a
                # parsed document through its DOM: they must agree.
                document = proc.parse_large_document(text)
                via_document = (schema.is_valid(document), schema.validate(document))
            except SchemaError as e:
                failures[key] = f"raised {e}"
                continue
            if got != test["valid"]:
                failures[key] = f"valid={got}, expected {test['valid']}"
            elif got == bool(violations):
                failures[key] = f"is_valid={got} but validate found {len(violations)} violations"
            elif via_document != (got, violations):
                failures[key] = f"text and parsed document disagree: {(got, violations)} against {via_document}"
    unexpected = {k: v for k, v in failures.items() if k not in KNOWN_FAILURES}
    assert not unexpected, "\n".join(f"{k}: {v}" for k, v in unexpected.items())


def _patch_cases() -> list[tuple[str, int]]:
    _need(PATCH_SUITE)
    cases = []
    for file in ("tests.json", "spec_tests.json"):
        for i, case in enumerate(json.loads((PATCH_SUITE / file).read_text())):
            if not case.get("disabled") and "doc" in case:
                cases.append((file, i))
    return cases


@pytest.mark.parametrize(("file", "index"), _patch_cases())
def test_json_patch_suite(proc: JsonProcessor, file: str, index: int) -> None:
    case = json.loads((PATCH_SUITE / file).read_text())[index]
    doc, patch = json.dumps(case["doc"]), json.dumps(case["patch"])  # a str argument is JSON text
    if "error" in case:
        with pytest.raises(PatchError):
            proc.apply_patch(doc, patch)
    else:
        assert proc.apply_patch(doc, patch) == case.get("expected", case["doc"])
