"""oms-accel: fast, sandboxed Rust for the hot paths of a Python service.

Deltas between document versions (VCDIFF, RFC 3284) run in a WASI 0.2 component
loaded with wasmtime-py, with a pure-Python fallback that reads and writes the
same format::

    from oms_accel import DeltaEncoder
    enc = DeltaEncoder()                 # best backend that loads
    delta = enc.encode(old, new)
    assert enc.decode(old, delta) == new
"""

from __future__ import annotations

from .backends import available_backends, backend_report
from .delta import DeltaEncoder, RustDeltaEncoder
from .errors import AccelArgumentError, AccelError, BackendUnavailableError, DeltaError, LimitError
from .limits import Limits

__version__ = "0.1.0"

__all__ = [
    "AccelArgumentError",
    "AccelError",
    "BackendUnavailableError",
    "DeltaEncoder",
    "DeltaError",
    "LimitError",
    "Limits",
    "RustDeltaEncoder",
    "__version__",
    "available_backends",
    "backend_report",
]
