"""Limits on what one call may use. Defaults are safe; callers may change them."""

from __future__ import annotations

from dataclasses import dataclass

#: Default cap on what one decode may produce (2 GiB).
DEFAULT_MAX_OUTPUT = 2 << 30


@dataclass(frozen=True)
class Limits:
    """Resource limits for the sandboxed component (and, where they apply,
    the other backends).

    Attributes:
        memory_bytes: the most linear memory one component instance may grow to.
        timeout_s: the most wall-clock seconds one call into the component may run
            (enforced by epoch interruption; granularity about 20 ms).
        max_output_bytes: the most bytes one decode may produce.
        zstd_max_window_log: the largest zstd window (2**n bytes) a frame may ask
            for; a patch-from delta needs about old + new. At most 31.
    """

    memory_bytes: int = 2 << 30
    timeout_s: float = 120.0
    max_output_bytes: int = DEFAULT_MAX_OUTPUT
    zstd_max_window_log: int = 31

    def __post_init__(self) -> None:
        from .errors import AccelArgumentError

        if self.memory_bytes < 16 << 20:
            raise AccelArgumentError("memory_bytes must be at least 16 MiB")
        if not self.timeout_s > 0:
            raise AccelArgumentError("timeout_s must be positive")
        if self.max_output_bytes < 0:
            raise AccelArgumentError("max_output_bytes must not be negative")
        if not 10 <= self.zstd_max_window_log <= 31:
            raise AccelArgumentError("zstd_max_window_log must be between 10 and 31")
