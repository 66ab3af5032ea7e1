"""The wasmtime-py host's runtime: loads the oms:accel WASI component and runs
calls in it. It knows nothing of the component's exports; `bindings` names
them.

- One Engine per process, with a fixed Config; the compiled component is cached
  on disk (`component.load_cached`, keyed by the component's sha256, the
  wasmtime-py version and the engine settings).
- One Store + instance per thread (a Store is not thread-safe; wasm calls release
  the GIL, so threads run in parallel). After a trap the instance is dropped and
  the next call builds a fresh one.
- WASI gets a private scratch directory and nothing else: no environment,
  arguments, network, or other files. Bulk bytes cross through that directory
  (files in tmpfs move ~600 MB/s, a ``list<u8>`` about 1 MB/s on this host).
- wasmtime installs no signal handlers (traps are explicit checks), so a
  trap never meets faulthandler or another library's handler.
- Memory is capped with Store limits; run time with epoch interruption, driven
  by one daemon thread that ticks every TICK_S seconds.
- After ``fork()`` the child builds its own runtime on first use: the
  parent's engine, stores and ticker thread do not survive a fork (a call
  into an inherited instance would wait forever for a lock or a tick), so
  objects made before the fork refuse to be used in the child.

docs/architecture.md describes the data plane and the life of an instance.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import AccelError, LimitError
from ..limits import Limits
from . import component as comp

TICK_S = 0.02
#: A call at least this long may have grown linear memory by tens of MiB
#: (touching 64 MiB takes longer): only after one is the instance asked
#: its size, which costs a call.
GROWTH_CALL_S = 0.005
#: The most bytes wasmtime lets a guest hand its host in one call, results
#: included (its "hostcall fuel"; wasmtime-py cannot change it).
HOSTCALL_FUEL = 128 << 20
#: Engine settings that change compiled code; part of the cache key.
ENGINE_SETTINGS = "epoch_interruption=1;opt=speed;signals_based_traps=0"


def wasmtime_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("wasmtime")
    except Exception:
        return None


_runtime: Runtime | None = None
_runtime_error: str | None = None
_runtime_lock = threading.Lock()
#: Bumped in a forked child: instances of an earlier generation are dead there.
_generation = 0
#: Whether this process has had the component do WASI file I/O.
_file_io_started = False
FORK_AFTER_FILE_IO = (
    "this process was forked after its parent had the component read or write files, and the runtime that serves "
    "those WASI calls (tokio, inside wasmtime-py's library) does not survive fork(): start workers with the spawn or "
    "forkserver method, or fork before the first call"
)


def mark_file_io() -> None:
    """Called before the component is given files to read or write."""
    global _file_io_started
    _file_io_started = True


def _after_fork_in_child() -> None:
    # The engine, stores and ticker thread of the parent are unusable here. A
    # new runtime works, except for WASI file I/O once the parent has used it:
    # then the component is unavailable in this child, with the reason.
    global _runtime, _runtime_error, _runtime_lock, _generation
    _runtime, _runtime_lock = None, threading.Lock()
    _runtime_error = FORK_AFTER_FILE_IO if _file_io_started else None
    _generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


def unavailable_reason() -> str | None:
    """None when the component loads here, else why it does not."""
    try:
        get_runtime()
    except AccelError as e:
        return str(e)
    return None


def get_runtime() -> Runtime:
    """The process's runtime, loaded on first use."""
    global _runtime, _runtime_error
    if _runtime is not None:
        return _runtime
    with _runtime_lock:
        if _runtime is None:
            if _runtime_error is not None:
                raise AccelError(_runtime_error, "unavailable")
            try:
                _runtime = Runtime(*comp.verified_component())
            except AccelError as e:
                _runtime_error = str(e)
                raise
    return _runtime


class Runtime:
    """The Engine, the compiled component and the epoch ticker of one process."""

    def __init__(self, wasm: bytes, wasm_sha256: str) -> None:
        try:
            import wasmtime
            import wasmtime.component
        except ImportError as e:
            raise AccelError(f"wasmtime-py is not installed: {e}") from None
        self._wasmtime = wasmtime
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.cranelift_opt_level = "speed"
        # No signal handlers: a trap is an explicit check, not a SIGILL/SIGSEGV
        # that whoever installed a handler last (faulthandler, a JVM, a crash
        # reporter) would turn into the death of the whole Python process.
        config.signals_based_traps = False
        if comp.perfmap():
            config.profiler = "perfmap"
        self.engine = wasmtime.Engine(config)
        self.wasm_sha256 = wasm_sha256
        Component = wasmtime.component.Component

        def compile() -> Any:
            try:
                return Component(self.engine, wasm)
            except wasmtime.WasmtimeError as e:
                raise AccelError(f"the component does not compile: {e}") from None

        self.component, self.cache_path = comp.load_cached(
            "wasmtime-py",
            self._cache_file(),
            lambda path: Component.deserialize_file(self.engine, path),
            compile,
            lambda c: c.serialize(),
            (wasmtime.WasmtimeError,),
        )
        self.linker = wasmtime.component.Linker(self.engine)
        self.linker.add_wasip2()
        self._instantiate_lock = threading.Lock()
        self._local = threading.local()
        ticker = threading.Thread(target=self._tick, name="oms-accel-epoch", daemon=True)
        ticker.start()

    def _tick(self) -> None:
        engine = weakref.ref(self.engine)
        while (e := engine()) is not None:
            e.increment_epoch()
            del e
            time.sleep(TICK_S)

    def _cache_file(self) -> Path:
        return comp.cache_file(self.wasm_sha256, f"wasmtime-py={wasmtime_version()};{ENGINE_SETTINGS}")

    def new_instance(self, limits: Limits, read_only_dirs: Sequence[str] = ()) -> Instance:
        """A fresh store and instance; `read_only_dirs` are preopened as /in0, /in1, ..."""
        with self._instantiate_lock:
            return Instance(self, limits, read_only_dirs)

    def thread_instance(self, limits: Limits) -> Instance:
        """This thread's reusable instance for `limits.memory_bytes` (a new one
        after a trap, or once it holds `MAX_RESOURCES`). Instances are kept
        per memory limit because linear memory never shrinks: an instance
        that has grown cannot honour a lower limit."""
        instances: dict[int, Instance] | None = getattr(self._local, "instances", None)
        if instances is None:
            instances = self._local.instances = {}
        inst = instances.get(limits.memory_bytes)
        if inst is None or inst.dead or inst.handles >= comp.MAX_RESOURCES:
            inst = instances[limits.memory_bytes] = self.new_instance(limits)
        inst.limits = limits
        return inst


class Instance:
    """One Store, one component instance and its private scratch directory."""

    def __init__(self, runtime: Runtime, limits: Limits, read_only_dirs: Sequence[str]) -> None:
        wasmtime = runtime._wasmtime
        self._runtime = runtime
        self._wasmtime = wasmtime
        self.scratch = comp.new_scratch_dir()
        # The guest's stderr (where a panic or an allocation failure says
        # what a trap was) goes to a file, not to a Python callback:
        # wasmtime-py's library calls that from a thread of its own, which
        # panicked at interpreter exit once a trap had written to it. The
        # file is unlinked once WASI has opened it, and read through this
        # descriptor.
        err_path = os.path.join(self.scratch, "stderr")
        self._stderr = open(err_path, "w+b")
        self._finalizer = weakref.finalize(self, _release, self.scratch, os.getpid(), self._stderr)
        self.generation = _generation
        self.dead = False
        #: Resources of this instance that Python objects own (documents,
        #: schemas): while there are any, it is never replaced.
        self.handles = 0
        #: Whether a call since the last `take_grown` ran long enough to grow.
        self.grown = False
        # Calls are serialized per instance: a document or schema made on one
        # thread may be used from another, and a Store is not thread-safe.
        self.lock = threading.RLock()
        #: Whether a call is running (on the thread holding `lock`), and the
        #: resource drops that arrived meanwhile: the garbage collector can
        #: run a finalizer that drops a resource of this instance in the
        #: middle of one of its calls (while wasmtime-py lowers arguments in
        #: Python), and entering an instance mid-call traps ("cannot enter
        #: component instance"), so such a drop waits for the call to end.
        self._in_call = False
        self._deferred_drops: list[Any] = []
        wasi = wasmtime.WasiConfig()
        wasi.preopen_dir(self.scratch, comp.GUEST_SCRATCH)
        for i, d in enumerate(read_only_dirs):
            wasi.preopen_dir(d, f"/in{i}", False)
        wasi.stderr_file = err_path
        os.unlink(err_path)
        self.store: Any = wasmtime.Store(runtime.engine)
        self.store.set_wasi(wasi)
        self.limits = limits
        self.store.set_limits(memory_size=limits.memory_bytes)
        self.store.set_epoch_deadline(1 << 40)
        self._funcs: dict[tuple[str, str], Any] = {}
        #: What the bindings looked up in this instance, kept with it.
        self.lookups: dict[Any, Any] = {}
        self.instance: Any = None
        try:
            self.instance = runtime.linker.instantiate(self.store, runtime.component)
        except wasmtime.WasmtimeError as e:
            self.close()
            raise AccelError(f"the component does not instantiate: {e}") from None

    def scratch_path(self, name: str) -> str:
        self.check_alive()  # a dead instance's scratch directory is gone
        return os.path.join(self.scratch, name)

    def func(self, interface: str, name: str) -> Any:
        """An exported function, looked up once."""
        key = (interface, name)
        f = self._funcs.get(key)
        if f is None:
            self.check_alive()  # a dead instance has no exports to look up
            iface = self.instance.get_export_index(self.store, interface)
            index = self.instance.get_export_index(self.store, name, iface) if iface else None
            f = self.instance.get_func(self.store, index) if index else None
            if f is None:
                raise AccelError(f"the component exports no {interface}#{name}", "unavailable")
            self._funcs[key] = f
        return f

    def check_alive(self) -> None:
        """Raises when this instance can take no more calls."""
        if self.generation != _generation:
            raise AccelError("this object was made before fork(): make it again in the child process", "unavailable")
        if self.dead:
            raise AccelError("the component instance was reset after an error: make this object again", "trap")

    def call(self, func: Any, args: Sequence[Any], capability: type[AccelError]) -> Any:
        """Calls `func` (from `func`) under this instance's time limit and
        returns what wasmtime-py lifts. A trap kills the instance and
        becomes a LimitError (time, memory) or a `capability` error with
        code ``trap``."""
        with self.lock:
            self.check_alive()
            # No time limit: a deadline the epoch never reaches (this host's
            # code always checks it).
            t = self.limits.timeout_s
            self.store.set_epoch_deadline(1 << 62 if t is None else int(t / TICK_S) + 2)
            start = time.perf_counter()
            self._in_call = True
            try:
                return func(self.store, *args)
            except (self._wasmtime.WasmtimeError, self._wasmtime.Trap) as e:
                exc = self._trap_error(e, capability)
                self.close()  # a trapped instance is unusable: free its memory and scratch now
                raise exc from None
            finally:
                self._in_call = False
                self.grown = self.grown or time.perf_counter() - start >= GROWTH_CALL_S
                while self._deferred_drops and not self.dead:
                    self._deferred_drops.pop().drop(self.store)
                self._deferred_drops.clear()

    def take_grown(self) -> bool:
        """Whether, holding no resource, it ran a call long enough to have
        grown since this was last asked."""
        with self.lock:
            if self.handles or self.dead or self._in_call:
                return False  # asked again when its last resource goes (or a finalizer asks mid-call)
            grown, self.grown = self.grown, False
            return grown

    def drop(self, handle: Any, owned: bool = False) -> None:
        """Frees a resource handle in this instance, unless the instance is
        gone; `owned`: one counted in `handles`."""
        with self.lock:
            self.handles -= owned
            if self.dead or self.generation != _generation:
                return
            if self._in_call:  # a finalizer, run in the middle of this thread's call
                self._deferred_drops.append(handle)
            else:
                handle.drop(self.store)

    def _trap_error(self, e: Exception, capability: type[AccelError]) -> AccelError:
        message = str(e)
        # The tail: the guest writes there only as it traps, and an instance
        # dies at its first trap.
        fd = self._stderr.fileno()
        stderr = os.pread(fd, 4096, max(0, os.fstat(fd).st_size - 4096)).decode("utf-8", "replace")
        # A core Trap says its code; a component call's trap reaches wasmtime-py
        # as a WasmtimeError whose text is all it says ("wasm trap: interrupt").
        code = getattr(e, "trap_code", None)
        if code == self._wasmtime.TrapCode.INTERRUPT or (code is None and "interrupt" in message):
            return LimitError(f"the call ran past its time limit of {self.limits.timeout_s:g} s", "limit-exceeded")
        # The guest's allocator reports running out of memory on stderr before
        # it aborts, when it can; its abort's backtrace always names the
        # allocation error handler. (wasmtime-py has no resource limiter to
        # say that growth was refused, as the Rust host's does.)
        if "memory allocation" in stderr or any(w in message for w in ("out of memory", "rust_oom", "handle_alloc_error")):
            mib = self.limits.memory_bytes >> 20
            return LimitError(f"the component ran out of memory (limit {mib} MiB)", "limit-exceeded")
        # wasmtime takes at most 128 MiB from a guest in one call, results
        # included; wasmtime-py offers no setting to raise it (the Rust host
        # raises it to the memory limit).
        if "fuel allocated for hostcalls" in message:
            return LimitError(
                f"the result is larger than wasmtime-py takes from the component in one call ({HOSTCALL_FUEL >> 20} MiB); "
                "the Rust host (host='rust') takes up to the memory limit",
                "limit-exceeded",
            )
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else message.splitlines()[0]
        return capability(f"the component trapped: {detail}", "trap")

    def close(self) -> None:
        self.dead = True
        self._finalizer()
        # Let go of the store, and the linear memory it holds, now: a thread's
        # dead instance stays in its table until its next call replaces it.
        with self.lock:
            self._funcs.clear()
            self.lookups.clear()
            self.store = self.instance = None


def _release(path: str, owner: int, stderr: IO[bytes]) -> None:
    """What an instance holds outside its store: its stderr file and its
    scratch directory."""
    stderr.close()
    # A forked child inherits the object but not the directory's ownership.
    if os.getpid() == owner:
        shutil.rmtree(path, True)


@contextlib.contextmanager
def file_instance(limits: Limits, paths: Sequence[str]) -> Iterator[tuple[Instance, list[str]]]:
    """A one-off instance that can read `paths` (through read-only preopens of
    their directories); yields it with the guest paths of `paths`."""
    mark_file_io()
    dirs, guest = comp.input_dirs(paths)
    inst = get_runtime().new_instance(limits, dirs)
    try:
        yield inst, guest
    finally:
        inst.close()
