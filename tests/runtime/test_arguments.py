"""Typed errors, always: arguments as users pass them are taken or refused
with an `AccelError`, never a raw ValueError, TypeError, OverflowError,
BufferError or OSError, on every backend and host."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import oms_accel.delta
import oms_accel.json
import oms_accel.vector
from oms_accel import (
    AccelArgumentError,
    AccelError,
    DeltaEncoder,
    DeltaError,
    JsonProcessor,
    Limits,
    SchemaError,
    VectorError,
    VectorIndex,
    backends,
    compress,
    decompress,
    similarity,
)

from ..conftest import with_hosts

VECTOR_BACKENDS = with_hosts(backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS))
JSON_BACKENDS = with_hosts(backends.loaded(oms_accel.json.SUPPORTED_BACKENDS))
DELTA_BACKENDS = with_hosts(backends.loaded(oms_accel.delta.SUPPORTED_BACKENDS))


def refused(call: Callable[[], Any], code: str = "invalid-argument") -> AccelError:
    with pytest.raises(AccelError) as e:
        call()
    assert e.value.code == code, e.value
    return e.value


# --- numpy integers are integers -------------------------------------------------------


@pytest.mark.parametrize("backend", VECTOR_BACKENDS)
def test_numpy_integers_are_taken_where_ints_are(backend: str) -> None:
    idx = VectorIndex(np.int64(4), backend=backend, threads=np.int32(2))
    idx.add(np.eye(4, dtype=np.float32))
    ids, _ = idx.search([1, 0, 0, 0], k=np.int64(2))
    assert ids[0] == 0 and len(ids) == 2
    assert isinstance(idx.dim, int)


def test_numpy_integers_in_limits_and_options() -> None:
    lim = Limits(memory_bytes=np.int64(64 << 20), max_output_bytes=np.uint32(1000), timeout_s=np.float32(1.5))
    assert type(lim.memory_bytes) is int and type(lim.max_output_bytes) is int and type(lim.timeout_s) is float
    assert JsonProcessor("python", max_depth=np.int16(5)).max_depth == 5
    assert decompress(compress(b"abc", level=np.int8(5)), max_output_size=np.int64(3)) == b"abc"


@pytest.mark.parametrize(
    "make",
    [
        lambda: VectorIndex(True),
        lambda: VectorIndex(4.0),
        lambda: VectorIndex(4, threads="2"),
        lambda: JsonProcessor(max_depth=-1),
        lambda: JsonProcessor(max_depth=2**40),  # once an OverflowError at the first call
        lambda: Limits(max_output_bytes=2**64 + 100),  # once wrapped around to 100 bytes on wasm
        lambda: Limits(timeout_s=3.7e17),  # once fired after 0.1 s on wasm
        lambda: Limits(timeout_s=float("inf")),
        lambda: compress(b"x", level="x"),
        lambda: compress(b"x", level=99),
        lambda: decompress(compress(b"x"), max_output_size=-1),
        lambda: DeltaEncoder(level="x"),
        lambda: DeltaEncoder(window_size=-1),
        lambda: DeltaEncoder(window_size=2**40),
        lambda: DeltaEncoder(window_size="big"),
    ],
)
def test_bad_option_values_are_refused_up_front(make: Callable[[], Any]) -> None:
    e = refused(make)
    assert isinstance(e, AccelArgumentError) and " must be " in str(e)


# --- vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", VECTOR_BACKENDS)
def test_empty_and_non_contiguous_batches(backend: str) -> None:
    idx = VectorIndex(4, "dot", backend=backend)
    assert idx.add(np.zeros((0, 4), dtype=np.float32)) == 0
    data = np.arange(64, dtype=np.float64).reshape(8, 8)
    idx.add(data[:, ::2])  # strided
    idx.add(np.asfortranarray(data[:, :4]))
    assert len(idx) == 16
    assert idx.search_batch(np.zeros((0, 4), dtype=np.float32)) == []
    assert similarity(np.zeros((0, 4)), np.ones((3, 4)), backend=backend).shape == (0, 3)
    ids, _ = idx.search(data[0, ::2], k=1)
    assert len(ids) == 1


@pytest.mark.parametrize("backend", VECTOR_BACKENDS)
def test_saving_where_no_file_can_be_is_a_vector_error(backend: str, tmp_path: Path) -> None:
    idx = VectorIndex(4, backend=backend)
    for where in (tmp_path, tmp_path / "missing" / "index"):
        e = refused(lambda w=where: idx.save(w), "io")
        assert isinstance(e, VectorError) and str(where) in str(e) and ".part" not in str(e)
    idx.save(bytes(tmp_path / "index"))  # a bytes path is a path
    assert len(VectorIndex.load(bytes(tmp_path / "index"), backend=backend)) == 0


# --- deltas and JSON -------------------------------------------------------------------


@pytest.mark.parametrize("backend", DELTA_BACKENDS)
def test_delta_files_by_bytes_path_and_unwritable_outputs(backend: str, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.write_bytes(b"version one " * 100)
    new.write_bytes(b"version two " * 100)
    enc = DeltaEncoder(backend)
    enc.encode_file(bytes(old), bytes(new), bytes(tmp_path / "delta"))
    assert enc.decode_file(bytes(old), bytes(tmp_path / "delta"), bytes(tmp_path / "out")) == 1200
    assert (tmp_path / "out").read_bytes() == new.read_bytes()
    e = refused(lambda: enc.decode_file(old, tmp_path / "delta", tmp_path), "io")
    assert isinstance(e, DeltaError) and ".part" not in str(e)


@pytest.mark.parametrize("backend", JSON_BACKENDS)
def test_json_arguments_of_the_wrong_kind(backend: str) -> None:
    proc = JsonProcessor(backend)
    doc = proc.parse_large_document('{"a": 1}')
    refused(lambda: doc.get(None))  # type: ignore[arg-type]
    refused(lambda: proc.parse_large_document(None))
    for schema in (None, 5, "[1]"):
        e = refused(lambda s=schema: proc.validate_schema("{}", s), "invalid-schema")
        assert isinstance(e, SchemaError) and 'is not of types "boolean", "object"' in str(e)
