"""The wasm backend's hosts of the component.

`host.Host` is the contract every host implements; `bindings` implements it
with wasmtime-py (the portable host). The capabilities' wasm backends take
their host from `get_host` and never touch wasmtime themselves.
"""

from __future__ import annotations

from .host import Host


def get_host() -> Host:
    """The host that runs the component in this process."""
    from .bindings import WasmtimePyHost

    global _host
    if _host is None:
        _host = WasmtimePyHost()
    return _host


_host: Host | None = None


def unavailable_reason() -> str | None:
    """None when the component loads here, else why it does not."""
    from . import runtime

    return runtime.unavailable_reason()
