"""How the wasmtime-py host reads WIT results: by the function's type, never
by the shape of the value (a successful record that happens to have `code`
and `message` fields is a value, not an error)."""

from __future__ import annotations

from typing import Any

import pytest
from wasmtime.component import Record, Variant

from oms_accel import AccelError, JsonError, PatchError, backends
from oms_accel._wasm import bindings

pytestmark = pytest.mark.skipif("wasm" not in backends.available_backends(), reason="the component is not built")


class FakeInstance:
    def __init__(self, result: Any) -> None:
        self.result = result

    def call(self, func: Any, args: Any, capability: type[AccelError]) -> Any:
        return self.result


def record(**fields: Any) -> Any:
    r = Record()
    for k, v in fields.items():
        setattr(r, k, v)
    return r


def export(tagged: bool, err_classes: tuple[type, ...]) -> bindings._Export:
    e = bindings._Export.__new__(bindings._Export)
    e.func, e.tagged, e.err_classes = None, tagged, err_classes
    return e


def test_results_are_read_by_their_type(monkeypatch: pytest.MonkeyPatch) -> None:
    lookalike = record(code="corrupt", message="not an error", position=None)
    for tagged, errs, value, expect in [
        (False, (), lookalike, lookalike),  # a plain record result: a value
        (True, (), Variant("ok", lookalike), lookalike),  # result<record, error>: ok
        (False, (Record,), "text", "text"),  # result<string, error>: ok
    ]:
        fake = export(tagged, errs)
        monkeypatch.setattr(bindings, "_export", lambda inst, i, n, e=fake: e)
        assert bindings._call(FakeInstance(value), "i", "f", [], AccelError) is expect  # type: ignore[arg-type]
    err = record(code="patch-failed", message="nope", position=None)
    monkeypatch.setattr(bindings, "_export", lambda inst, i, n: export(False, (Record,)))
    with pytest.raises(PatchError) as e:
        bindings._call(FakeInstance(err), "i", "f", [], JsonError)  # type: ignore[arg-type]
    assert e.value.code == "patch-failed"


def test_every_export_the_bindings_name_exists_with_a_result_type() -> None:
    from oms_accel._wasm import runtime as rt
    from oms_accel.limits import Limits

    inst = rt.get_runtime().thread_instance(Limits())
    for interface, name in [
        (bindings.DELTA, "encode-file"),
        (bindings.DELTA, "[static]file-encoder.open"),
        (bindings.JSON, "[static]document.parse"),
        (bindings.JSON, "[method]ndjson-reader.next-batch"),
        (bindings.VECTOR, "[static]index.create"),
        (bindings.VECTOR, "[method]index.search-hex"),
    ]:
        e = bindings._export(inst, interface, name)
        assert e.tagged or e.err_classes, (interface, name)
