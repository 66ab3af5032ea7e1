from __future__ import annotations

import subprocess
import sys

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


def test_auto_prefers_native_zstd_then_wasm_vcdiff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMS_ACCEL_BACKEND", raising=False)
    enc = DeltaEncoder()
    assert (enc.backend, enc.method) == ("native", "zstd")
    assert DeltaEncoder("wasm").method == "vcdiff"
    assert DeltaEncoder(method="vcdiff").backend == "wasm"
    assert DeltaEncoder(method="xdelta3").backend == "native"


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


def test_methods_and_backends_that_do_not_go_together() -> None:
    with pytest.raises(BackendUnavailableError, match="does not offer VCDIFF"):
        DeltaEncoder("native", method="vcdiff")
    with pytest.raises(BackendUnavailableError, match="does not offer zstd"):
        DeltaEncoder("wasm", method="zstd")
    with pytest.raises(AccelArgumentError, match="unknown method"):
        DeltaEncoder(method="bsdiff")  # type: ignore[arg-type]


def test_without_the_native_module_vcdiff_still_works() -> None:
    # A subprocess in which oms_accel._native cannot be imported.
    code = (
        "import sys; sys.modules['oms_accel._native'] = None\n"
        "import oms_accel\n"
        "from oms_accel import DeltaEncoder, DeltaError, BackendUnavailableError\n"
        "assert oms_accel.available_backends() == ['wasm', 'python'], oms_accel.available_backends()\n"
        "assert 'native' in oms_accel.backend_report()['native']\n"
        "enc = DeltaEncoder()\n"
        "assert (enc.backend, enc.method) == ('wasm', 'vcdiff')\n"
        "old, new = b'version one ' * 1000, b'version two ' * 1000\n"
        "assert enc.decode(old, enc.encode(old, new)) == new\n"
        "zstd_delta = b'\\x28\\xb5\\x2f\\xfd' + bytes(20)\n"
        "try:\n"
        "    enc.decode(old, zstd_delta)\n"
        "except DeltaError as e:\n"
        "    assert 'native module' in str(e), e\n"
        "else:\n"
        "    raise AssertionError('decoded a zstd delta without zstd')\n"
        "try:\n"
        "    oms_accel.compress(b'x')\n"
        "except BackendUnavailableError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('compressed without zstd')\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_native_module_reports_its_build() -> None:
    from oms_accel import _native

    version, profile, target = _native.build_info()
    assert version == _native.__version__ == oms_accel.__version__
    assert profile in ("debug", "release")
    assert target


def test_every_refusal_of_a_backend_says_unavailable() -> None:
    with pytest.raises(BackendUnavailableError) as e:
        DeltaEncoder("native", method="vcdiff")
    assert e.value.code == "unavailable"
