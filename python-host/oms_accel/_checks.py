"""Argument checks shared by every public class, so that each kind of
argument is refused the same way, with `AccelArgumentError`, everywhere."""

from __future__ import annotations

import operator

from .errors import AccelArgumentError


def integer(name: str, value: object, low: int, high: int | None = None) -> int:
    """`value` as an ``int``, when it is an integer (a numpy integer too,
    never a bool or a float) from `low` to `high` (None: no upper bound)."""
    if not isinstance(value, bool):
        try:
            v = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
        else:
            if low <= v and (high is None or v <= high):
                return v
    bound = f"of at least {low}" if high is None else f"from {low} to {high}"
    raise AccelArgumentError(f"{name} must be an integer {bound}, not {value!r}")
