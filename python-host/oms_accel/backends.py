"""Which backends load here, and the choice among them.

A backend is chosen by the ``backend=`` argument of a public class, else the
environment variable ``OMS_ACCEL_BACKEND`` (``auto|wasm|native|python``), else
the best that loads and offers the capability.
"""

from __future__ import annotations

import functools
import os
from typing import Literal

from .errors import AccelArgumentError, BackendUnavailableError

BackendName = Literal["wasm", "native", "python"]
BACKENDS: tuple[BackendName, ...] = ("wasm", "native", "python")
ENV_VAR = "OMS_ACCEL_BACKEND"


@functools.cache
def _probe(name: BackendName) -> str | None:
    """None when `name` loads, else why it does not."""
    if name == "python":
        return None
    if name == "native":
        try:
            from . import _native  # noqa: F401
        except ImportError as e:
            return f"the native module oms_accel._native is not built: {e}"
        return None
    from . import _wasm

    return _wasm.unavailable_reason()


# A forked child probes again: what loads can differ there (see _wasm.runtime).
os.register_at_fork(after_in_child=_probe.cache_clear)


def backend_report() -> dict[str, str | None]:
    """Each backend's name mapped to None when it loads, else to why it does not."""
    return {name: _probe(name) for name in BACKENDS}


def available_backends() -> list[str]:
    """The names of the backends that load here, best first."""
    return [name for name in BACKENDS if _probe(name) is None]


def resolve(requested: str | None, supported: tuple[BackendName, ...], capability: str) -> BackendName:
    """The backend to use for `capability`, which `supported` backends offer (best first).

    Raises:
        AccelArgumentError: `requested` (or the environment variable) is not a backend name.
        BackendUnavailableError: the requested backend does not load or lacks the capability.
    """
    choice = requested if requested is not None else os.environ.get(ENV_VAR, "auto")
    choice = choice.strip().lower() or "auto"
    if choice == "auto":
        for name in supported:
            if _probe(name) is None:
                return name
        reasons = "; ".join(f"{n}: {_probe(n)}" for n in supported)
        raise BackendUnavailableError(f"no backend offers {capability} here ({reasons})")
    if choice not in BACKENDS:
        raise AccelArgumentError(f"unknown backend {choice!r}: expected one of auto, {', '.join(BACKENDS)}")
    if choice not in supported:
        offered = ", ".join(supported)
        raise BackendUnavailableError(f"backend {choice!r} does not offer {capability} (backends that do: {offered})")
    reason = _probe(choice)
    if reason is not None:
        raise BackendUnavailableError(f"backend {choice!r} is not available: {reason}")
    return choice


def loaded(supported: tuple[BackendName, ...]) -> list[BackendName]:
    """Those of a capability's `supported` backends that load here, best first."""
    return [name for name in supported if _probe(name) is None]
