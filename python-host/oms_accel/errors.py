"""The exception hierarchy: every failure the library reports is an AccelError.

Every error carries a ``code``: the WIT ``error-code`` name where the failure
came from the component, and the same names on every other backend, so that
code can branch on ``err.code`` whichever backend raised it:

=====================  ==================================================  ==========================
code                   meaning                                             raised as
=====================  ==================================================  ==========================
``corrupt``            the input is not valid for its format               the capability's error
``truncated``          the input ends before its format says it does       the capability's error
``wrong-source``       a delta refers to bytes its source does not have    `DeltaError`
``checksum-mismatch``  decoded output fails the checksum stored with it    `DeltaError`
``unverified``         a delta without checksums, decoded with verify on   `DeltaError`
``unsupported``        a valid input using a feature not implemented       the capability's error
``io``                 reading or writing a file failed                    the capability's error
``limit-exceeded``     a limit (output, depth, size, memory, time) hit     `LimitError`
``invalid-argument``   an argument out of range or of the wrong kind       `AccelArgumentError`
``syntax``             JSON text that is not strict RFC 8259               `JsonError` (with position)
``invalid-schema``     a JSON Schema invalid for its draft                 `SchemaError`
``invalid-patch``      a JSON Patch that is not well-formed                `PatchError`
``patch-failed``       a JSON Patch operation that does not apply          `PatchError`
``trap``               the component trapped (a bug in it; reported)      the capability's error
``unavailable``        a backend, module or feature that does not load     `BackendUnavailableError`
``internal``           a C library of the native module failed in a way    the capability's error
                       no input should cause (reported, never expected)
=====================  ==================================================  ==========================

(The capability's error: `DeltaError` for deltas, `CompressionError` for
zstd frames, `JsonError` for JSON, `VectorError` for vectors.)
"""

from __future__ import annotations


class AccelError(Exception):
    """Base class of every error oms-accel raises. ``code`` is the
    machine-readable reason (see the module documentation)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class DeltaError(AccelError):
    """A delta is corrupt, truncated, made against another source, fails its
    checksum, has none to check (with verification on), or uses a feature
    this library does not support."""


class CompressionError(AccelError):
    """A zstd frame is corrupt, truncated, or does not record its size."""


class JsonError(AccelError):
    """Invalid JSON. ``line`` and ``column`` (1-based, the column in
    characters) and ``offset`` (in bytes of UTF-8) say where, when known."""

    def __init__(
        self,
        message: str,
        code: str | None = "syntax",
        line: int | None = None,
        column: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message, code)
        self.line = line
        self.column = column
        self.offset = offset


class SchemaError(AccelError):
    """A JSON Schema that is not valid for its draft, or names a missing resource."""


class PatchError(JsonError):
    """A JSON Patch that is malformed (``invalid-patch``), or whose operation
    does not apply (``patch-failed``)."""


class VectorError(AccelError):
    """A vector index file that is not one, or is truncated or damaged.
    (A refused vector or query is an `AccelArgumentError`.)"""


class LimitError(AccelError):
    """A limit was reached: output size, depth, document size, memory or run time."""


class BackendUnavailableError(AccelError):
    """The requested backend does not load here, or lacks the operation."""

    def __init__(self, message: str, code: str | None = "unavailable") -> None:
        super().__init__(message, code)


class AccelArgumentError(AccelError, ValueError):
    """An argument is out of range or of the wrong kind."""

    def __init__(self, message: str, code: str | None = "invalid-argument") -> None:
        super().__init__(message, code)


#: Codes whose exception type does not depend on the capability.
_BY_CODE: dict[str, type[AccelError]] = {
    "limit-exceeded": LimitError,
    "invalid-argument": AccelArgumentError,
    "syntax": JsonError,
    "invalid-schema": SchemaError,
    "invalid-patch": PatchError,
    "patch-failed": PatchError,
}


def from_code(code: str, message: str, capability: type[AccelError], position: tuple[int, int, int] | None = None) -> AccelError:
    """The exception for an error `code`, by table: the codes above that
    name a type, else the `capability`'s own error. `position` is
    (byte offset, line, column), with line and column 0 for binary input."""
    cls = _BY_CODE.get(code, capability)
    if issubclass(cls, JsonError):
        if position is None:
            return cls(message, code)
        offset, line, column = position
        return cls(message, code, line or None, column or None, offset)
    return cls(message, code)
