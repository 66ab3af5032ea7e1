"""What the benchmarks share: `best` (the fastest of repeated runs), the
wasm backend's hosts, the guest's code compiled natively (`guest_native`),
and the --check report, each target printed as met or MISSED, and the exit
status they add up to."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from oms_accel import host_report

ROOT = Path(__file__).resolve().parents[1]
#: The hosts of the component that run here, best first.
HOSTS = [h for h, why in host_report().items() if why is None]


def with_hosts(backends: Iterable[str]) -> list[str]:
    """`backends` with ``wasm`` once per host: ``wasm/rust``, ``wasm/wasmtime-py``."""
    return [x for b in backends for x in ([f"wasm/{h}" for h in HOSTS] if b == "wasm" else [b])]


def guest_native(*args: object) -> dict[str, float]:
    """The guest's own code compiled natively (guest/examples/native_timing.rs),
    run on the files the benchmark wrote: {measure: seconds or count}. Built
    here on first use; the sandbox's price is the ratio to it."""
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "oms-accel-guest", "--example", "native_timing"],
        cwd=ROOT,
        check=True,
    )
    out = subprocess.run(
        [str(ROOT / "target/release/examples/native_timing"), *map(str, args)], check=True, capture_output=True, text=True
    ).stdout
    return {name: float(value) for name, value in (line.split() for line in out.splitlines())}


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
