"""The public objects pickle to working objects: settings and sources cross
(a schema's text, a document's text, an index's file bytes), never an engine,
a store or a handle into an instance. On every backend and host, in this
process and in children started by fork, spawn and forkserver (the way Dask
and multiprocessing send them)."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest

import oms_accel.json
import oms_accel.vector
from oms_accel import DeltaEncoder, JsonProcessor, Limits, VectorIndex, backends
from oms_accel.samples import ONTOLOGY_SCHEMA, document, edit, json_document

from ..conftest import ENCODERS, make, with_hosts

JSON_BACKENDS = with_hosts(backends.loaded(oms_accel.json.SUPPORTED_BACKENDS))
VECTOR_BACKENDS = with_hosts(backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS))
OLD = document(30_000, seed=3)
NEW = edit(OLD, 0.02, seed=4)
TEXT = json_document(5_000, seed=8)
BAD = json_document(2_000, seed=9).replace('"rank": 0.', '"rank": 9.', 1)
ROWS = np.random.default_rng(2).standard_normal((300, 16)).astype(np.float32)


def index_of(backend: str) -> VectorIndex:
    index = VectorIndex(16, "cosine", backend=backend, limits=Limits(memory_bytes=64 << 20))
    index.add(ROWS[:200], ids=[i * 3 for i in range(200)])
    return index


def roundtrip(x: Any) -> Any:
    return pickle.loads(pickle.dumps(x))


@pytest.mark.parametrize("pair", ENCODERS, ids=[f"{b}-{m}" for b, m in ENCODERS])
def test_an_encoder_pickles_as_its_settings(pair: tuple[str, str]) -> None:
    enc = make(pair, level=5, limits=Limits(max_output_bytes=1 << 24))
    back = roundtrip(enc)
    assert (back.backend, back.method, back.level, back.limits, back.host) == (enc.backend, enc.method, enc.level, enc.limits, enc.host)
    assert back.decode(OLD, enc.encode(OLD, NEW)) == NEW
    assert len(pickle.dumps(enc)) < 1024  # settings only


@pytest.mark.parametrize("backend", JSON_BACKENDS)
def test_documents_schemas_and_processors_pickle_to_working_objects(backend: str) -> None:
    proc = JsonProcessor(backend, max_depth=100)
    doc = proc.parse_large_document(TEXT)
    schema = proc.compile_schema(ONTOLOGY_SCHEMA)
    p2, d2, s2 = roundtrip(proc), roundtrip(doc), roundtrip(schema)
    assert (p2.backend, p2.host, p2.max_depth) == (proc.backend, proc.host, 100)
    assert d2.get("/entities/1/label") == doc.get("/entities/1/label") and d2.backend == doc.backend
    assert s2.validate(BAD) == schema.validate(BAD) != [] and s2.is_valid(d2)
    # A schema crosses as its source, however large its compiled form.
    assert s2.source == schema.source and len(pickle.dumps(schema)) < 4 * len(schema.source[0]) + 1024


@pytest.mark.parametrize("backend", VECTOR_BACKENDS)
def test_an_index_pickles_through_its_file_format(backend: str) -> None:
    index = index_of(backend)
    back = roundtrip(index)
    assert (back.backend, back.host, back.dim, back.metric, back.limits, len(back)) == (
        index.backend,
        index.host,
        16,
        "cosine",
        index.limits,
        200,
    )
    for q in ROWS[200:210]:
        a, b = index.search(q, 5), back.search(q, 5)
        assert list(a[0]) == list(b[0]) and np.asarray(a[1]).tobytes() == np.asarray(b[1]).tobytes()
    # Ids continue where they stopped; the original is untouched.
    back.add(ROWS[200:201])
    assert len(back) == 201 and len(index) == 200 and VectorIndex.from_bytes(index.to_bytes(), backend).to_bytes() == index.to_bytes()


def work(payload: bytes) -> Any:
    """What a worker does with pickled objects (run in a child process)."""
    enc, schema, doc, index = pickle.loads(payload)
    return (
        enc.decode(OLD, enc.encode(OLD, NEW)) == NEW,
        [v.instance_path for v in schema.validate(BAD)],
        doc.get("/version"),
        index.search(ROWS[250], 4)[0].tolist(),
    )


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
@pytest.mark.parametrize("backend", ["wasm", "python"])
def test_pickled_objects_work_in_child_processes(method: str, backend: str) -> None:
    proc = JsonProcessor(backend)
    objects = (DeltaEncoder(backend), proc.compile_schema(ONTOLOGY_SCHEMA), proc.parse_large_document(TEXT), index_of(backend))
    want = work(pickle.dumps(objects))
    # (An executor, not a Pool: a child that dies is an error here, where a
    # Pool waits for its task forever.)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
        got = pool.submit(work, pickle.dumps(objects)).result(timeout=120)
    assert got == want and want[0] is True and want[1]
