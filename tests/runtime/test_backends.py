from __future__ import annotations

import subprocess
import sys

import pytest

import oms_accel
from oms_accel import BackendUnavailableError, DeltaEncoder, JsonProcessor, VectorIndex
from oms_accel.errors import AccelArgumentError


def test_every_backend_loads_after_setup() -> None:
    # make setup builds the component and the native module; a test run where
    # either silently failed to load would skip half the suite.
    assert oms_accel.available_backends() == ["wasm", "native", "python"]
    assert all(why is None for why in oms_accel.backend_report().values())
    assert oms_accel.host_report() == {"rust": None, "wasmtime-py": None}


def test_the_rust_host_is_the_default_and_each_host_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMS_ACCEL_WASM_HOST", raising=False)
    assert DeltaEncoder("wasm").host == "rust"
    assert DeltaEncoder("native").host is None  # only the wasm backend has a host
    for host in ("rust", "wasmtime-py"):
        made = [
            DeltaEncoder("wasm", host=host).host,
            DeltaEncoder(f"wasm/{host}").host,
            JsonProcessor("wasm", host=host).host,
            JsonProcessor(f"wasm/{host}").host,
            VectorIndex(4, backend="wasm", host=host).host,
        ]
        assert made == [host] * 5
        assert f"host={host!r}" in repr(DeltaEncoder(f"wasm/{host}"))
        monkeypatch.setenv("OMS_ACCEL_WASM_HOST", host)
        assert DeltaEncoder("wasm").host == host  # the environment decides
        other = "rust" if host == "wasmtime-py" else "wasmtime-py"
        assert DeltaEncoder("wasm", host=other).host == other  # the argument wins
    # Both hosts run the same component: the same bytes out.
    old, new = b"version one " * 999, b"version two " * 999
    deltas = {DeltaEncoder(f"wasm/{h}").encode(old, new) for h in ("rust", "wasmtime-py")}
    assert len(deltas) == 1


def test_bad_host_choices_are_argument_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AccelArgumentError, match="unknown wasm host 'jvm'"):
        DeltaEncoder("wasm", host="jvm")
    with pytest.raises(AccelArgumentError, match="only the wasm backend has hosts"):
        DeltaEncoder("native/rust")
    with pytest.raises(AccelArgumentError, match="names host"):
        DeltaEncoder("wasm/rust", host="wasmtime-py")
    monkeypatch.setenv("OMS_ACCEL_WASM_HOST", "nonsense")
    with pytest.raises(AccelArgumentError):
        DeltaEncoder("wasm")


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


def test_without_the_native_module_the_wasmtime_py_host_does_everything() -> None:
    # A subprocess in which oms_accel._native cannot be imported.
    code = (
        "import sys; sys.modules['oms_accel._native'] = None\n"
        "import oms_accel\n"
        "from oms_accel import DeltaEncoder, DeltaError, BackendUnavailableError\n"
        "assert oms_accel.available_backends() == ['wasm', 'python'], oms_accel.available_backends()\n"
        "assert 'native' in oms_accel.backend_report()['native']\n"
        "report = oms_accel.host_report()\n"
        "assert report['wasmtime-py'] is None and 'native module' in report['rust'], report\n"
        "enc = DeltaEncoder()\n"
        "assert (enc.backend, enc.method, enc.host) == ('wasm', 'vcdiff', 'wasmtime-py')\n"
        "try:\n"
        "    DeltaEncoder('wasm/rust')\n"
        "except BackendUnavailableError as e:\n"
        "    assert 'native module' in str(e), e\n"
        "else:\n"
        "    raise AssertionError('the rust host without the native module')\n"
        "doc = oms_accel.JsonProcessor().parse_large_document('{\"a\": [1, 2]}')\n"
        "assert doc.get('/a/1') == 2\n"
        "index = oms_accel.VectorIndex(2, backend='wasm')\n"
        "index.add([[1, 0], [0, 1]])\n"
        "assert int(index.search([0, 1], k=1)[0][0]) == 1\n"
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
