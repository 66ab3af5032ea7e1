"""oms-accel: fast, sandboxed Rust for the hot paths of a Python service.

Deltas between document versions: zstd patch-from and xdelta3 in the native
module, VCDIFF (RFC 3284) in a sandboxed WASI 0.2 component (hosted by
wasmtime inside the native module, or by wasmtime-py where that module is
absent), and a pure-Python fallback that reads and writes the same VCDIFF::

    from oms_accel import DeltaEncoder
    enc = DeltaEncoder()                 # zstd where the native module loads, else VCDIFF
    delta = enc.encode(old, new)
    assert enc.decode(old, delta) == new  # any delta, whichever method made it

JSON (`JsonProcessor`) and exact vector search (`VectorIndex`, `similarity`)
run in the same component, with pure-Python fallbacks.
"""

from __future__ import annotations

from .backends import available_backends, backend_report, host_report
from .compression import compress, decompress
from .delta import DeltaEncoder, RustDeltaEncoder, detect_format
from .errors import (
    AccelArgumentError,
    AccelError,
    BackendUnavailableError,
    CompressionError,
    DeltaError,
    JsonError,
    LimitError,
    PatchError,
    SchemaError,
    VectorError,
)
from .json import Document, JsonProcessor, NdjsonRecord, RustJsonProcessor, Schema, ValidationError
from .limits import Limits
from .vector import VectorIndex, gpu_adapter, similarity

__version__ = "0.1.0"

__all__ = [
    "AccelArgumentError",
    "AccelError",
    "BackendUnavailableError",
    "CompressionError",
    "DeltaEncoder",
    "DeltaError",
    "Document",
    "JsonError",
    "JsonProcessor",
    "LimitError",
    "Limits",
    "NdjsonRecord",
    "PatchError",
    "RustDeltaEncoder",
    "RustJsonProcessor",
    "Schema",
    "SchemaError",
    "ValidationError",
    "VectorError",
    "VectorIndex",
    "__version__",
    "available_backends",
    "backend_report",
    "compress",
    "decompress",
    "detect_format",
    "gpu_adapter",
    "host_report",
    "similarity",
]
