"""File helpers shared by the public classes: reading inputs, writing outputs
so that a failure never leaves a partial file behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from .errors import AccelArgumentError, AccelError

#: A path as callers pass them: text or bytes (decoded as the OS does), or a path object.
PathLike = str | bytes | os.PathLike[str] | os.PathLike[bytes]


def as_path(path: PathLike) -> str:
    """`path` as a ``str`` (bytes decoded with the file system encoding)."""
    return os.fsdecode(os.fspath(path))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Outputs get the mode a plain open() would give them, not mkstemp's 0600.
_OUTPUT_MODE = 0o666 & ~_umask()
Buffer = bytes | bytearray | memoryview


def as_bytes(data: object, name: str) -> bytes | memoryview:
    """A zero-copy view of any bytes-like object (bytes, bytearray, memoryview,
    mmap, array, numpy array), as flat unsigned bytes. Callers release a view
    this creates (see `byte_views`): a view left to the garbage collector keeps
    the exporter locked, so a caller's ``mmap.close()`` fails while an
    exception's traceback still holds it."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, memoryview) and data.format == "B" and data.ndim == 1 and data.c_contiguous:
        return data
    if isinstance(data, str):
        raise AccelArgumentError(f"{name} must be bytes-like, not str (encode it first)")
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise AccelArgumentError(f"{name} must be bytes-like, not {type(data).__name__}") from None
    if view.format == "B" and view.ndim == 1:
        return view
    with view:
        return view.cast("B")


class byte_views:  # used as a function: ``with byte_views(a=x) as (a,):``
    """`as_bytes` of each argument, in order; the views created here are
    released on the way out, exception or not. A class rather than a
    generator: it is on every small call's path, and a generator-based
    context manager cost twice as much (about 2.5 us against 1.2)."""

    __slots__ = ("_created", "_views")

    def __init__(self, **named: object) -> None:
        self._views: list[bytes | memoryview] = []
        self._created: list[memoryview] = []
        try:
            for name, data in named.items():
                v = as_bytes(data, name)
                if isinstance(v, memoryview) and v is not data:
                    self._created.append(v)
                self._views.append(v)
        except BaseException:
            self.__exit__()
            raise

    def __enter__(self) -> list[bytes | memoryview]:
        return self._views

    def __exit__(self, *exc: object) -> None:
        for v in self._created:
            v.release()


def require_file(path: PathLike) -> str:
    """`path` as a string; FileNotFoundError / IsADirectoryError when it is not a readable file."""
    p = as_path(path)
    if not os.path.exists(p):
        raise FileNotFoundError(2, "No such file", p)
    if os.path.isdir(p):
        raise IsADirectoryError(21, "Is a directory", p)
    return p


@contextlib.contextmanager
def readable_files(*paths: PathLike) -> Iterator[list[str]]:
    """Each input as the path of a regular file, which every backend can map
    or open in the sandbox: a symlink resolved to its target (the sandbox
    sees only the directory it opens), and anything else a Unix tool reads
    (a pipe such as ``<(...)``, ``/dev/stdin``) copied once into a private
    temporary file on disk, removed on the way out. (Mapped, a pipe would
    read as empty.)"""
    with contextlib.ExitStack() as stack:
        out = []
        for path in paths:
            p = require_file(path)
            if stat.S_ISREG(os.stat(p).st_mode):
                out.append(os.path.realpath(p))
                continue
            d = stack.enter_context(tempfile.TemporaryDirectory(prefix="oms-accel-input-"))
            copy = os.path.join(d, os.path.basename(p) or "input")
            with open(p, "rb") as src, open(copy, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            out.append(copy)
        yield out


@contextlib.contextmanager
def atomic_output(path: PathLike, error: type[AccelError] = AccelError) -> Iterator[BinaryIO]:
    """A file to write `path` through, so that a failure leaves nothing half
    written. A regular file (or a new one) is written beside it and renamed
    over it on success, removed on any failure. A symlink's target is what
    gets replaced, never the link. A device or FIFO (``/dev/null``,
    ``/dev/stdout``, a named pipe) is written through in place: it cannot
    be replaced, and renaming over it would turn it into a regular file.

    Writing that fails (a directory in the way, no such directory, no
    permission, a full disk) raises `error` with code ``io``, naming `path`
    and never the temporary file beside it."""
    try:
        with _atomic_output(path) as f:
            yield f
    except OSError as e:
        raise error(f"cannot write {as_path(path)}: {e.strerror or e}", "io") from e


@contextlib.contextmanager
def _atomic_output(path: PathLike) -> Iterator[BinaryIO]:
    target = os.path.realpath(as_path(path))
    with contextlib.suppress(FileNotFoundError):
        mode = os.stat(target).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", as_path(path))
        if not stat.S_ISREG(mode):
            with open(target, "wb") as f:
                yield f
            return
    directory = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, _OUTPUT_MODE)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def move_into_place(src: str, path: PathLike, error: type[AccelError] = AccelError) -> None:
    """Moves a finished file (from the scratch directory) to `path` atomically."""
    with atomic_output(path, error) as out, open(src, "rb") as f:
        shutil.copyfileobj(f, out, 1 << 20)
