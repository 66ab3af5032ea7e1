"""Binary deltas between document versions.

Three methods, one API:

- ``"vcdiff"``: VCDIFF (RFC 3284), portable: the wasm component or pure Python.
  Deltas decode with ``xdelta3 -d -s OLD``; ``xdelta3 -e -S none`` deltas decode here.
- ``"xdelta3"``: VCDIFF made by the xdelta3 C library (native module).
- ``"zstd"``: zstd patch-from frames (native module); they decode with
  ``zstd -d --patch-from=OLD``, and ``zstd --patch-from=OLD`` frames decode here.

``"auto"`` is zstd where the native module loads, else vcdiff. ``decode()``
recognizes the format from its magic bytes, whatever method made it: there is
no wrapper format. VCDIFF is always read by our own decoder (wasm, else
python).

Each backend is one file (`_wasm`, `_native`, `_python`) implementing
`_backend.Codec`; `CODECS` says which backend offers which method.
"""

from __future__ import annotations

from typing import Any, Literal

from .. import backends
from .._checks import integer
from .._files import PathLike, byte_views, readable_files
from .._pickling import one_per_process
from ..compression import MAX_LEVEL, MIN_LEVEL
from ..errors import AccelArgumentError, BackendUnavailableError, DeltaError
from ..limits import Limits
from ._backend import Codec, Format, ProgressCallback, Settings

Method = Literal["auto", "vcdiff", "xdelta3", "zstd"]
METHODS: tuple[Method, ...] = ("auto", "vcdiff", "xdelta3", "zstd")
#: Backends that can encode deltas, best first.
SUPPORTED_BACKENDS: tuple[backends.BackendName, ...] = ("native", "wasm", "python")
#: The methods each backend offers, its default first.
BACKEND_METHODS: dict[backends.BackendName, tuple[Method, ...]] = {
    "native": ("zstd", "xdelta3"),
    "wasm": ("vcdiff",),
    "python": ("vcdiff",),
}
#: Backends that read VCDIFF, best first.
VCDIFF_BACKENDS: tuple[backends.BackendName, ...] = ("wasm", "python")

#: The largest VCDIFF window: the most any of our decoders accepts.
MAX_WINDOW_SIZE = 64 << 20

VCDIFF_MAGIC = b"\xd6\xc3\xc4"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

__all__ = ["DeltaEncoder", "Method", "ProgressCallback", "RustDeltaEncoder", "detect_format", "encoders"]


def detect_format(delta: bytes | memoryview) -> Format:
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


def _codec(backend: backends.BackendName, method: Method, settings: Settings) -> Codec:
    """The codec of `method` on `backend` (a pair that `BACKEND_METHODS` lists)."""
    if backend == "native":
        from . import _native

        if method == "zstd":
            return _native.Zstd(settings)
        return _native.Xdelta3(settings, _vcdiff_codec(None, settings))
    if backend == "wasm":
        from . import _wasm

        return _wasm.Vcdiff(settings)
    from . import _python

    return _python.Vcdiff(settings)


def _vcdiff_codec(backend: backends.BackendName | None, settings: Settings) -> Codec:
    """Our VCDIFF decoder: `backend`'s own if it reads VCDIFF, else the best that loads."""
    if backend not in VCDIFF_BACKENDS:
        backend = next((b for b in VCDIFF_BACKENDS if b in backends.available_backends()), None)
        if backend is None:
            raise BackendUnavailableError("no backend reads VCDIFF here", "unavailable")
    return _codec(backend, "vcdiff", settings)


def _zstd_codec(settings: Settings) -> Codec:
    """zstd frames decode in the native module whichever backend encodes."""
    from . import _native

    _native.module()  # a DeltaError naming what to install
    return _native.Zstd(settings)


def encoders() -> list[tuple[str, str]]:
    """Every (backend, method) pair that works here."""
    loaded = backends.available_backends()
    return [(b, m) for b in SUPPORTED_BACKENDS if b in loaded for m in BACKEND_METHODS[b]]


class DeltaEncoder:
    """Encodes and decodes binary deltas between two versions of a document.

    Args:
        backend: ``"native"``, ``"wasm"`` (the sandboxed component), ``"python"``,
            ``"auto"`` or None (the ``OMS_ACCEL_BACKEND`` environment variable,
            else the best that loads); ``"wasm/<host>"`` also names the host.
        method: ``"vcdiff"`` (wasm or python), ``"xdelta3"`` or ``"zstd"`` (native),
            or ``"auto"``: the backend's default (zstd on native, else vcdiff).
        level: the zstd compression level (method ``"zstd"``).
        limits: memory, time and output-size limits (defaults: `Limits()`).
        window_size: bytes of the new version per VCDIFF window (default 8 MiB, at most 64 MiB).
        checksum: store an Adler-32 checksum of each VCDIFF window, as xdelta3 does.
        verify: decode only deltas whose output is checked: every VCDIFF
            window with its checksum, a zstd frame with its content checksum.
            A delta without (``checksum=False``, ``xdelta3 -n``, ``zstd
            --no-check``) decoded against the wrong old version would give
            wrong bytes silently, so it raises ``DeltaError(code="unverified")``
            unless `verify` is False.
        host: the wasm backend's host: ``"rust"`` (inside the native module),
            ``"wasmtime-py"``, or None (``OMS_ACCEL_WASM_HOST``, else the best
            that loads). The attribute `host` says which runs (None off wasm).

    Raises:
        AccelArgumentError: an unknown backend, host or method.
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
        verify: bool = True,
        host: str | None = None,
    ) -> None:
        backend, host = backends.split_host(backend, host)
        if method not in METHODS:
            raise AccelArgumentError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
        offering = tuple(b for b in SUPPORTED_BACKENDS if method == "auto" or method in BACKEND_METHODS[b])
        what = {"auto": "deltas", "vcdiff": "VCDIFF deltas"}.get(method, f"{method} deltas")
        self.backend: backends.BackendName = backends.resolve(backend, offering, what)
        self.method: Method = BACKEND_METHODS[self.backend][0] if method == "auto" else method
        self.level = integer("level", level, MIN_LEVEL, MAX_LEVEL)
        self.limits = limits or Limits()
        # (A window larger than any decoder's limit could never be decoded.)
        self.window_size = 0 if window_size is None else integer("window_size", window_size, 0, MAX_WINDOW_SIZE)
        self.checksum = checksum
        self.verify = verify
        #: The wasm backend's host; None on the other backends (whose VCDIFF
        #: decoding, where it falls to the component, runs on `host` as given).
        self.host: str | None = backends.wasm_host(host) if self.backend == "wasm" else None
        self._settings = Settings(self.limits, self.level, self.window_size, checksum, verify, self.host or host)
        self._encoder = _codec(self.backend, self.method, self._settings)
        #: The decoder of each format, made on first use.
        self._decoders: dict[Format, Codec] = {self._encoder.format: self._encoder}

    def __repr__(self) -> str:
        host = f", host={self.host!r}" if self.backend == "wasm" else ""
        return f"DeltaEncoder(backend={self.backend!r}, method={self.method!r}{host})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its settings: a working encoder where it is unpickled,
        with codecs (and component instances) of its own."""
        settings = {
            "method": self.method,
            "level": self.level,
            "limits": self.limits,
            "window_size": self.window_size or None,
            "checksum": self.checksum,
            "verify": self.verify,
            "host": self.host,
        }
        return (_unpickled_encoder, (self.backend, settings))

    def _decoder(self, fmt: Format) -> Codec:
        codec = self._decoders.get(fmt)
        if codec is None:
            make = _zstd_codec if fmt == "zstd" else lambda s: _vcdiff_codec(self.backend, s)
            codec = self._decoders[fmt] = make(self._settings)
        return codec

    # --- in memory ---------------------------------------------------------------

    def encode(self, old: Any, new: Any) -> bytes:
        """The delta that turns `old` into `new` (any bytes-like objects)."""
        with byte_views(old=old, new=new) as (old_b, new_b):
            return self._encoder.encode(old_b, new_b)

    def decode(self, old: Any, delta: Any) -> bytes:
        """The new version rebuilt from `old` and `delta` (any bytes-like
        objects), whichever method made the delta.

        Raises:
            DeltaError: the delta is corrupt, truncated, made against another
                source, fails its checksum, has none to check (``unverified``,
                with `verify` on), or needs a module that is missing.
            LimitError: the output would exceed ``limits.max_output_bytes``, or
                the call ran out of memory or time.
        """
        with byte_views(old=old, delta=delta) as (old_b, delta_b):
            return self._decoder(detect_format(delta_b)).decode(old_b, delta_b)

    # --- files ---------------------------------------------------------------------

    def encode_file(self, old_path: PathLike, new_path: PathLike, out_path: PathLike, *, progress: ProgressCallback | None = None) -> int:
        """Writes the delta from `old_path` to `new_path` into `out_path`; returns its size.

        `out_path` appears only when the whole delta is written. `progress` gets
        (new-version bytes done, total). The wasm backend reads large files a
        window at a time; the others map them into memory. An input may be
        any file a Unix tool reads: a symlink, a pipe, ``/dev/stdin``.
        """
        with readable_files(old_path, new_path) as (old_p, new_p):
            return self._encoder.encode_file(old_p, new_p, out_path, progress)

    def decode_file(self, old_path: PathLike, delta_path: PathLike, out_path: PathLike, *, progress: ProgressCallback | None = None) -> int:
        """Writes the version rebuilt from `old_path` and `delta_path` into
        `out_path`; returns its size. `out_path` appears only on success.
        `progress` gets (delta bytes done, delta size). Inputs as for `encode_file`."""
        with readable_files(old_path, delta_path) as (old_p, delta_p):
            with open(delta_p, "rb") as f:
                fmt = detect_format(f.read(4))
            return self._decoder(fmt).decode_file(old_p, delta_p, out_path, progress)


#: The name the monolith imports.
RustDeltaEncoder = DeltaEncoder


def _unpickled_encoder(backend: str, settings: dict[str, Any]) -> DeltaEncoder:
    key = (DeltaEncoder, backend, *sorted(settings.items()))
    return one_per_process(key, lambda: DeltaEncoder(backend, **settings))
