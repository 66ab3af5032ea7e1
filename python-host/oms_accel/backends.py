"""Which backends load here, and the choice among them.

A backend is chosen by the ``backend=`` argument of a public class, else the
environment variable ``OMS_ACCEL_BACKEND`` (``auto|wasm|native|python``), else
the best that loads and offers the capability. The wasm backend runs on one
of two hosts of the component (``host=``, else ``OMS_ACCEL_WASM_HOST``, else
the best that loads: see `oms_accel._wasm`); ``backend="wasm/<host>"`` says
both at once.
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


def host_report() -> dict[str, str | None]:
    """Each host of the wasm backend (``rust``, ``wasmtime-py``) mapped to None
    when it runs the component here, else to why it does not."""
    from . import _wasm

    return _wasm.host_report()


def wasm_host(requested: str | None = None) -> str:
    """The host the wasm backend runs on for `requested` (None: the
    environment's choice, else the best that loads).

    Raises:
        AccelArgumentError: not a host name.
        BackendUnavailableError: that host (or every host) does not load.
    """
    from . import _wasm

    return _wasm.host_name(requested)


def split_host(backend: str | None, host: str | None) -> tuple[str | None, str | None]:
    """``backend="wasm/<host>"`` as ``("wasm", "<host>")``; anything else as given.

    Raises:
        AccelArgumentError: a host given twice, differently.
    """
    if backend is None or "/" not in backend:
        return backend, host
    name, _, named = backend.partition("/")
    if host is not None and host != named:
        raise AccelArgumentError(f"backend {backend!r} names host {named!r}, but host={host!r}")
    if name.strip().lower() != "wasm":
        raise AccelArgumentError(f"only the wasm backend has hosts, not {name!r}")
    return name, named


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
