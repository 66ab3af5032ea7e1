"""What the benchmarks share: `best` (the fastest of repeated runs) and the
--check report, each target printed as met or MISSED, and the exit status
they add up to."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The shortest of `repeat` runs of `fn`, in seconds, and its last result."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


class Targets:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: bool, text: str) -> None:
        print(("met:    " if ok else "MISSED: ") + text)
        if not ok:
            self.failures.append(text)

    def exit_status(self) -> int:
        return 1 if self.failures else 0
