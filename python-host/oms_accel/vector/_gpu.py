"""Batch searches on a GPU: the native module's `GpuMatrix` (wgpu, built with
the cargo feature ``gpu``), fed the index's rows as its file format stores
them. Needs numpy.

Used on its own only where it wins: a real GPU (not a CPU renderer such as
Mesa's llvmpipe/lavapipe, which is for correctness tests) and a batch with
enough work to pay for the transfers. ``VectorIndex(gpu=True)`` forces it
(tests), ``gpu=False`` never uses it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from . import _format as fmt

#: Multiply-adds (queries x rows x dimension) below which the CPU answers
#: sooner than a round trip to the device.
MIN_WORK = 1 << 30


#: What Vulkan drivers print on standard error while wgpu enumerates them,
#: on every machine without a display (libwayland, through Mesa's WSI):
#: noise, not an error of ours.
_NOISE = ("XDG_RUNTIME_DIR is invalid or not set",)
_quiet_lock = threading.Lock()


@contextlib.contextmanager
def _without_driver_noise() -> Iterator[None]:
    """Runs the block with file descriptor 2 captured, then passes on what
    the drivers printed there except the known noise."""
    with _quiet_lock, tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not any(n in line for n in _NOISE):
                    sys.stderr.write(line)


@functools.cache
def adapter() -> tuple[str, str, str] | None:
    """(name, device type, backend) of the GPU wgpu would use, or None."""
    try:
        from .. import _native
    except ImportError:
        return None
    probe = getattr(_native, "gpu_adapter", None)
    if probe is None:
        return None
    with _without_driver_noise():
        return probe()  # type: ignore[no-any-return]


def unavailable_reason() -> str | None:
    """None when the GPU path can run here, else why not."""
    try:
        from .. import _native
    except ImportError as e:
        return f"the native module is not built: {e}"
    if not hasattr(_native, "GpuMatrix"):
        return "the native module was built without the `gpu` feature"
    try:
        import numpy  # noqa: F401
    except ImportError:
        return "the GPU path needs numpy"
    if adapter() is None:
        return "wgpu finds no adapter (install a Vulkan driver: Debian's mesa-vulkan-drivers for a CPU one)"
    return None


def is_real_gpu() -> bool:
    info = adapter()
    return info is not None and info[1] != "Cpu"


def limits() -> tuple[int, int]:
    """(largest dimension, largest k) the shader takes."""
    from .. import _native

    return int(_native.GPU_MAX_DIM), int(_native.GPU_MAX_K)


class Matrix:
    """An index's rows on the device, and the row -> id mapping."""

    def __init__(self, records: bytes | memoryview, dim: int, metric: fmt.Metric, dtype: fmt.DType) -> None:
        import numpy as np

        from .. import _native

        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [("id", "<u8")]
        if dtype == "i8":
            fields.append(("scale", "<f4"))
        fields.append(("row", {"f32": "<f4", "f16": "<f2", "i8": "i1"}[dtype], (dim,)))
        table = np.frombuffer(records, dtype=np.dtype(fields))
        # In id order: the shader breaks a tie by the smaller row, which is
        # then the smaller id, as on every backend (records come in the
        # order rows were added, or shard by shard).
        table = table[np.argsort(table["id"], kind="stable")]
        rows = table["row"].astype(np.float32)
        if dtype == "i8":
            rows *= table["scale"][:, None]
        self.ids = table["id"].astype(np.int64)
        self.metric = metric
        with _without_driver_noise():
            self.gpu = _native.GpuMatrix(np.ascontiguousarray(rows).data.cast("B"), dim, metric == "l2")

    def search(self, queries: Any, k: int) -> list[tuple[Any, Any]]:
        """`queries`: an (n, dim) float32 array, as given (normalized here for cosine)."""
        import numpy as np

        if self.metric == "cosine":
            norms = np.linalg.norm(queries, axis=1, keepdims=True)
            queries = np.divide(queries, norms, out=np.zeros_like(queries), where=norms > 0)
        row_bytes, key_bytes = self.gpu.search(np.ascontiguousarray(queries, dtype="<f4").data.cast("B"), k)
        rows = np.frombuffer(row_bytes, dtype="<u4")
        keys = np.frombuffer(key_bytes, dtype="<f4")
        if self.metric == "l2":
            keys = -keys
        elif self.metric == "cosine":
            keys = np.clip(keys, -1.0, 1.0)
        per = len(rows) // len(queries) if len(queries) else 0
        ids = self.ids[rows]
        return [(ids[i * per : (i + 1) * per], keys[i * per : (i + 1) * per].astype(np.float32)) for i in range(len(queries))]
