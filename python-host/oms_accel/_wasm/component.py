"""What both hosts share about the component: where its file is, the check
of its integrity, the cache of its compiled code, and the directories a file
operation opens to it.

- The component's sha256 is pinned into the package when it is built
  (``oms_accel.wasm.sha256`` beside it): a component that does not match is
  refused, naming both hashes. ``$OMS_ACCEL_WASM`` may point at another
  component only with its expected hash in ``$OMS_ACCEL_WASM_SHA256``.
- The compiled component is cached on disk, keyed by the component's sha256,
  the host and its runtime's version and engine settings. Compiled code is
  native code: the cache is used only in a directory owned by this user and
  writable by no one else (created 0700), and a file in it only when this
  user owns it, no one else can write it, and its sidecar checksum matches;
  elsewhere the component is compiled in memory (a warning says so once)
  and nothing is read from or written to the cache.
- ``$OMS_ACCEL_WASM_PROFILER=perfmap`` has either host write
  ``/tmp/perf-<pid>.map``, which names the guest's compiled functions in
  ``perf report`` (how the sandbox's code is profiled against the guest's
  own compiled natively). It changes no compiled code, so not the cache.
- A file operation sees the directories of its inputs read-only, as /in0,
  /in1, ..., and a private scratch directory (tmpfs where there is one) as
  /scratch, where its output is written before it is moved into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

WASM_NAME = "oms_accel.wasm"
ENV_WASM = "OMS_ACCEL_WASM"
ENV_WASM_SHA256 = "OMS_ACCEL_WASM_SHA256"
#: The pinned sha256 of the component, written beside it at build time.
PIN_NAME = WASM_NAME + ".sha256"
ENV_CACHE = "OMS_ACCEL_CACHE_DIR"
ENV_PROFILER = "OMS_ACCEL_WASM_PROFILER"
ENV_SCRATCH = "OMS_ACCEL_SCRATCH_DIR"
#: Compiled components kept in the cache (one per component build, host and engine).
CACHE_KEEP = 4
#: Where a file operation's scratch directory appears in the guest.
GUEST_SCRATCH = "/scratch"
#: The most resources (documents, schemas, ...) a thread's shared instance
#: holds before the thread's next object goes into a fresh one. wasmtime
#: refuses a store's 100,000th live handle (in wasmtime-py no setting
#: changes that) with a trap, which lost every document of the instance;
#: the rest is room for the handles a call borrows.
MAX_RESOURCES = 90_000

T = TypeVar("T")


def component_path() -> Path:
    """Where the component is: ``$OMS_ACCEL_WASM``, else the package data."""
    override = os.environ.get(ENV_WASM)
    if override:
        return Path(override)
    return Path(str(importlib.resources.files("oms_accel").joinpath(WASM_NAME)))


def pinned_sha256() -> str | None:
    """The sha256 the package pins for its component (None if it pins none)."""
    try:
        return importlib.resources.files("oms_accel").joinpath(PIN_NAME).read_text().strip().lower()
    except OSError:
        return None


def perfmap() -> bool:
    """Whether ``$OMS_ACCEL_WASM_PROFILER`` asks for perf's map of the
    compiled guest: ``perfmap``; unset, empty or ``none`` for none."""
    from ..errors import AccelError

    value = os.environ.get(ENV_PROFILER, "").strip()
    kind = value.lower()
    if kind in ("", "none"):
        return False
    if kind == "perfmap":
        return True
    raise AccelError(f"${ENV_PROFILER} is {value!r}: it takes 'perfmap' or 'none'", "unavailable")


def verified_component() -> tuple[bytes, str]:
    """The component's bytes and sha256, once its sha256 is the one expected:
    the package's pin, or ``$OMS_ACCEL_WASM_SHA256`` for a component named
    by ``$OMS_ACCEL_WASM``. The file is read once: what is compiled is what
    was checked, whatever happens to the file after. Raises AccelError
    (``unavailable``) otherwise."""
    from ..errors import AccelError

    path = component_path()
    try:
        wasm = path.read_bytes()
    except OSError as e:
        raise AccelError(f"the component {path} cannot be read ({e.strerror}; build it with `make build`)", "unavailable") from None
    actual = hashlib.sha256(wasm).hexdigest()
    if os.environ.get(ENV_WASM):
        expected = os.environ.get(ENV_WASM_SHA256, "").strip().lower()
        if not expected:
            raise AccelError(f"{ENV_WASM} names {path}: give its expected sha256 in {ENV_WASM_SHA256} too", "unavailable")
        pinner = ENV_WASM_SHA256
    else:
        expected = pinned_sha256() or ""
        if not expected:
            raise AccelError(f"the package pins no hash for its component ({PIN_NAME} is missing): rebuild it", "unavailable")
        pinner = "the package"
    if actual != expected:
        raise AccelError(f"refusing the component {path}: its sha256 is {actual}, but {pinner} expects {expected}", "unavailable")
    return wasm, actual


def cache_dir() -> Path:
    """Where compiled components are cached."""
    override = os.environ.get(ENV_CACHE)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "oms-accel"


#: tmpfs is used for scratch files only with this much room: a small one
#: (Docker's default /dev/shm is 64 MiB) would fail calls with ENOSPC.
TMPFS_MIN_FREE = 1 << 30
TMPFS = "/dev/shm"


def scratch_base() -> str:
    """Parent of the per-instance scratch directories: tmpfs where there is
    one with room (`TMPFS_MIN_FREE`), else the temporary directory on disk."""
    override = os.environ.get(ENV_SCRATCH)
    if override:
        return override
    with contextlib.suppress(OSError):
        if os.access(TMPFS, os.W_OK | os.X_OK) and shutil.disk_usage(TMPFS).free >= TMPFS_MIN_FREE:
            return TMPFS
    return tempfile.gettempdir()


_SCRATCH_NAME = re.compile(r"oms-accel-(\d+)-")
_swept = False


def new_scratch_dir() -> str:
    """A private scratch directory, named for this process so that one left
    by a process that died mid-call is recognized and removed (the first
    time each process makes one)."""
    global _swept
    if not _swept:
        _swept = True
        for base in {scratch_base(), TMPFS, tempfile.gettempdir()}:
            sweep_dead_scratch(base)
    return tempfile.mkdtemp(prefix=f"oms-accel-{os.getpid()}-", dir=scratch_base())


def sweep_dead_scratch(base: str) -> list[str]:
    """Removes the scratch directories under `base` of this user's processes
    that are gone (their copies of inputs would hold RAM on tmpfs); returns them."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(base):
            m = _SCRATCH_NAME.match(entry.name)
            if m is None or not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
            except ProcessLookupError:
                shutil.rmtree(entry.path, True)
                removed.append(entry.path)
            except OSError:
                pass  # alive, someone else's
    return removed


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cache_file(wasm_sha256: str, host_key: str) -> Path:
    """The cache file of the component `wasm_sha256` compiled as `host_key`
    (the host, its runtime's version and its engine settings) says."""
    key = hashlib.sha256(f"{wasm_sha256};{host_key}".encode()).hexdigest()
    return cache_dir() / f"component-{key[:32]}.cwasm"


#: How each host got its compiled component in this process, for `oms-accel info`.
LOADS: dict[str, str] = {}


def load_cached(
    host: str,
    path: Path,
    deserialize_file: Callable[[str], T],
    compile: Callable[[], T],
    serialize: Callable[[T], bytes],
    errors: tuple[type[BaseException], ...],
) -> tuple[T, Path | None]:
    """The component from the cache file `path` if it is intact and loads,
    else compiled (and `path` atomically replaced). Returns it and the cache
    file it came from or went to (None when the cache is not writable).

    `errors` are what `deserialize_file` raises for a file it refuses (one
    from another runtime version, say): then it is compiled anew. How it
    went is recorded in `LOADS[host]`; a compile that cannot be cached (so
    that every process pays it) is also a warning, once per process."""
    start = time.perf_counter()
    distrust = _untrusted_cache(path.parent)
    if distrust is not None:
        component = compile()
        took = time.perf_counter() - start
        LOADS[host] = f"compiled in memory in {took:.1f} s: the cache {path.parent} is not trusted ({distrust})"
        warnings.warn(
            f"oms-accel: not using the compiled-code cache {path.parent} ({distrust}): compiled the component for the "
            f"{host} host in memory in {took:.1f} s; set {ENV_CACHE} to a directory only you can write",
            RuntimeWarning,
            stacklevel=4,
        )
        return component, None
    sidecar = path.with_suffix(".sha256")
    with contextlib.suppress(OSError, ValueError, *errors):
        if _owned_and_private(path) and _owned_and_private(sidecar) and file_sha256(path) == sidecar.read_text().strip():
            component = deserialize_file(str(path))
            LOADS[host] = f"loaded from the cache in {time.perf_counter() - start:.2f} s"
            return component, path
    component = compile()
    took = time.perf_counter() - start
    try:
        payload = serialize(component)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Either file may be replaced first: a mismatch only means a recompile.
        _atomic_write(path, payload)
        _atomic_write(sidecar, hashlib.sha256(payload).hexdigest().encode())
        _prune_cache(path.parent, keep=path)
    except BaseException as e:
        if not isinstance(e, (OSError, *errors)):
            raise
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        LOADS[host] = f"compiled in {took:.1f} s, not cached ({path.parent}: {why}): every process compiles it"
        warnings.warn(
            f"oms-accel: compiled the component for the {host} host in {took:.1f} s, but cannot cache it in "
            f"{path.parent} ({why}), so every process will compile it again: set {ENV_CACHE} to a writable directory",
            RuntimeWarning,
            stacklevel=4,
        )
        return component, None
    LOADS[host] = f"compiled in {took:.1f} s and cached (later processes load it in well under a second)"
    return component, path


def _untrusted_cache(directory: Path) -> str | None:
    """None when `directory` (created 0700 if missing) is owned by this user
    and writable by no one else; else why it is not trusted. Another user who
    can write there could plant native code this process would run."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(directory)
    except OSError:
        return None  # no directory, so nothing to trust: the write fails, and says so
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"owned by uid {st.st_uid}, not by this user"
    if st.st_mode & 0o022:
        who = "group and others" if st.st_mode & 0o022 == 0o022 else "group" if st.st_mode & 0o020 else "others"
        return f"writable by {who} (mode {st.st_mode & 0o777:o})"
    return None


def _owned_and_private(path: Path) -> bool:
    """Whether this user owns `path` and no one else can write it."""
    st = os.stat(path)
    return (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not st.st_mode & 0o022


def _atomic_write(path: Path, data: bytes | bytearray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _prune_cache(directory: Path, keep: Path) -> None:
    """Removes all but the CACHE_KEEP newest compiled components (each is tens of MB)."""
    with contextlib.suppress(OSError):
        entries = sorted(directory.glob("component-*.cwasm"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [p for p in entries if p != keep][CACHE_KEEP - 1 :]:
            old.unlink(missing_ok=True)
            old.with_suffix(".sha256").unlink(missing_ok=True)


def input_dirs(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """The host directories to preopen read-only for `paths` (as /in0,
    /in1, ...) and the guest path of each of `paths` there."""
    dirs: list[str] = []
    guest: list[str] = []
    for p in paths:
        d, base = os.path.split(os.path.abspath(p))
        if d not in dirs:
            dirs.append(d)
        guest.append(f"/in{dirs.index(d)}/{base}")
    return dirs, guest


@contextlib.contextmanager
def scratch_dir() -> Iterator[str]:
    """A private directory for one file operation's output, removed after."""
    path = new_scratch_dir()
    try:
        yield path
    finally:
        shutil.rmtree(path, True)
