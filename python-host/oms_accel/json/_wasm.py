"""The wasm backend's JSON: documents and schemas live inside the component
(its scan checks and indexes the text, simd-json builds a DOM on demand),
and only small results cross back; text crosses as the host carries it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from .._wasm import get_host
from .._wasm.host import DocumentHandle, ParseOptions, SchemaHandle, Text
from ..limits import Limits
from ._backend import MISSING, Arg, DocumentImpl, Progress, SchemaImpl, SchemaSource

_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_LITERALS_FIRST = frozenset("tfn")


def _value(text: str) -> Any:
    """The Python value of one JSON value's text (checked by the component).
    The common scalars are read directly: ``json.loads`` costs 1.2 us even
    on ``"x"``, a third of a lookup on a small document."""
    first = text[0]
    if first == '"':
        if "\\" not in text:  # no escape: the text between the quotes is the string
            return text[1:-1]
    elif first in _LITERALS_FIRST:
        return _LITERALS[text]
    elif text.isascii() and text.lstrip("-").isdigit():  # an integer literal
        return int(text)
    return json.loads(text)


class _Document:
    def __init__(self, handle: DocumentHandle) -> None:
        self.handle = handle

    def get(self, pointer: str) -> Any:
        text = self.handle.get(pointer)
        return MISSING if text is None else _value(text)

    def kind(self, pointer: str) -> str | None:
        return self.handle.kind(pointer)

    def length(self, pointer: str) -> int | None:
        return self.handle.length(pointer)

    def keys(self, pointer: str) -> list[str] | None:
        return self.handle.keys(pointer)

    def to_text(self, pretty: bool) -> str:
        return self.handle.to_text(pretty)

    def to_python(self) -> Any:
        return self.get("")


def _handle_or_text(doc: Arg) -> DocumentHandle | Text:
    d = doc.document
    impl = getattr(d, "_impl", None)
    return impl.handle if isinstance(impl, _Document) else doc.raw()


#: Text at least this large is validated in an instance of its own (the
#: schema compiled there too, for the occasion): its DOM, about 6x the text,
#: would otherwise grow the schema's instance past 64 MiB for as long as
#: the schema lives (linear memory never shrinks; an instance holding a
#: resource is never replaced).
ALONE_FROM = 8 << 20


def _large_text(target: DocumentHandle | Text) -> Text | None:
    """`target` if it is text of at least ALONE_FROM bytes (or characters)."""
    if isinstance(target, str | bytes | bytearray | memoryview) and len(target) >= ALONE_FROM:
        return target
    return None


class _Schema:
    def __init__(self, handle: SchemaHandle, source: SchemaSource, backend: Backend) -> None:
        self.handle = handle
        self._source = source
        self._backend = backend

    def _alone(self, text: Text) -> list[tuple[str, str, str]]:
        b = self._backend
        return b._host.json_validate_alone(b.limits, self._source, text, b.options)

    def validate(self, doc: Arg) -> list[tuple[str, str, str]]:
        target = _handle_or_text(doc)
        large = _large_text(target)
        return self.handle.validate(target) if large is None else self._alone(large)

    def is_valid(self, doc: Arg) -> bool:
        target = _handle_or_text(doc)
        large = _large_text(target)
        return bool(self.handle.is_valid(target)) if large is None else not self._alone(large)

    @property
    def alive(self) -> bool:
        return bool(self.handle.alive)


class Backend:
    """JSON in the sandboxed component."""

    def __init__(self, host: str | None, limits: Limits, max_size: int, max_depth: int) -> None:
        self.limits = limits
        self.options = ParseOptions(max_depth, max_size)
        self._host = get_host(host)

    def parse(self, text: Text) -> DocumentImpl:
        return _Document(self._host.json_parse(self.limits, text, self.options))

    def compile(self, source: SchemaSource) -> SchemaImpl:
        text, draft, resources = source
        return _Schema(self._host.json_compile(self.limits, text, draft, resources, self.options), source, self)

    def diff(self, a: Arg, b: Arg) -> list[dict[str, Any]]:
        return json.loads(self._host.json_diff(self.limits, a.raw(), b.raw(), self.options))  # type: ignore[no-any-return]

    def apply_patch(self, doc: Arg, patch: Arg) -> Any:
        return json.loads(self._host.json_apply_patch(self.limits, doc.raw(), patch.raw(), self.options))

    def merge_patch(self, doc: Arg, patch: Arg) -> Any:
        return json.loads(self._host.json_merge_patch(self.limits, doc.raw(), patch.raw(), self.options))

    def canonicalize(self, doc: Arg) -> str:
        return self._host.json_canonicalize(self.limits, doc.raw(), self.options)

    def iter_ndjson(
        self, path: str, schema: SchemaSource | None, fields: Sequence[str], progress: Progress | None
    ) -> Iterator[dict[str, Any]]:
        import os

        total = os.path.getsize(path)
        for results, done in self._host.json_ndjson(self.limits, path, schema, fields, self.options):
            if progress is not None:
                progress(done, total)
            for line in results.splitlines():
                yield json.loads(line)
