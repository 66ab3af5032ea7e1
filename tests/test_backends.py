from __future__ import annotations

import pytest

import oms_accel
from oms_accel import BackendUnavailableError, DeltaEncoder
from oms_accel.errors import AccelArgumentError


def test_every_backend_loads_after_setup() -> None:
    # make setup builds the component and the native module; a test run where
    # either silently failed to load would skip half the suite.
    assert oms_accel.available_backends() == ["wasm", "native", "python"]
    assert all(why is None for why in oms_accel.backend_report().values())


def test_monolith_names_are_the_real_classes() -> None:
    assert oms_accel.RustDeltaEncoder is DeltaEncoder


def test_auto_prefers_wasm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMS_ACCEL_BACKEND", raising=False)
    assert DeltaEncoder().backend == "wasm"


def test_environment_variable_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_ACCEL_BACKEND", "python")
    assert DeltaEncoder().backend == "python"
    assert DeltaEncoder(backend="wasm").backend == "wasm"  # the argument wins


def test_unknown_backend_is_an_argument_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AccelArgumentError, match="unknown backend 'gpu'"):
        DeltaEncoder("gpu")
    monkeypatch.setenv("OMS_ACCEL_BACKEND", "nonsense")
    with pytest.raises(AccelArgumentError):
        DeltaEncoder()


def test_native_backend_says_it_has_no_vcdiff_codec() -> None:
    with pytest.raises(BackendUnavailableError, match="does not offer VCDIFF"):
        DeltaEncoder("native")


def test_native_module_reports_its_build() -> None:
    from oms_accel import _native

    version, profile, target = _native.build_info()
    assert version == _native.__version__ == oms_accel.__version__
    assert profile in ("debug", "release")
    assert target
