"""The component's life in Python, on each host: threads, traps, limits, the
compile cache and the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oms_accel import AccelError, DeltaEncoder, LimitError, Limits
from oms_accel._wasm import component as comp
from oms_accel.samples import document, edit

from ..conftest import WASM_HOSTS

OLD = document(2 << 20, seed=41)
NEW = edit(OLD, 0.01, seed=42)

pytestmark = pytest.mark.skipif(not WASM_HOSTS, reason="no host runs the component here")


@pytest.fixture(params=WASM_HOSTS)
def host(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def runtime(host: str) -> Any:
    """The host's process-wide runtime (each has `thread_instance` and `cache_path`)."""
    if host == "rust":
        from oms_accel._wasm import rust

        return rust.get_runtime()
    from oms_accel._wasm import runtime as rt

    return rt.get_runtime()


def alive(inst: Any) -> bool:
    return bool(inst.alive) if hasattr(inst, "alive") else not inst.dead


def wasm(host: str, **kw: Any) -> DeltaEncoder:
    return DeltaEncoder(f"wasm/{host}", **kw)


def test_threads_calling_at_once(host: str) -> None:
    enc = wasm(host)
    expected = enc.encode(OLD, NEW)
    errors: list[BaseException] = []
    instances: set[int] = set()

    def work() -> None:
        try:
            for _ in range(5):
                delta = enc.encode(OLD, NEW)
                assert delta == expected
                assert enc.decode(OLD, delta) == NEW
            instances.add(id(runtime(host).thread_instance(enc.limits)))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(instances) == 6  # one store and instance per thread


def test_out_of_memory_is_a_limit_error_and_the_next_call_works(host: str) -> None:
    tiny = wasm(host, limits=Limits(memory_bytes=40 << 20))
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


def test_time_limit_interrupts_and_the_next_call_works(host: str) -> None:
    slow = wasm(host, limits=Limits(timeout_s=0.001))
    noise = os.urandom(48 << 20)
    with pytest.raises(LimitError, match="time limit"):
        slow.encode(noise[: 24 << 20], noise[24 << 20 :])
    enc = wasm(host)
    assert enc.decode(OLD, enc.encode(OLD, NEW)) == NEW


def test_no_time_limit_lets_a_long_call_finish(host: str) -> None:
    # An encode that a 1 ms limit stops runs to its end without one, and
    # gives the bytes the timed code gives. A limit stops a call within two
    # to three epoch ticks (40-60 ms), later where the ticker waits for a
    # busy CPU: this encode takes 300-400 ms here (4 MiB, about 100 ms, once
    # finished under a loaded CI run).
    noise = os.urandom(24 << 20)
    old, new = noise[: 12 << 20], noise[12 << 20 :]
    with pytest.raises(LimitError, match="time limit"):
        wasm(host, limits=Limits(timeout_s=0.001)).encode(old, new)
    untimed = wasm(host, limits=Limits(timeout_s=None))
    delta = untimed.encode(old, new)
    assert delta == wasm(host).encode(old, new)
    assert untimed.decode(old, delta) == new
    inst = runtime(host).thread_instance(untimed.limits)
    assert (inst.timeout_s if host == "rust" else inst.limits.timeout_s) is None


def test_untimed_code_serves_only_calls_without_a_limit() -> None:
    # The Rust host compiles the component a second time without epoch checks
    # for Limits(timeout_s=None); an instance of each runtime refuses the
    # other kind of limit, so no call can lose its time limit by mistake.
    if "rust" not in WASM_HOSTS:
        pytest.skip("the Rust host does not load here")
    from oms_accel import AccelArgumentError, _native

    rt = runtime("rust")
    timed, untimed = rt.runtime_for(Limits()), rt.runtime_for(Limits(timeout_s=None))
    assert timed.timed and not untimed.timed
    assert rt.runtime_for(Limits(timeout_s=None)) is untimed  # made once
    with pytest.raises(AccelArgumentError, match="untimed runtime cannot keep a time limit"):
        _native.WasmInstance(untimed, 64 << 20, 1.0, [])
    with pytest.raises(AccelArgumentError, match="needs a time limit"):
        _native.WasmInstance(timed, 64 << 20, None, [])
    inst = _native.WasmInstance(untimed, 64 << 20, None, [])
    with pytest.raises(AccelArgumentError, match="untimed runtime"):
        inst.timeout_s = 5.0
    assert _native.wasm_delta_decode(inst, OLD, DeltaEncoder("wasm/rust").encode(OLD, NEW), 1 << 30, True) == NEW


def test_the_untimed_runtime_refuses_a_component_changed_since(monkeypatch: pytest.MonkeyPatch) -> None:
    # The untimed runtime reads the component again on first use: a file
    # that no longer matches what the timed runtime runs is refused.
    if "rust" not in WASM_HOSTS:
        pytest.skip("the Rust host does not load here")
    from oms_accel._wasm import rust

    fresh = rust._Runtime()
    monkeypatch.setattr(comp, "verified_component", lambda: (b"\0asm", "0" * 64))
    with pytest.raises(AccelError, match="changed on disk") as e:
        fresh.runtime_for(Limits(timeout_s=None))
    assert e.value.code == "unavailable"


def test_results_past_wasmtimes_default_hostcall_fuel(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # wasmtime lets a guest hand its host 128 MiB in one call by default;
    # the Rust host lets it hand over what its memory limit holds.
    from oms_accel.vector import similarity

    a = np.random.default_rng(0).standard_normal((6_000, 64), dtype=np.float32)
    scores = similarity(a, a, "dot", backend="wasm", host=host, limits=Limits(memory_bytes=1 << 30))  # 144 MB
    assert scores.shape == (6_000, 6_000)
    assert np.allclose(np.diag(scores), np.einsum("ij,ij->i", a, a), rtol=1e-5)
    old = os.urandom(1 << 20)
    new = old * 140  # 140 MiB
    enc = wasm(host)
    assert enc.decode(old, enc.encode(old, new)) == new
    # A large document's text: on wasmtime-py, which cannot raise the cap,
    # through a file; a string past it is a LimitError that says why.
    from oms_accel._wasm import bindings
    from oms_accel.json import JsonProcessor

    proc = JsonProcessor(backend=f"wasm/{host}")
    doc = proc.parse_large_document(json.dumps(["x" * 1000] * 140_000))
    text = doc.to_text()
    assert len(text) == 140_420_001 and text.endswith('x"]')
    # A value as large (the whole document: `to_python` is `get("")`),
    # while a small one of the same document still comes back in the call.
    assert doc.to_python() == ["x" * 1000] * 140_000
    assert doc.get("/139999") == "x" * 1000 and doc.get("/140000") is None
    # The names of an object as large.
    names = [f"{i:06d}" + "x" * 1000 for i in range(140_000)]
    keyed = proc.parse_large_document(json.dumps(dict.fromkeys(names, 0)))
    assert keyed.keys() == names and keyed.keys("/" + names[0]) is None
    # So do the text calls' results.
    big = json.dumps({"k": ["x" * 1000] * 140_000})
    assert proc.canonicalize(big) == big.replace(", ", ",").replace(": ", ":")
    merged = proc.merge_patch(big, '{"extra": 1}')
    assert merged["extra"] == 1 and len(merged["k"]) == 140_000
    if host == "wasmtime-py":
        monkeypatch.setattr(bindings, "_string_fits", lambda chars, per_char: True)
        with pytest.raises(LimitError, match=r"larger than wasmtime-py takes .* \(128 MiB\)"):
            doc.to_text()


def test_small_inputs_with_results_past_wasmtimes_default_hostcall_fuel(host: str) -> None:
    # A result can be far larger than what it came from. Pretty printing
    # indents each of these 140k values by 1000 spaces: 300 KB of text
    # becomes 140 MB.
    from oms_accel.json import JsonProcessor

    proc = JsonProcessor(backend=f"wasm/{host}", limits=Limits(memory_bytes=1 << 30))
    deep = "[" * 500 + "1," * 139_999 + "1" + "]" * 500
    pretty = proc.parse_large_document(deep).to_text(pretty=True)
    assert len(pretty) > 140_000_000 and pretty.count("\n") == 140_999
    assert pretty.split("\n")[500] == " " * 1000 + "1,"
    # A diff repeats each change's path: 10 keys of 1000 characters over an
    # array of 14k changes, 38 KB of text a document, make a 140 MB patch.
    path = ["k" * 999 + str(i) for i in range(10)]

    def nest(leaf: object) -> object:
        for key in reversed(path):
            leaf = {key: leaf}
        return leaf

    a, b = (json.dumps(nest([v] * 14_000), separators=(",", ":")) for v in (0, 1))
    assert len(a) == len(b) < 40_000
    patch = proc.diff(a, b)
    assert len(patch) == 14_000
    assert patch[13_999] == {"op": "replace", "path": "/" + "/".join(path) + "/13999", "value": 1}
    # Each `copy` of an array into itself doubles the document: 1 KB and 17
    # operations make 144 MB.
    copies = proc.apply_patch({"a": ["x" * 1100]}, [{"op": "copy", "from": "/a", "path": "/a/-"}] * 17)

    def leaves(v: object) -> int:
        return sum(leaves(x) for x in v) if isinstance(v, list) else 1

    assert leaves(copies["a"]) == 2**17 and copies["a"][0] == "x" * 1100


def test_violations_past_wasmtimes_default_hostcall_fuel(host: str) -> None:
    # Each violation repeats its value's path: 14k numbers under ten keys
    # of 1000 characters, where the schema wants strings, make 144 MB of
    # violations (the document is padded past VIOLATIONS_OR_FILE_FROM).
    from oms_accel.json import JsonProcessor

    keys = ["k" * 999 + str(i) for i in range(10)]
    doc: object = [0] * 14_000
    schema: object = {"items": {"type": "string"}}
    for key in reversed(keys):
        doc, schema = {key: doc}, {"additionalProperties": schema}
    doc["pad"] = "x" * (1 << 20)  # type: ignore[index]
    proc = JsonProcessor(backend=f"wasm/{host}", limits=Limits(memory_bytes=1 << 30))
    text = json.dumps(doc)
    found = proc.validate_schema(text, schema)
    assert proc.compile_schema(schema).validate(proc.parse_large_document(text)) == found  # a parsed one too
    assert len(found) == 14_000
    assert found[13_999].instance_path == "/" + "/".join(keys) + "/13999"
    assert found[13_999].schema_path == "/additionalProperties" * 10 + "/items/type"
    assert found[13_999].message == '0 is not of type "string"'


def test_a_thread_keeps_more_documents_than_a_store_has_handles(host: str) -> None:
    # wasmtime traps a store's 100,000th live handle; a thread's next
    # document goes into a fresh instance before that (comp.MAX_RESOURCES).
    from oms_accel.json import JsonProcessor

    proc = JsonProcessor(backend=f"wasm/{host}")
    docs = [proc.parse_large_document(b'{"a": %d}' % i) for i in range(100_010)]
    for i in (0, 89_999, 90_000, 100_009):
        assert docs[i].get("/a") == i


def test_a_trap_kills_only_that_instance(host: str) -> None:
    enc = wasm(host)
    enc.encode(b"a", b"b")
    healthy = runtime(host).thread_instance(enc.limits)
    limits = Limits(memory_bytes=1 << 30, timeout_s=0.001)
    hurried = wasm(host, limits=limits)
    doomed = runtime(host).thread_instance(limits)
    noise = os.urandom(48 << 20)
    with pytest.raises(LimitError, match="time limit"):
        hurried.encode(noise[: 24 << 20], noise[24 << 20 :])
    assert not alive(doomed) and alive(healthy)
    if host == "wasmtime-py":
        assert not os.path.exists(doomed.scratch)  # its scratch directory is gone
        from oms_accel._wasm.bindings import VECTOR

        # An export it never looked up: the dead instance says so, typed.
        with pytest.raises(AccelError, match="reset after an error"):
            doomed.func(VECTOR, "[method]index.truncate")
        # Nor is a scratch file asked of it (its directory is gone): the
        # same error, not a failed write in the scratch filesystem.
        with pytest.raises(AccelError, match="reset after an error"):
            doomed.scratch_path("add.f32")
    fresh = runtime(host).thread_instance(limits)
    assert fresh is not doomed and alive(fresh)
    assert runtime(host).thread_instance(enc.limits) is healthy
    # The hurried encoder works again, on a fresh instance: a small round
    # trip (a 2 MiB one can outrun its 1 ms limit, two epoch ticks, on a
    # loaded machine), tried a few times, each on a fresh instance.
    small_old, small_new = OLD[:8192], NEW[:8192]
    for attempt in range(5):
        try:
            assert hurried.decode(small_old, hurried.encode(small_old, small_new)) == small_new
            break
        except LimitError:
            assert attempt < 4, "a small round trip never fit in the time limit"


@pytest.mark.skipif("wasmtime-py" not in WASM_HOSTS, reason="wasmtime-py does not load here")
def test_the_guests_stderr_explains_a_trap_from_a_file_no_one_else_sees() -> None:
    inst = runtime("wasmtime-py").new_instance(Limits(), [])
    try:
        assert "stderr" not in os.listdir(inst.scratch)  # unlinked at once: neither the guest nor a sweep sees it
        # What the guest would write as it panics, then the trap's own text.
        with open(f"/proc/self/fd/{inst._stderr.fileno()}", "ab") as err:
            err.write(b"x" * 5000 + b"\npanicked at src/lib.rs:1:1:\nattempt to divide by zero\n")
        e = inst._trap_error(RuntimeError("wasm trap: wasm `unreachable` instruction executed"), AccelError)
        assert str(e) == "the component trapped: attempt to divide by zero" and e.code == "trap"
    finally:
        inst.close()


@pytest.mark.skipif("wasmtime-py" not in WASM_HOSTS, reason="wasmtime-py does not load here")
def test_a_trap_that_wrote_to_stderr_leaves_a_clean_exit() -> None:
    # The guest's allocation failure goes to its stderr before the trap.
    # When that went to a Python callback, wasmtime-py's library panicked in
    # one of its threads as the interpreter exited.
    code = (
        "import json\n"
        "from oms_accel import LimitError, Limits, JsonProcessor\n"
        "doc = json.dumps([{'k': i, 'v': 'x' * 20} for i in range(400_000)])\n"
        "p = JsonProcessor('wasm/wasmtime-py', limits=Limits(memory_bytes=32 << 20))\n"
        "try:\n"
        "    p.parse_large_document(doc)\n"
        "except LimitError as e:\n"
        "    print(e)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0 and "ran out of memory" in p.stdout, p.stdout + p.stderr[-2000:]
    assert "panicked" not in p.stderr, p.stderr[-2000:]


def test_sandbox_sees_only_what_is_preopened(host: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not for the guest")
    paths = ["/etc/passwd", str(secret), f"{comp.GUEST_SCRATCH}/../../etc/passwd", "../etc/passwd", "/in0/../../etc/passwd"]
    if host == "rust":
        from oms_accel import _native

        # An instance with one read-only input directory and a scratch one.
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "old").write_bytes(b"old")
        (tmp_path / "out").mkdir()
        inst = _native.WasmInstance(
            runtime(host).native, 64 << 20, 5.0, [(str(tmp_path / "in"), "/in0", False), (str(tmp_path / "out"), "/scratch", True)]
        )

        def open_(old: str, new: str, out: str) -> Any:
            return _native.wasm_file_encoder_open(inst, old, new, out, 0, 0, True)

        # The input directory is read-only: no output may be written there.
        with pytest.raises(AccelError) as e:
            open_("/in0/old", "/in0/old", "/in0/out")
        assert e.value.code == "io"
        assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["old"]
    else:
        from oms_accel._wasm import bindings

        inst = runtime(host).thread_instance(Limits())
        opts = bindings._record(window_size=0, source_window_size=0, checksum=True)

        def open_(old: str, new: str, out: str) -> Any:
            return bindings._call(inst, bindings.DELTA, "encode-file", [old, new, out, opts], AccelError)

    for path in paths:
        with pytest.raises(AccelError) as e:
            open_(path, path, f"{comp.GUEST_SCRATCH}/out")
        assert e.value.code == "io", path


def test_guest_error_does_not_kill_the_instance(host: str) -> None:
    enc = wasm(host)
    with pytest.raises(AccelError):
        enc.decode(b"", b"garbage")
    assert alive(runtime(host).thread_instance(enc.limits))


def _cache_in_subprocess(host: str, cache: Path, expect: str = "") -> str:
    """The cache file a fresh process used; `expect`: how it says it got the component."""
    env = dict(os.environ, OMS_ACCEL_CACHE_DIR=str(cache), OMS_ACCEL_WASM_HOST=host)
    module = "rust" if host == "rust" else "runtime"
    code = (
        f"from oms_accel import DeltaEncoder\nfrom oms_accel._wasm import {module} as m, component\n"
        "DeltaEncoder('wasm').encode(b'a', b'b')\nDeltaEncoder('wasm').encode(b'a', b'b')\n"
        f"print(m.get_runtime().cache_path)\nprint(component.LOADS[{host!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    path, how = done.stdout.strip().splitlines()
    assert how.startswith(expect), how
    # Only a compile that cannot be cached is worth a warning, and only once.
    assert done.stderr.count("RuntimeWarning") == (1 if "not cached" in how else 0), done.stderr
    return path


def test_compiled_component_is_cached_and_a_corrupt_cache_is_replaced(host: str, tmp_path: Path) -> None:
    cached = Path(_cache_in_subprocess(host, tmp_path, "compiled in"))
    assert cached.parent == tmp_path and cached.is_file()
    good = cached.read_bytes()
    assert _cache_in_subprocess(host, tmp_path, "loaded from the cache") == str(cached)
    cached.write_bytes(good[: len(good) // 2])  # a torn write
    assert _cache_in_subprocess(host, tmp_path) == str(cached)
    assert cached.read_bytes() == good  # recompiled, atomically replaced
    # The compiled component and its checksum, no temporary left.
    assert sorted(p.name for p in tmp_path.iterdir()) == [cached.name, cached.with_suffix(".sha256").name]


def test_an_unwritable_cache_is_said_once_per_host_and_shown_by_info(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    unwritable = tmp_path / "a-file" / "cache"  # (a permission bit would not stop root)
    env = dict(os.environ, OMS_ACCEL_CACHE_DIR=str(unwritable))
    exe = Path(sys.executable).parent / "oms-accel"
    info = subprocess.run([exe, "info", "--json"], env=env, check=True, capture_output=True, text=True)
    report = json.loads(info.stdout)
    for host in WASM_HOSTS:  # `info` loads every host that loads
        assert report[f"compiled_cache_file ({host})"] is None
        assert "not cached" in report[f"component_load ({host})"] and str(unwritable.parent) in report[f"component_load ({host})"]
    assert info.stderr.count("RuntimeWarning") == len(WASM_HOSTS) and "OMS_ACCEL_CACHE_DIR" in info.stderr


def _pid_of_a_call(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A fresh process that makes one call on the wasm backend, and where its perf map would be."""
    # The pid is printed first, so that a failed import still shows its stderr.
    code = "import os\nprint(os.getpid(), flush=True)\nfrom oms_accel import DeltaEncoder\nDeltaEncoder('wasm').encode(b'a', b'b')\n"
    done = subprocess.run([sys.executable, "-c", code], env=env, check=False, capture_output=True, text=True)
    return done, Path(f"/tmp/perf-{done.stdout.split()[0]}.map")


def test_the_perf_map_names_the_guest_functions_when_asked(host: str, tmp_path: Path) -> None:
    env = dict(os.environ, OMS_ACCEL_CACHE_DIR=str(tmp_path), OMS_ACCEL_WASM_HOST=host)
    env.pop(comp.ENV_PROFILER, None)
    done, perfmap = _pid_of_a_call(env)
    assert done.returncode == 0, done.stderr
    assert not perfmap.exists()  # none unless asked
    # Compiled, then loaded from the cache: the map names the guest's functions either way.
    for _ in range(2):
        done, perfmap = _pid_of_a_call(dict(env, OMS_ACCEL_WASM_PROFILER="perfmap"))
        try:
            assert done.returncode == 0, done.stderr
            text = perfmap.read_text()
        finally:
            perfmap.unlink(missing_ok=True)
        assert "oms_accel_guest" in text and "vcdiff" in text, text[:500]
    assert len(list(tmp_path.glob("*.cwasm"))) == 1  # the profiler changes no compiled code


def test_an_unknown_profiler_is_refused_by_name(host: str) -> None:
    env = dict(os.environ, OMS_ACCEL_WASM_HOST=host, OMS_ACCEL_WASM_PROFILER="vtune")
    done, _ = _pid_of_a_call(env)
    assert done.returncode == 1
    assert "OMS_ACCEL_WASM_PROFILER is 'vtune': it takes 'perfmap' or 'none'" in done.stderr, done.stderr


def test_each_host_has_its_own_cache_key() -> None:
    # Code compiled by one wasmtime must never be handed to another.
    sha = "0" * 64
    keys = {comp.cache_file(sha, "wasmtime-py=50.0.1;x"), comp.cache_file(sha, "rust=0.1.0;x")}
    assert len(keys) == 2
    assert comp.cache_file("1" * 64, "rust=0.1.0;x") not in keys


# A child process that uses the component, turns faulthandler on or off at
# a point, then traps the guest (a memory limit) and, if asked, crashes in
# C. The Rust host traps by signals, whose handler must stay in front of
# faulthandler's wherever that was installed, and hand it the faults that are
# not the guest's.
FAULT_SCRIPT = """
import ctypes, faulthandler, os, sys
from oms_accel import DeltaEncoder, Limits, LimitError
from oms_accel.samples import document, edit
mode, crash = sys.argv[1], sys.argv[2] == "crash"
if mode == "before":
    faulthandler.enable()
DeltaEncoder("wasm").encode(b"a", b"b")
if mode in ("after", "after-then-off"):
    faulthandler.enable()
tiny = DeltaEncoder("wasm", limits=Limits(memory_bytes=16 << 20))
old = document(2 << 20); new = edit(old)
if mode == "after-then-off":
    tiny.encode(old, new)
    faulthandler.disable()
traps = 0
for args in [(os.urandom(12 << 20),) * 2, (old, new), (os.urandom(12 << 20),) * 2]:
    try:
        tiny.encode(*args)
    except LimitError:
        traps += 1
print("alive", traps, flush=True)
if crash:
    ctypes.string_at(0)
"""

FAULT_MODES = ["off", "before", "after", "after-then-off"]


def run_fault_script(host: str, mode: str, crash: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMS_ACCEL_WASM_HOST=host)
    env.pop("PYTHONFAULTHANDLER", None)
    args = [sys.executable, "-c", FAULT_SCRIPT, mode, "crash" if crash else "no"]
    return subprocess.run(args, env=env, check=False, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_a_trap_under_faulthandler_does_not_kill_the_process(host: str, mode: str) -> None:
    """faulthandler turned on before the engine starts, after it (where its
    handler stands in front of the engine's), or after and off again: a
    guest's trap is a LimitError each time, and the process lives on."""
    out = run_fault_script(host, mode, crash=False)
    assert out.returncode == 0, out.stderr
    alive, traps = out.stdout.split()
    assert alive == "alive" and int(traps) >= 2
    assert "Fatal Python error" not in out.stderr


@pytest.mark.parametrize("mode", FAULT_MODES)
def test_a_crash_outside_the_guest_still_reaches_faulthandler(host: str, mode: str) -> None:
    """The reverse: a fault outside the guest (a null pointer read in C) is
    not taken for a trap. It ends the process by SIGSEGV, with faulthandler's
    traceback printed once where faulthandler is on, and no hang where it
    was turned off."""
    out = run_fault_script(host, mode, crash=True)
    assert out.stdout.startswith("alive")
    assert out.returncode == -11, (out.returncode, out.stderr)
    dumps = out.stderr.count("Fatal Python error: Segmentation fault")
    assert dumps == (1 if mode in ("before", "after") else 0), out.stderr


def test_a_resource_freed_mid_call_is_dropped_after_the_call() -> None:
    """Python code runs in the middle of a wasmtime-py call when the guest
    writes to stderr (the host keeps it, to explain a trap), and so can the
    garbage collector, finalizing a document of the same instance. Its drop
    must wait for the call to end: entering an instance mid-call traps
    ("cannot enter component instance", seen once in a full run, hiding a
    memory limit's LimitError). Here the drop comes from inside the call
    itself, as such a finalizer's would."""
    from oms_accel._wasm import runtime as rt

    class Handle:
        drops = 0

        def drop(self, store: Any) -> None:
            self.drops += 1

    inst = rt.get_runtime().thread_instance(Limits())
    handle = Handle()
    seen = []

    def call_that_frees(store: Any) -> str:
        inst.drop(handle)  # what the finalizer would run here
        seen.append(handle.drops)
        return "done"

    assert inst.call(call_that_frees, [], AccelError) == "done"
    assert seen == [0] and handle.drops == 1 and not inst.dead
    inst.drop(handle)  # outside a call: at once
    assert handle.drops == 2
