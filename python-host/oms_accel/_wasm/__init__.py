"""The wasm backend's hosts of the component.

`host.Host` is the contract every host implements whole:

- ``"rust"`` (`rust.RustHost`): wasmtime inside the native module, the fast
  host and the default wherever the native module loads;
- ``"wasmtime-py"`` (`bindings.WasmtimePyHost`): the portable host, for
  where the native module is absent.

A host is chosen by the ``host=`` argument of a public class, else the
environment variable ``OMS_ACCEL_WASM_HOST`` (``auto|rust|wasmtime-py``),
else the first of `HOSTS` that loads. The capabilities' wasm backends take
their host from `get_host` and never touch wasmtime themselves.
"""

from __future__ import annotations

import os
import threading

from ..errors import AccelArgumentError, BackendUnavailableError
from .host import Host

#: The hosts, best first.
HOSTS: tuple[str, ...] = ("rust", "wasmtime-py")
ENV_HOST = "OMS_ACCEL_WASM_HOST"

_hosts: dict[str, Host] = {}
_lock = threading.Lock()


def _load(name: str) -> Host:
    if name == "rust":
        try:
            from .rust import RustHost
        except ImportError as e:
            raise BackendUnavailableError(f"the native module oms_accel._native is not built: {e}") from None
        return RustHost()
    from .bindings import WasmtimePyHost

    return WasmtimePyHost()


def _reason(name: str) -> str | None:
    if name == "rust":
        try:
            from . import rust
        except ImportError as e:
            return f"the native module oms_accel._native is not built: {e}"
        return rust.unavailable_reason()
    from . import runtime

    return runtime.unavailable_reason()


def host_report() -> dict[str, str | None]:
    """Each host's name mapped to None when it runs the component here, else to why not."""
    return {name: _reason(name) for name in HOSTS}


def host_name(requested: str | None = None) -> str:
    """The host that `requested` (else the environment, else the best that
    loads) names.

    Raises:
        AccelArgumentError: not a host name.
        BackendUnavailableError: that host, or every host, does not load here.
    """
    choice = requested if requested is not None else os.environ.get(ENV_HOST, "auto")
    choice = choice.strip().lower() or "auto"
    if choice == "auto":
        reasons = []
        for name in HOSTS:
            why = _reason(name)
            if why is None:
                return name
            reasons.append(f"{name}: {why}")
        raise BackendUnavailableError(f"no host runs the component here ({'; '.join(reasons)})")
    if choice not in HOSTS:
        raise AccelArgumentError(f"unknown wasm host {choice!r}: expected one of auto, {', '.join(HOSTS)}")
    why = _reason(choice)
    if why is not None:
        raise BackendUnavailableError(f"the wasm host {choice!r} is not available: {why}")
    return choice


def get_host(requested: str | None = None) -> Host:
    """The host of the component that `requested` names (see `host_name`)."""
    name = host_name(requested)
    host = _hosts.get(name)
    if host is None:
        with _lock:
            host = _hosts.get(name)
            if host is None:
                host = _hosts[name] = _load(name)
    return host


def unavailable_reason() -> str | None:
    """None when the wasm backend runs here (on the host the environment
    names, else on any), else why it does not."""
    try:
        host_name()
    except (AccelArgumentError, BackendUnavailableError) as e:
        return str(e)
    return None
