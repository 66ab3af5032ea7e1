"""What unpickling shares across capabilities: one object per process for
each set of settings, so that the many tasks a worker unpickles with one
encoder or processor share it (and its component instances and caches)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_SHARED: dict[Hashable, Any] = {}
_LOCK = threading.Lock()


def one_per_process(key: Hashable, make: Callable[[], T]) -> T:
    """The object made for `key` in this process, made by `make` the first time."""
    with _LOCK:
        found = _SHARED.get(key)
        if found is None:
            found = _SHARED[key] = make()
        return found
