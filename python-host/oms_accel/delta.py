"""Binary deltas between document versions, in the VCDIFF format (RFC 3284).

Every backend reads and writes the same format: a delta made on one decodes on
any other, and with the ``xdelta3`` tool (``xdelta3 -d -s OLD``); deltas made by
``xdelta3 -e -S none`` decode here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from . import _vcdiff, backends
from ._files import PathLike, as_bytes, atomic_output, move_into_place, require_file
from .errors import DeltaError
from .limits import Limits

DELTA_INTERFACE = "oms:accel/delta@0.1.0"
SUPPORTED_BACKENDS: tuple[backends.BackendName, ...] = ("wasm", "python")

#: Called with (bytes done, bytes in all) as a file operation goes.
ProgressCallback = Callable[[int, int], None]


def _delta_error(code: str, message: str) -> DeltaError:
    return DeltaError(message, code)


class DeltaEncoder:
    """Encodes and decodes binary deltas between two versions of a document.

    Args:
        backend: ``"wasm"`` (the sandboxed component), ``"python"`` (pure Python),
            ``"auto"`` or None (the ``OMS_ACCEL_BACKEND`` environment variable,
            else the best that loads).
        limits: memory, time and output-size limits (defaults: `Limits()`).
        window_size: bytes of the new version per VCDIFF window (default 8 MiB).
        checksum: store an Adler-32 checksum of each window, as xdelta3 does.

    Raises:
        BackendUnavailableError: the requested backend does not load here.
    """

    def __init__(
        self,
        backend: str | None = None,
        *,
        limits: Limits | None = None,
        window_size: int | None = None,
        checksum: bool = True,
    ) -> None:
        self.backend: backends.BackendName = backends.resolve(backend, SUPPORTED_BACKENDS, "VCDIFF deltas")
        self.limits = limits or Limits()
        self.window_size = window_size or 0
        self.checksum = checksum

    def __repr__(self) -> str:
        return f"DeltaEncoder(backend={self.backend!r})"

    # --- in memory ---------------------------------------------------------------

    def encode(self, old: Any, new: Any) -> bytes:
        """The delta that turns `old` into `new` (any bytes-like objects)."""
        old_b, new_b = as_bytes(old, "old"), as_bytes(new, "new")
        if self.backend == "python":
            return _vcdiff.encode(old_b, new_b, self.checksum, deadline=self._deadline())
        from . import _wasm_runtime as rt

        inst = rt.get_runtime().thread_instance(self.limits)
        paths = [inst.scratch_path(n) for n in ("old", "new", "delta")]
        try:
            _write(paths[0], old_b)
            _write(paths[1], new_b)
            inst.call(DELTA_INTERFACE, "encode-file", ["/scratch/old", "/scratch/new", "/scratch/delta", self._options()], _delta_error)
            return _read(paths[2])
        finally:
            _unlink(paths)

    def decode(self, old: Any, delta: Any) -> bytes:
        """The new version rebuilt from `old` and `delta` (any bytes-like objects).

        Raises:
            DeltaError: the delta is corrupt, truncated, made against another
                source, or fails its checksum.
            LimitError: the output would exceed ``limits.max_output_bytes``, or
                the call ran out of memory or time.
        """
        old_b, delta_b = as_bytes(old, "old"), as_bytes(delta, "delta")
        if self.backend == "python":
            return _vcdiff.decode(old_b, delta_b, self.limits.max_output_bytes, deadline=self._deadline())
        from . import _wasm_runtime as rt

        inst = rt.get_runtime().thread_instance(self.limits)
        paths = [inst.scratch_path(n) for n in ("old", "delta", "out")]
        try:
            _write(paths[0], old_b)
            _write(paths[1], delta_b)
            inst.call(
                DELTA_INTERFACE,
                "decode-file",
                ["/scratch/old", "/scratch/delta", "/scratch/out", self.limits.max_output_bytes],
                _delta_error,
            )
            return _read(paths[2])
        finally:
            _unlink(paths)

    # --- files ---------------------------------------------------------------------

    def encode_file(self, old_path: PathLike, new_path: PathLike, out_path: PathLike, *, progress: ProgressCallback | None = None) -> int:
        """Writes the delta from `old_path` to `new_path` into `out_path`; returns its size.

        Large files are read a window at a time. `out_path` appears only when the
        whole delta is written. `progress` gets (new-version bytes done, total).
        """
        old_p, new_p = require_file(old_path), require_file(new_path)
        if self.backend == "python":
            with open(old_p, "rb") as f:
                old = f.read()
            with open(new_p, "rb") as f:
                new = f.read()
            delta = _vcdiff.encode(old, new, self.checksum, progress, self._deadline())
            with atomic_output(out_path) as out:
                out.write(delta)
            return len(delta)
        return self._wasm_file_op("file-encoder", [old_p, new_p], [self._options()], out_path, progress)

    def decode_file(self, old_path: PathLike, delta_path: PathLike, out_path: PathLike, *, progress: ProgressCallback | None = None) -> int:
        """Writes the version rebuilt from `old_path` and `delta_path` into
        `out_path`; returns its size. `out_path` appears only on success.
        `progress` gets (delta bytes done, delta size)."""
        old_p, delta_p = require_file(old_path), require_file(delta_path)
        if self.backend == "python":
            with open(old_p, "rb") as f:
                old = f.read()
            with open(delta_p, "rb") as f:
                delta = f.read()
            new = _vcdiff.decode(old, delta, self.limits.max_output_bytes, progress, self._deadline())
            with atomic_output(out_path) as out:
                out.write(new)
            return len(new)
        return self._wasm_file_op("file-decoder", [old_p, delta_p], [self.limits.max_output_bytes], out_path, progress)

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


def _write(path: str, data: bytes | memoryview) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _unlink(paths: list[str]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
