"""The interface every JSON backend implements whole, and the one home of
argument normalization: a JSON-value argument (a `Document`, JSON text as
``str`` or UTF-8 bytes, or a Python value) becomes an `Arg` that gives the
backend text or Python values, whichever it works on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from .._wasm.host import Text
from ..errors import AccelArgumentError, JsonError

#: (schema text, draft, resources as (URI, text) pairs): what a schema is compiled from.
SchemaSource = tuple[str, str | None, tuple[tuple[str, str], ...]]
Progress = Callable[[int, int], None]


class Missing:
    """The absence of a value at a pointer."""


MISSING = Missing()


class DocumentImpl(Protocol):
    """A backend's parsed document. Pointers are RFC 6901."""

    def get(self, pointer: str) -> Any:
        """The value as Python objects, or MISSING."""
        ...

    def kind(self, pointer: str) -> str | None: ...
    def length(self, pointer: str) -> int | None: ...
    def keys(self, pointer: str) -> list[str] | None: ...
    def to_text(self, pretty: bool) -> str: ...
    def to_python(self) -> Any: ...


class SchemaImpl(Protocol):
    def validate(self, doc: Arg) -> list[tuple[str, str, str]]:
        """(instance path, schema path, message) of every violation."""
        ...

    def is_valid(self, doc: Arg) -> bool: ...

    @property
    def alive(self) -> bool:
        """False once it cannot be used any more (its component instance is gone)."""
        ...


class JsonBackend(Protocol):
    def parse(self, text: Text) -> DocumentImpl:
        """A document from JSON text: a ``str`` or UTF-8 bytes (a backend that
        needs a ``str`` decodes them with `decode_utf8`)."""
        ...

    def compile(self, source: SchemaSource) -> SchemaImpl: ...
    def diff(self, a: Arg, b: Arg) -> list[dict[str, Any]]: ...
    def apply_patch(self, doc: Arg, patch: Arg) -> Any: ...
    def merge_patch(self, doc: Arg, patch: Arg) -> Any: ...
    def canonicalize(self, doc: Arg) -> str: ...
    def iter_ndjson(
        self, path: str, schema: SchemaSource | None, fields: Sequence[str], progress: Progress | None
    ) -> Iterator[dict[str, Any]]:
        """Each record's result as the component's reader reports it (see `NdjsonRecord`)."""
        ...


def decode_utf8(data: bytes | bytearray | memoryview) -> str:
    """UTF-8 bytes as text; invalid UTF-8 is a JsonError at its position."""
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        before = bytes(data[: e.start])
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise JsonError(f"line {line} column {column}: invalid UTF-8", "syntax", line, column, e.start) from None


def value_to_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise AccelArgumentError(f"not a JSON value: {e}") from None


class Arg:
    """A JSON-value argument, as text or Python values on demand (each made
    once). `parse` turns text into Python values under the caller's limits."""

    def __init__(self, source: Any, parse: Callable[[str], Any]) -> None:
        self.source = source
        self._parse = parse
        self._text: str | None = None

    @property
    def document(self) -> Any:
        """The `Document` this argument is, or None."""
        from . import Document

        return self.source if isinstance(self.source, Document) else None

    def raw(self) -> Text:
        """The argument as JSON text, as given where it is text already (a
        ``str``, or UTF-8 bytes left undecoded for a host that takes bytes)."""
        s = self.source
        if self._text is None and self.document is None and isinstance(s, str | bytes | bytearray | memoryview):
            return s
        return self.text()

    def text(self) -> str:
        if self._text is None:
            s = self.source
            doc = self.document
            if doc is not None:
                self._text = doc.to_text()
            elif isinstance(s, str):
                self._text = s
            elif isinstance(s, bytes | bytearray | memoryview):
                self._text = decode_utf8(s)
            else:
                self._text = value_to_text(s)
        return self._text

    def value(self) -> Any:
        """The argument as Python values. A Python value goes through JSON
        text too, as it does on the way into the component: what is not JSON
        (a set, bytes, NaN, a number out of range, nesting past the limit) is
        refused, and keys become strings, the same on every backend."""
        doc = self.document
        if doc is not None:
            return doc.to_python()
        return self._parse(self.text())
