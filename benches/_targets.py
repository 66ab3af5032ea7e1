"""The --check report shared by the benchmarks: each target printed as met or
MISSED, and the exit status they add up to."""

from __future__ import annotations


class Targets:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: bool, text: str) -> None:
        print(("met:    " if ok else "MISSED: ") + text)
        if not ok:
            self.failures.append(text)

    def exit_status(self) -> int:
        return 1 if self.failures else 0
