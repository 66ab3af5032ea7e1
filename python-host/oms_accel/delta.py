"""Binary deltas between document versions.

Three methods, one API:

- ``"vcdiff"``: VCDIFF (RFC 3284), portable: the wasm component or pure Python.
  Deltas decode with ``xdelta3 -d -s OLD``; ``xdelta3 -e -S none`` deltas decode here.
- ``"xdelta3"``: VCDIFF made and read by the xdelta3 C library (native module).
- ``"zstd"``: zstd patch-from frames (native module); they decode with
  ``zstd -d --patch-from=OLD``, and ``zstd --patch-from=OLD`` frames decode here.

``"auto"`` is zstd where the native module loads, else vcdiff. ``decode()``
recognizes the format from its magic bytes, whatever method made it: there is
no wrapper format.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

from . import _vcdiff, backends
from ._files import PathLike, atomic_output, byte_views, move_into_place, require_file
from .errors import AccelArgumentError, AccelError, BackendUnavailableError, DeltaError
from .limits import Limits

DELTA_INTERFACE = "oms:accel/delta@0.1.0"
Method = Literal["auto", "vcdiff", "xdelta3", "zstd"]
METHODS: tuple[Method, ...] = ("auto", "vcdiff", "xdelta3", "zstd")
VCDIFF_BACKENDS: tuple[backends.BackendName, ...] = ("wasm", "python")
#: Backends that can encode deltas, best first.
SUPPORTED_BACKENDS: tuple[backends.BackendName, ...] = ("native", "wasm", "python")

VCDIFF_MAGIC = b"\xd6\xc3\xc4"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

#: Called with (bytes done, bytes in all) as a file operation goes.
ProgressCallback = Callable[[int, int], None]


def _delta_error(code: str, message: str) -> AccelError:
    if code == "invalid-argument":
        return AccelArgumentError(message, code)
    return DeltaError(message, code)


def detect_format(delta: bytes | memoryview) -> Literal["vcdiff", "zstd"]:
    """The format of a delta from its magic bytes.

    Raises:
        DeltaError: too short to tell (``truncated``) or neither format (``corrupt``).
    """
    head = bytes(delta[:4])
    if head[:3] == VCDIFF_MAGIC:
        return "vcdiff"
    if head == ZSTD_MAGIC:
        return "zstd"
    if len(head) < 4 and (VCDIFF_MAGIC.startswith(head) or ZSTD_MAGIC.startswith(head)):
        raise DeltaError("the delta is empty" if not head else "the delta ends inside its header", "truncated")
    raise DeltaError("not a delta: neither VCDIFF nor zstd magic bytes", "corrupt")


def _native() -> Any:
    """The native module, or a DeltaError that says what to install."""
    try:
        from . import _native
    except ImportError:
        raise DeltaError(
            "this delta is a zstd frame, which needs the native module oms_accel._native: "
            "install oms-accel from a wheel built with it (maturin builds it from host-native/)",
            "unsupported",
        ) from None
    return _native


def _best_vcdiff_backend() -> backends.BackendName:
    for name in VCDIFF_BACKENDS:
        if name in backends.available_backends():
            return name
    raise BackendUnavailableError("no backend offers VCDIFF here")


class DeltaEncoder:
    """Encodes and decodes binary deltas between two versions of a document.

    Args:
        backend: ``"native"``, ``"wasm"`` (the sandboxed component), ``"python"``,
            ``"auto"`` or None (the ``OMS_ACCEL_BACKEND`` environment variable,
            else the best that loads).
        method: ``"vcdiff"`` (wasm or python), ``"xdelta3"`` or ``"zstd"`` (native),
            or ``"auto"``: zstd on the native backend, else vcdiff.
        level: the zstd compression level (method ``"zstd"``).
        limits: memory, time and output-size limits (defaults: `Limits()`).
        window_size: bytes of the new version per VCDIFF window (default 8 MiB).
        checksum: store an Adler-32 checksum of each VCDIFF window, as xdelta3 does.

    Raises:
        AccelArgumentError: an unknown backend or method.
        BackendUnavailableError: the backend does not load here or lacks the method.
    """

    def __init__(
        self,
        backend: str | None = None,
        *,
        method: Method = "auto",
        level: int = 3,
        limits: Limits | None = None,
        window_size: int | None = None,
        checksum: bool = True,
    ) -> None:
        if method not in METHODS:
            raise AccelArgumentError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
        if method in ("xdelta3", "zstd"):
            self.backend: backends.BackendName = backends.resolve(backend, ("native",), f"{method} deltas")
        elif method == "vcdiff":
            self.backend = backends.resolve(backend, VCDIFF_BACKENDS, "VCDIFF deltas")
        else:
            self.backend = backends.resolve(backend, SUPPORTED_BACKENDS, "deltas")
            method = "zstd" if self.backend == "native" else "vcdiff"
        self.method: Method = method
        self.level = level
        self.limits = limits or Limits()
        self.window_size = window_size or 0
        self.checksum = checksum

    def __repr__(self) -> str:
        return f"DeltaEncoder(backend={self.backend!r}, method={self.method!r})"

    # --- in memory ---------------------------------------------------------------

    def encode(self, old: Any, new: Any) -> bytes:
        """The delta that turns `old` into `new` (any bytes-like objects)."""
        with byte_views(old=old, new=new) as (old_b, new_b):
            return self._encode(old_b, new_b)

    def _encode(self, old_b: bytes | memoryview, new_b: bytes | memoryview) -> bytes:
        if self.method == "zstd":
            return bytes(_native().zstd_patch_encode(old_b, new_b, self.level))
        if self.method == "xdelta3":
            return bytes(_native().xdelta3_encode(old_b, new_b))
        if self.backend == "python":
            return _vcdiff.encode(old_b, new_b, self.checksum, deadline=self._deadline())
        from . import _wasm_runtime as rt

        inst = rt.get_runtime().thread_instance(self.limits)
        paths = [inst.scratch_path(n) for n in ("old", "new", "delta")]
        try:
            _write_both(paths[0], old_b, paths[1], new_b)
            inst.call(DELTA_INTERFACE, "encode-file", ["/scratch/old", "/scratch/new", "/scratch/delta", self._options()], _delta_error)
            return _read(paths[2])
        finally:
            _unlink(paths)

    def decode(self, old: Any, delta: Any) -> bytes:
        """The new version rebuilt from `old` and `delta` (any bytes-like
        objects), whichever method made the delta.

        Raises:
            DeltaError: the delta is corrupt, truncated, made against another
                source, fails its checksum, or needs a module that is missing.
            LimitError: the output would exceed ``limits.max_output_bytes``, or
                the call ran out of memory or time.
        """
        with byte_views(old=old, delta=delta) as (old_b, delta_b):
            return self._decode(old_b, delta_b)

    def _decode(self, old_b: bytes | memoryview, delta_b: bytes | memoryview) -> bytes:
        cap = self.limits.max_output_bytes
        if detect_format(delta_b) == "zstd":
            return bytes(_native().zstd_patch_decode(old_b, delta_b, cap, self.limits.zstd_max_window_log))
        # VCDIFF is read by our own decoder whichever method made it: the
        # xdelta3 library's decoder (``_native.xdelta3_decode``) accepts a delta
        # cut between windows, or with no window at all, as complete.
        backend = self.backend if self.backend in VCDIFF_BACKENDS else _best_vcdiff_backend()
        if backend == "python":
            return _vcdiff.decode(old_b, delta_b, cap, deadline=self._deadline())
        from . import _wasm_runtime as rt

        inst = rt.get_runtime().thread_instance(self.limits)
        paths = [inst.scratch_path(n) for n in ("old", "delta", "out")]
        try:
            _write(paths[0], old_b)
            _write(paths[1], delta_b)
            inst.call(DELTA_INTERFACE, "decode-file", ["/scratch/old", "/scratch/delta", "/scratch/out", cap], _delta_error)
            return _read(paths[2])
        finally:
            _unlink(paths)

    # --- files ---------------------------------------------------------------------

    def encode_file(self, old_path: PathLike, new_path: PathLike, out_path: PathLike, *, progress: ProgressCallback | None = None) -> int:
        """Writes the delta from `old_path` to `new_path` into `out_path`; returns its size.

        `out_path` appears only when the whole delta is written. `progress` gets
        (new-version bytes done, total). The wasm backend reads large files a
        window at a time; the others map them into memory.
        """
        old_p, new_p = require_file(old_path), require_file(new_path)
        if self.backend == "wasm":
            return self._wasm_file_op("file-encoder", [old_p, new_p], [self._options()], out_path, progress)
        with _mapped(old_p) as old, _mapped(new_p) as new:
            new_size = len(new)
            delta = (
                self.encode(old, new) if self.method != "vcdiff" else _vcdiff.encode(old, new, self.checksum, progress, self._deadline())
            )
        with atomic_output(out_path) as out:
            out.write(delta)
        if progress:
            progress(new_size, new_size)
        return len(delta)

    def decode_file(self, old_path: PathLike, delta_path: PathLike, out_path: PathLike, *, progress: ProgressCallback | None = None) -> int:
        """Writes the version rebuilt from `old_path` and `delta_path` into
        `out_path`; returns its size. `out_path` appears only on success.
        `progress` gets (delta bytes done, delta size)."""
        old_p, delta_p = require_file(old_path), require_file(delta_path)
        with open(delta_p, "rb") as f:
            fmt = detect_format(f.read(4))
        vcdiff_backend = self.backend if self.backend in VCDIFF_BACKENDS else _best_vcdiff_backend()
        if fmt == "vcdiff" and vcdiff_backend == "wasm":
            return self._wasm_file_op("file-decoder", [old_p, delta_p], [self.limits.max_output_bytes], out_path, progress)
        with _mapped(old_p) as old, _mapped(delta_p) as delta:
            delta_size = len(delta)
            if fmt == "vcdiff":
                new = _vcdiff.decode(old, delta, self.limits.max_output_bytes, progress, self._deadline())
            else:
                new = self.decode(old, delta)
        with atomic_output(out_path) as out:
            out.write(new)
        if progress:
            progress(delta_size, delta_size)
        return len(new)

    def _wasm_file_op(
        self, resource: str, inputs: list[str], extra: list[Any], out_path: PathLike, progress: ProgressCallback | None
    ) -> int:
        """Runs a file resource one window per call: each call gets the full time
        limit, and progress is reported between windows. The inputs are read in
        place through read-only preopens; the output goes to the scratch
        directory and is moved into place only when complete."""
        from . import _wasm_runtime as rt

        with rt.file_instance(self.limits, inputs) as (inst, guest_paths):
            handle = inst.call(DELTA_INTERFACE, f"[constructor]{resource}", [*guest_paths, "/scratch/out", *extra], _delta_error)
            try:
                while True:
                    p = inst.call(DELTA_INTERFACE, f"[method]{resource}.step", [handle], _delta_error)
                    if progress:
                        progress(p.done, p.total)
                    if p.finished:
                        break
            finally:
                if not inst.dead:
                    handle.drop(inst.store)
            out = inst.scratch_path("out")
            size = os.path.getsize(out)
            move_into_place(out, out_path)
            return size

    # --- helpers ---------------------------------------------------------------------

    def _options(self) -> Any:
        from . import _wasm_runtime as rt

        return rt.record(window_size=self.window_size, source_window_size=0, checksum=self.checksum)

    def _deadline(self) -> float:
        return time.monotonic() + self.limits.timeout_s


#: The name the monolith imports.
RustDeltaEncoder = DeltaEncoder


@contextlib.contextmanager
def _mapped(path: str) -> Iterator[bytes | memoryview]:
    """The file's bytes without reading them into Python: a read-only map
    (an empty file cannot be mapped, and gives b"")."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            view = memoryview(m)
            try:
                yield view
            finally:
                view.release()


def _write(path: str, data: bytes | memoryview) -> None:
    with open(path, "wb") as f:
        f.write(data)


#: Below this, a second thread costs more than it saves.
PARALLEL_WRITE_MIN = 1 << 20


def _write_both(path_a: str, a: bytes | memoryview, path_b: str, b: bytes | memoryview) -> None:
    """Writes two scratch files at once. A write releases the GIL, and on tmpfs
    most of its time is the kernel allocating and clearing pages: two 8 MiB
    files took 4.6 ms this way against 8.1 ms one after the other."""
    if min(len(a), len(b)) < PARALLEL_WRITE_MIN:
        _write(path_a, a)
        _write(path_b, b)
        return
    failure: list[BaseException] = []

    def write_b() -> None:
        try:
            _write(path_b, b)
        except BaseException as e:  # handed to the caller's thread below
            failure.append(e)

    helper = threading.Thread(target=write_b, name="oms-accel-write")
    helper.start()
    try:
        _write(path_a, a)
    finally:
        helper.join()
    if failure:
        raise failure[0]


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _unlink(paths: list[str]) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
