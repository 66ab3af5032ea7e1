"""Limits on what one call may use. Defaults are safe; callers may change them."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

#: Default cap on what one decode may produce (2 GiB).
DEFAULT_MAX_OUTPUT = 2 << 30
#: Default cap on one JSON document or NDJSON record (1 GiB).
DEFAULT_MAX_INPUT = 1 << 30
#: The longest time limit: a year, far inside what the epoch counter can count.
MAX_TIMEOUT_S = 365 * 24 * 3600.0
#: Sizes cross the sandbox as u64; Python-side they are kept below 2**63.
MAX_BYTES = (1 << 63) - 1


@dataclass(frozen=True)
class Limits:
    """Resource limits for the sandboxed component (and, where they apply,
    the other backends). Every value is checked here, once.

    Attributes:
        memory_bytes: the most linear memory one component instance may grow to.
        timeout_s: the most wall-clock seconds one call into the component may run
            (enforced by epoch interruption; granularity about 20 ms). None: no time
            limit, for inputs the caller trusts to finish. On the Rust host such calls
            run code compiled without the epoch checks, 15-20% faster where the work is
            computation (a delta encode); elsewhere the limit is simply not kept.
        max_output_bytes: the most bytes one delta decode or decompression may produce.
        max_input_bytes: the largest JSON document, or NDJSON record, accepted
            (bytes of UTF-8).
        zstd_max_window_log: the largest zstd window (2**n bytes) a frame may ask
            for; a patch-from delta needs about old + new. At most 31.
    """

    memory_bytes: int = 2 << 30
    timeout_s: float | None = 120.0
    max_output_bytes: int = DEFAULT_MAX_OUTPUT
    max_input_bytes: int = DEFAULT_MAX_INPUT
    zstd_max_window_log: int = 31

    def __post_init__(self) -> None:
        from ._checks import integer

        # Stored as plain ints (a numpy integer is accepted, not kept), so
        # every host converts them to u64 the same way.
        for name, low, high in (
            ("memory_bytes", 16 << 20, 4 << 30),
            ("max_output_bytes", 0, MAX_BYTES),
            ("max_input_bytes", 1, MAX_BYTES),
            ("zstd_max_window_log", 10, 31),
        ):
            object.__setattr__(self, name, integer(name, getattr(self, name), low, high))
        t = self.timeout_s
        if t is not None:
            if isinstance(t, bool) or not isinstance(t, numbers.Real) or not (math.isfinite(t) and 0 < t <= MAX_TIMEOUT_S):
                from .errors import AccelArgumentError

                raise AccelArgumentError(
                    f"timeout_s must be None (no limit) or a number of seconds above 0 and at most {MAX_TIMEOUT_S:g}, not {t!r}"
                )
            object.__setattr__(self, "timeout_s", float(t))
