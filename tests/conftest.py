"""Shared fixtures: every delta test runs on every backend that offers deltas here."""

from __future__ import annotations

import shutil

import pytest

from oms_accel import DeltaEncoder, available_backends
from oms_accel.delta import SUPPORTED_BACKENDS

DELTA_BACKENDS = [b for b in available_backends() if b in SUPPORTED_BACKENDS]


@pytest.fixture(params=DELTA_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def encoder(backend: str) -> DeltaEncoder:
    return DeltaEncoder(backend)


@pytest.fixture(scope="session")
def xdelta3() -> str:
    path = shutil.which("xdelta3")
    # Set-up installs it (make system-deps); interop is part of the contract.
    assert path, "the xdelta3 tool is missing: run `make setup`"
    return path
