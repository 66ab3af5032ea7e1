"""The native module shares its process: libraries imported after it load.

A module loaded by dlopen that uses the initial-exec TLS model takes its
thread-locals from glibc's small static TLS surplus. The native module once
took 1.6 KB of it (mimalloc's heap pointer), and every library imported
after it that needs some too, libgomp first among them (faiss, scikit-learn,
torch), failed with "cannot allocate memory in static TLS block".
"""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

from oms_accel import backends
from oms_accel.vector import SUPPORTED_BACKENDS

pytestmark = pytest.mark.skipif("native" not in backends.loaded(SUPPORTED_BACKENDS), reason="the native module is not built")


def test_libgomp_loads_after_the_native_module() -> None:
    # libgomp comes with the C compiler the native module is built with.
    gomp = ctypes.util.find_library("gomp")
    assert gomp, "libgomp (Debian's libgomp1, installed with gcc) is needed for this test"
    code = f"import ctypes, oms_accel._native; ctypes.CDLL({gomp!r}); print('ok')"
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
