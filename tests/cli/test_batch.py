"""``oms-accel batch`` on a local cluster of 2 workers: results as the API
gives them, errors reported, exit codes as in the other subcommands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oms_accel import DeltaEncoder, JsonProcessor
from oms_accel.samples import ONTOLOGY_SCHEMA, history, json_document

from .test_cli import cli

pytest.importorskip("distributed", reason="the dask extra is part of the dev install")


def test_batch_encode_writes_each_versions_delta(tmp_path: Path) -> None:
    for c in range(2):
        for v, doc in enumerate(history(30_000, 11, seed=c)):
            (tmp_path / f"doc{c}.v{v}.json").write_bytes(doc)
    p = cli("batch", "encode", str(tmp_path / "doc0.v*.json"), str(tmp_path / "doc1.v*.json"), "--backend", "wasm", "--workers", "2")
    assert p.returncode == 0, p.stderr
    assert b"20 deltas" in p.stderr and p.stdout == b""
    enc = DeltaEncoder("wasm")
    for c in range(2):
        for v in range(1, 11):  # v10 follows v9, not v1: numbers sort in order
            old, new = (tmp_path / f"doc{c}.v{v - 1}.json").read_bytes(), (tmp_path / f"doc{c}.v{v}.json").read_bytes()
            assert enc.decode(old, (tmp_path / f"doc{c}.v{v}.json.delta").read_bytes()) == new
    assert cli("batch", "encode", str(tmp_path / "nothing*.json"), "--workers", "1").returncode == 2


def test_batch_validate_reports_violations_and_bad_records(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(ONTOLOGY_SCHEMA))
    docs = [json_document(300, seed=i).replace("\n", "") for i in range(12)]
    docs[5] = docs[5].replace('"version": 1', '"version": 0')
    (tmp_path / "a.ndjson").write_text("\n".join(docs) + "\n")
    p = cli("batch", "validate", str(tmp_path / "*.ndjson"), "-s", str(tmp_path / "schema.json"), "--json", "--workers", "2")
    assert p.returncode == 1, p.stderr
    (line,) = [json.loads(x) for x in p.stdout.splitlines()]
    want = JsonProcessor("python").validate_schema(docs[5], ONTOLOGY_SCHEMA)[0]
    assert (line["line"], line["instance_path"], line["message"]) == (6, want.instance_path, want.message)
    (tmp_path / "b.ndjson").write_text(docs[0] + "\n{oops\n")
    p = cli("batch", "validate", str(tmp_path / "b.ndjson"), "-s", str(tmp_path / "schema.json"), "--workers", "1")
    assert p.returncode == 2 and b"b.ndjson:2:" in p.stderr
