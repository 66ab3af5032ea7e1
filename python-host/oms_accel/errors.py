"""The exception hierarchy: every failure the library reports is an AccelError."""

from __future__ import annotations


class AccelError(Exception):
    """Base class of every error oms-accel raises.

    ``code`` is the machine-readable reason (the WIT ``error-code`` name, such as
    ``"corrupt"`` or ``"limit-exceeded"``), or ``None`` where there is none.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class DeltaError(AccelError):
    """A delta is corrupt, truncated, made against another source, fails its
    checksum, or uses a feature this library does not support."""


class CompressionError(AccelError):
    """A zstd frame is corrupt, truncated, or does not record its size."""


class JsonError(AccelError):
    """Invalid JSON. ``line`` and ``column`` (1-based, in characters) say where,
    when known."""

    def __init__(self, message: str, code: str | None = "corrupt", line: int | None = None, column: int | None = None) -> None:
        super().__init__(message, code)
        self.line = line
        self.column = column


class SchemaError(AccelError):
    """A JSON Schema that is not valid for its draft, or names a missing resource."""


class PatchError(JsonError):
    """A JSON Patch that is malformed, or whose operation does not apply."""


class VectorError(AccelError):
    """A vector index file that is not one, or is truncated or damaged.
    (A refused vector or query is an `AccelArgumentError`.)"""


class LimitError(AccelError):
    """A limit was reached: output size, memory or run time."""


class BackendUnavailableError(AccelError):
    """The requested backend does not load here, or lacks the operation."""


class AccelArgumentError(AccelError, ValueError):
    """An argument is out of range or of the wrong kind."""
