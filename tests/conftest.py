"""Shared fixtures: every delta test runs on every (backend, method) pair that
loads here: the component on each of its hosts and pure Python (VCDIFF), the
native module (zstd patch-from, and VCDIFF through the xdelta3 library).

The wasm backend appears once per host that runs the component here, as
``"wasm/rust"`` and ``"wasm/wasmtime-py"`` (what `backend=` accepts)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable

import pytest
from hypothesis import strategies as st

from oms_accel import DeltaEncoder, host_report
from oms_accel.delta import encoders

#: The hosts of the component that run here, best first.
WASM_HOSTS = [h for h, why in host_report().items() if why is None]


def with_hosts(names: Iterable[str]) -> list[str]:
    """`names` with ``"wasm"`` in it once per host: ``"wasm/rust"``, ``"wasm/wasmtime-py"``."""
    return [x for n in names for x in ([f"wasm/{h}" for h in WASM_HOSTS] if n == "wasm" else [n])]


def is_wasm(backend: str) -> bool:
    return backend.split("/")[0] == "wasm"


#: Every (backend, method) pair that works here, from the capability's own table.
ENCODERS = [(b, m) for backend, m in encoders() for b in with_hosts([backend])]
#: The pairs whose deltas are VCDIFF, which every VCDIFF decoder reads.
VCDIFF_ENCODERS = [(b, m) for b, m in ENCODERS if m != "zstd"]


def make(pair: tuple[str, str], **kw: object) -> DeltaEncoder:
    return DeltaEncoder(pair[0], method=pair[1], **kw)  # type: ignore[arg-type]


@pytest.fixture(params=ENCODERS, ids=[f"{b}-{m}" for b, m in ENCODERS])
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def encoder(pair: tuple[str, str]) -> DeltaEncoder:
    return make(pair)


@pytest.fixture
def backend(pair: tuple[str, str]) -> str:
    return pair[0]


@pytest.fixture(params=VCDIFF_ENCODERS, ids=[f"{b}-{m}" for b, m in VCDIFF_ENCODERS])
def vcdiff_encoder(request: pytest.FixtureRequest) -> DeltaEncoder:
    return make(request.param)


def tool(name: str) -> str:
    path = shutil.which(name)
    # Set-up installs it (make system-deps); interop is part of the contract.
    assert path, f"the {name} tool is missing: run `make setup`"
    return path


@pytest.fixture(scope="session")
def xdelta3() -> str:
    return tool("xdelta3")


@pytest.fixture(scope="session")
def zstd_tool() -> str:
    return tool("zstd")


#: Hypothesis edits for `damaged`: (where, what: 0 replace / 1 delete / 2 insert, byte).
EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 2), st.integers(0, 255)), min_size=1, max_size=3)


def damaged(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """`data` with each edit applied (positions wrap around its length)."""
    d = bytearray(data)
    for at, op, b in edits:
        k = at % len(d)
        if op == 0:
            d[k] = b
        elif op == 1:
            del d[k]
        else:
            d.insert(k, b)
    return bytes(d)
