"""The component's life in Python: threads, traps, limits, the compile cache
and the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from oms_accel import AccelError, DeltaEncoder, DeltaError, LimitError, Limits
from oms_accel._wasm import bindings
from oms_accel._wasm import runtime as rt
from oms_accel.samples import document, edit

OLD = document(2 << 20, seed=41)
NEW = edit(OLD, 0.01, seed=42)


def test_threads_calling_at_once() -> None:
    enc = DeltaEncoder("wasm")
    expected = enc.encode(OLD, NEW)
    errors: list[BaseException] = []
    instances: set[int] = set()

    def work() -> None:
        try:
            for _ in range(5):
                delta = enc.encode(OLD, NEW)
                assert delta == expected
                assert enc.decode(OLD, delta) == NEW
            instances.add(id(rt.get_runtime().thread_instance(enc.limits)))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(instances) == 6  # one store and instance per thread


def test_out_of_memory_is_a_limit_error_and_the_next_call_works() -> None:
    tiny = DeltaEncoder("wasm", limits=Limits(memory_bytes=40 << 20))
    big = os.urandom(36 << 20)
    with pytest.raises(LimitError, match="memory"):
        tiny.encode(big, big)
    # Whether that trapped or failed cleanly, the next call under the same
    # limit works (on a fresh instance if the last one died).
    for _ in range(2):
        try:
            assert tiny.decode(OLD, tiny.encode(OLD, NEW)) == NEW
            break
        except LimitError:
            pass  # a grown instance near its limit traps once, and is replaced
    else:
        raise AssertionError("no call succeeded after the out-of-memory error")


def test_time_limit_interrupts_and_the_next_call_works() -> None:
    slow = DeltaEncoder("wasm", limits=Limits(timeout_s=0.001))
    noise = os.urandom(48 << 20)
    with pytest.raises(LimitError, match="time limit"):
        slow.encode(noise[: 24 << 20], noise[24 << 20 :])
    enc = DeltaEncoder("wasm")
    assert enc.decode(OLD, enc.encode(OLD, NEW)) == NEW


def test_a_trap_kills_only_that_instance() -> None:
    enc = DeltaEncoder("wasm")
    enc.encode(b"a", b"b")
    healthy = rt.get_runtime().thread_instance(enc.limits)
    limits = Limits(memory_bytes=1 << 30, timeout_s=0.001)
    hurried = DeltaEncoder("wasm", limits=limits)
    doomed = rt.get_runtime().thread_instance(limits)
    noise = os.urandom(48 << 20)
    with pytest.raises(LimitError, match="time limit"):
        hurried.encode(noise[: 24 << 20], noise[24 << 20 :])
    assert doomed.dead and not healthy.dead
    assert not os.path.exists(doomed.scratch)  # its scratch directory is gone
    fresh = rt.get_runtime().thread_instance(limits)
    assert fresh is not doomed and not fresh.dead
    assert rt.get_runtime().thread_instance(enc.limits) is healthy


def test_sandbox_sees_only_its_scratch_directory() -> None:
    inst = rt.get_runtime().thread_instance(Limits())
    opts = bindings._record(window_size=0, source_window_size=0, checksum=True)
    for path in ("/etc/passwd", "/scratch/../../etc/passwd", "../etc/passwd"):
        with pytest.raises(AccelError) as e:
            bindings._call(inst, bindings.DELTA, "encode-file", [path, path, "/scratch/out", opts], DeltaError)
        assert e.value.code == "io"


def test_guest_error_does_not_kill_the_instance() -> None:
    enc = DeltaEncoder("wasm")
    with pytest.raises(AccelError):
        enc.decode(b"", b"garbage")
    inst = rt.get_runtime().thread_instance(enc.limits)
    assert not inst.dead


def _info_in_subprocess(cache: Path) -> str:
    env = dict(os.environ, OMS_ACCEL_CACHE_DIR=str(cache))
    code = (
        "from oms_accel import DeltaEncoder\nfrom oms_accel._wasm import runtime as rt\n"
        "DeltaEncoder('wasm').encode(b'a', b'b')\n"
        "print(rt.get_runtime().cache_path)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_compiled_component_is_cached_and_a_corrupt_cache_is_replaced(
    tmp_path: Path,
) -> None:
    cached = Path(_info_in_subprocess(tmp_path))
    assert cached.parent == tmp_path and cached.is_file()
    good = cached.read_bytes()
    assert _info_in_subprocess(tmp_path) == str(cached)  # loaded from the cache
    cached.write_bytes(good[: len(good) // 2])  # a torn write
    assert _info_in_subprocess(tmp_path) == str(cached)
    assert cached.read_bytes() == good  # recompiled, atomically replaced
    # The compiled component and its checksum, no temporary left.
    assert sorted(p.name for p in tmp_path.iterdir()) == [cached.name, cached.with_suffix(".sha256").name]


def test_cache_key_changes_with_the_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_ACCEL_CACHE_DIR", str(tmp_path))
    runtime = rt.get_runtime()
    key = runtime._cache_file()
    runtime.wasm_sha256 = "0" * 64
    try:
        assert runtime._cache_file() != key
    finally:
        runtime.wasm_sha256 = rt.hashlib.sha256(rt.component_path().read_bytes()).hexdigest()


def test_a_trap_under_faulthandler_does_not_kill_the_process() -> None:
    # faulthandler enabled after the engine exists owns SIGILL/SIGSEGV; a
    # signal-based trap would then end the process. Ours are explicit checks.
    code = (
        "import faulthandler, os\n"
        "from oms_accel import DeltaEncoder, Limits, LimitError\n"
        "from oms_accel.samples import document, edit\n"
        "DeltaEncoder('wasm').encode(b'a', b'b')\n"
        "faulthandler.enable()\n"
        "tiny = DeltaEncoder('wasm', limits=Limits(memory_bytes=16 << 20))\n"
        "old = document(2 << 20); new = edit(old)\n"
        "traps = 0\n"
        "for args in [(os.urandom(12 << 20),) * 2, (old, new), (old, new)]:\n"
        "    try:\n"
        "        tiny.encode(*args)\n"
        "    except LimitError:\n"
        "        traps += 1\n"
        "print('alive', traps)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "alive"
    assert int(out.stdout.split()[1]) >= 1
