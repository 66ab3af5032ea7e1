"""The pure-Python JSON backend: the standard library's parser made strict,
`jsonschema` for validation, `jsonpatch` for RFC 6902, and RFC 7396 and RFC
8785 written here. Values are plain Python objects."""

from __future__ import annotations

import contextvars
import functools
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._wasm.host import Text
from ..errors import AccelArgumentError, JsonError, LimitError, PatchError, SchemaError
from ._backend import MISSING, Arg, DocumentImpl, Progress, SchemaImpl, SchemaSource, decode_utf8

DRAFTS = {
    "4": "Draft4Validator",
    "6": "Draft6Validator",
    "7": "Draft7Validator",
    "2019-09": "Draft201909Validator",
    "2020-12": "Draft202012Validator",
}


class _Constant(Exception):
    """NaN, Infinity or -Infinity, which the standard parser would accept."""

    def __init__(self, name: str) -> None:
        self.name = name


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


#: Only a number literal with 19 digits in a row or a 3-digit exponent can
#: fall outside the range the component holds (a 64-bit integer, a finite
#: double): the text is searched for one before any number is checked.
_MAYBE_OUT_OF_RANGE = re.compile(r"\d{19}|[eE][+-]?\d{3}")
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1


class _OutOfRange(Exception):
    """A number literal the component would refuse (raised inside json.loads)."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _checked_int(literal: str) -> int:
    value = int(literal) if len(literal) <= 21 else None  # (never a 4300-digit int())
    if value is None or not _INT_MIN <= value <= _INT_MAX:
        raise _OutOfRange(literal)
    return value


def _checked_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _OutOfRange(literal)
    return value


def _error_at(text: str, pos: int, message: str) -> tuple[str, int, int, int]:
    """(message with its position, line, column, byte offset) as the component words them."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {column}: {message}", line, column, _byte_offset(text, pos)


_STRING = r'"(?:[^"\\]|\\.)*"'


def _number_error(text: str, literal: str) -> JsonError:
    """The error at the first `literal` outside a string: strings are
    matched whole, so digits inside one are never taken for the number."""
    number = r"(?<![\w.+\-])" + re.escape(literal) + r"(?![0-9])"
    for m in re.finditer(f"{_STRING}|{number}", text):
        if m.group()[0] != '"':
            if literal.lstrip("-").isdigit() and text[m.end() : m.end() + 1] in (".", "e", "E"):
                # An integer's fraction or exponent without a digit: the
                # component meets that before it weighs the number's size,
                # where the standard parser's integer pattern stops short of
                # it and hands over the integer first.
                return _syntax_error(text, *_component_wording(text, "Extra data", m.end()))
            return _syntax_error(text, "number out of range", m.start())
    return JsonError("number out of range", "syntax")


def _syntax_error(text: str, message: str, pos: int) -> JsonError:
    message, line, column, offset = _error_at(text, pos, message)
    return JsonError(message, "syntax", line, column, offset)


def _component_wording(text: str, msg: str, pos: int) -> tuple[str, int]:
    """The standard parser's error (message, position) as the component
    words and places it, so that a message never depends on the backend.
    Only a failed parse pays for this."""
    c = text[pos] if pos < len(text) else ""
    if c == "-" and msg == "Expecting value":
        return "invalid number", pos + 1
    if c in (".", "e", "E") and msg in ("Extra data", "Expecting ',' delimiter"):
        # The standard parser stops a number before a bad fraction or
        # exponent and complains about what follows; the component says
        # the number is bad, after the '.' or the exponent's sign.
        start = pos
        while start > 0 and text[start - 1] in "0123456789.eE+-":
            start -= 1
        token = text[start:pos]
        if token and token[-1].isdigit():
            if c == "." and not any(x in token for x in ".eE"):
                return "invalid number: no digit after '.'", pos + 1
            if c in "eE" and not any(x in token for x in "eE"):
                after = pos + 2 if text[pos + 1 : pos + 2] in ("+", "-") and pos + 1 < len(text) else pos + 1
                return "invalid number: no digit in the exponent", after
    if msg == "Expecting value":
        if not text[pos:].strip(" \t\n\r"):
            return "expected a value, found the end", pos
        return ("invalid literal" if c in ("t", "f", "n") else "expected a value"), pos
    if msg == "Expecting ',' delimiter":
        return f"expected ',' or '{_closer_at(text, pos)}'", pos
    if msg == "Invalid \\uXXXX escape":
        first = pos + 1 if c == "u" else pos + 2
        hexes = first
        while hexes < len(text) and hexes < first + 4 and text[hexes] in "0123456789abcdefABCDEF":
            hexes += 1
        if hexes == first + 4 == len(text):
            # The standard parser says this of a whole escape that ends the
            # text: the string is left open.
            return "unterminated string", _string_start(text, pos)
        return "invalid \\u escape", hexes
    for prefix, wording in _WORDING:
        if msg.startswith(prefix):
            return wording, pos
    return msg, pos


#: The standard parser's messages that the component words differently.
_WORDING = (
    ("Expecting ':' delimiter", "expected ':'"),
    ("Expecting property name enclosed in double quotes", "expected a string key"),
    ("Unterminated string", "unterminated string"),
    ("Invalid control character", "control character in a string"),
    ("Invalid \\escape", "invalid escape"),
    ("Extra data", "trailing characters after the value"),
    ("Unexpected UTF-8 BOM", "expected a value"),
    ("Illegal trailing comma", "expected a value"),
)


def _string_start(text: str, pos: int) -> int:
    """The opening quote of the string that `pos` is in (the standard parser
    read the text up to there)."""
    start, i = -1, 0
    while i < pos:
        if start < 0:
            start = i if text[i] == '"' else -1
        elif text[i] == "\\":
            i += 1
        elif text[i] == '"':
            start = -1
        i += 1
    return start


def _closer_at(text: str, pos: int) -> str:
    """The bracket that closes the container open at `pos`."""
    stack = []
    for m in _STRUCTURE.finditer(text, 0, pos):
        c = m.group()[0]
        if c in "[{":
            stack.append("]" if c == "[" else "}")
        elif c in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else "]"


def _constant_error(text: str, name: str) -> JsonError:
    """NaN or Infinity where a value stands, worded as the component words it."""
    for m in re.finditer(f"{_STRING}|" + re.escape(name), text):
        if m.group()[0] != '"':
            if name.startswith("-"):
                return _syntax_error(text, "invalid number", m.start() + 1)
            return _syntax_error(text, "expected a value", m.start())
    return JsonError(f"{name} is not JSON", "syntax")


#: Strings and brackets, for finding where nesting passes the limit.
_STRUCTURE = re.compile(_STRING + r"|[\[{]|[\]}]")


def _depth_error(text: str, max_depth: int) -> LimitError:
    """The limit error at the bracket that opens one level too many (only a
    text known to nest too deep pays for this walk of its structure)."""
    depth = 0
    for m in _STRUCTURE.finditer(text):
        c = m.group()[0]
        if c in "[{":
            depth += 1
            if depth > max_depth:
                message = _error_at(text, m.start(), f"nesting deeper than {max_depth} levels")[0]
                return LimitError(message, "limit-exceeded")
        elif c in "]}":
            depth -= 1
    return LimitError(f"nesting deeper than {max_depth} levels", "limit-exceeded")


def parse(text: str, max_size: int, max_depth: int) -> Any:
    """Strict RFC 8259: the standard parser already refuses trailing commas,
    leading zeros, comments and raw control characters; NaN and Infinity are
    refused here, numbers the component cannot hold (beyond 64-bit integers,
    or infinite as a double), and lone surrogates, as the wasm backend
    does. Size is counted in bytes of UTF-8 and depth in containers, as the
    component counts them."""
    check_size(text, max_size)
    checked: dict[str, Any] = {}
    if _MAYBE_OUT_OF_RANGE.search(text):
        checked = {"parse_int": _checked_int, "parse_float": _checked_float}
    try:
        value = json.loads(text, parse_constant=_reject_constant, **checked)
    except json.JSONDecodeError as e:
        raise _syntax_error(text, *_component_wording(text, e.msg, e.pos)) from None
    except _OutOfRange as e:
        raise _number_error(text, e.literal) from None
    except _Constant as e:
        raise _constant_error(text, e.name) from None
    except RecursionError:
        if nesting_exceeds(text, max_depth):
            raise _depth_error(text, max_depth) from None
        raise LimitError(
            f"the document nests deeper than the pure-Python parser can go (Python's recursion limit, "
            f"{sys.getrecursionlimit()}), though within max_depth={max_depth}: use the wasm backend",
            "limit-exceeded",
        ) from None
    # (Fewer brackets than the limit cannot nest past it: most texts stop here.)
    if text.count("[") + text.count("{") > max_depth and nesting_exceeds(text, max_depth):
        raise _depth_error(text, max_depth)
    if _SURROGATE_ESCAPE.search(text) is not None:
        _refuse_lone_surrogate(text)
    return value


def check_size(text: str, max_size: int) -> None:
    """Refuses text of more than `max_size` bytes of UTF-8."""
    # A character is 1 to 4 bytes: only in between is the encoding counted.
    if len(text) > max_size or (len(text) * 4 > max_size and len(text.encode("utf-8", "surrogatepass")) > max_size):
        raise LimitError(f"the document is over the limit of {max_size} bytes", "limit-exceeded")


#: Every byte but the brackets and the quote, for `bytes.translate` to delete.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
#: Brackets as parentheses.
_AS_PARENS = bytes.maketrans(b"[]{}", b"()()")


def nesting_exceeds(text: str, max_depth: int) -> bool:
    """Whether valid JSON `text` nests deeper than `max_depth` containers.

    In C-speed string operations, not a walk of the parsed value (which cost
    the fallback's `get` 0.6x its speed): escaped backslashes and quotes go,
    then everything but brackets and quotes; the brackets between quote
    pairs (inside strings) go; what is left is the tree of containers as
    parentheses, and each pass of removing "()" strips one level of it."""
    b = text.encode("utf-8", "surrogatepass")
    for escape in (b"\\\\", b'\\"'):  # (a search is cheaper than a copy; most texts have neither)
        if escape in b:
            b = b.replace(escape, b"")
    # Adjacent quotes enclose no bracket outside strings, whichever pair they
    # are: removing them first leaves few strings to split out.
    structure = b.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    parens = b"".join(structure.split(b'"')[::2]).translate(_AS_PARENS)
    for _ in range(max_depth):
        if not parens:
            return False
        parens = parens.replace(b"()", b"")
    return bool(parens)


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8", "surrogatepass"))


# A \u escape of a UTF-16 surrogate. The standard parser joins a valid pair
# into one character and keeps a lone one as a surrogate code point, which no
# UTF-8 text (nor the wasm backend) can hold.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogate(text: str) -> None:
    """Raises JsonError at the first surrogate escape of `text` (valid JSON)
    that is not half of a pair, as the standard parser pairs them: a high
    half directly followed by an escaped low half."""
    pair_end = -1
    for m in _SURROGATE_ESCAPE.finditer(text):
        start = before = m.start()
        while before > 0 and text[before - 1] == "\\":
            before -= 1
        if start < pair_end or (start - before) % 2:
            continue  # the low half of a pair, or an escaped backslash and text
        high = m.group()[3] in "89abAB"
        low = _SURROGATE_ESCAPE.match(text, m.end())
        if high and low is not None and low.group()[3] not in "89abAB":
            pair_end = low.end()
            continue
        raise _syntax_error(text, "lone UTF-16 surrogate in a \\u escape", start)


def pointer_parts(pointer: str) -> list[str]:
    if pointer and not pointer.startswith("/"):
        raise AccelArgumentError(f"invalid JSON pointer {pointer!r}: it must be empty or start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def resolve(value: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer, or MISSING."""
    for part in pointer_parts(pointer):
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list):
            if not (part.isdigit() and (part == "0" or not part.startswith("0"))) or int(part) >= len(value):
                return MISSING
            value = value[int(part)]
        else:
            return MISSING
    return value


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def to_text(value: Any, pretty: bool) -> str:
    if pretty:
        return json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# --- schemas -------------------------------------------------------------------

#: When the validation running in this context must stop (monotonic seconds).
_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("deadline", default=math.inf)


@functools.lru_cache(maxsize=1024)
def _matcher(pattern: str) -> Callable[[str], object]:
    """The search of a schema pattern. RE2 matches in time linear in the
    string (``^(x+x+)+y$`` on 100,000 characters in milliseconds, where `re`
    takes seconds on 28, doubling with each); only a pattern RE2 cannot
    express (a backreference, a lookaround) falls back to `re`."""
    import re2  # type: ignore[import-untyped]

    try:
        return re2.compile(pattern).search  # type: ignore[no-any-return]
    except re2.error:
        return re.compile(pattern).search


def _search(pattern: str, text: str) -> bool:
    if time.monotonic() > _DEADLINE.get():
        raise LimitError("the call ran past its time limit", "limit-exceeded")
    return _matcher(pattern)(text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "object"):
        for pattern, subschema in patterns.items():
            for k, v in instance.items():
                if _search(pattern, k):
                    yield from validator.descend(v, subschema, path=k, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """jsonschema's own keyword, its patternProperties test done by `_search`."""
    from jsonschema._utils import extras_msg
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    properties, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = [k for k in instance if k not in properties and not any(_search(p, k) for p in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        # In the instance's order and one wording, as the component gives it.
        names, verb = extras_msg(extras)
        yield ValidationError(f"Additional properties are not allowed ({names} {verb} unexpected)")


def _items_2020(validator: Any, items: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """Draft 2020-12 ``items``; ``false`` refuses each extra item at its own
    path, as the component does (jsonschema gives one error for them all)."""
    from jsonschema import _keywords
    from jsonschema.exceptions import ValidationError

    if items is False and validator.is_type(instance, "array"):
        for index in range(len(schema.get("prefixItems", [])), len(instance)):
            # (`descend` into a false schema would drop the item's path.)
            item = instance[index]
            yield ValidationError("False schema does not allow", instance=item, schema=False, path=[index])
    else:
        yield from _keywords.items(validator, items, instance, schema)


#: The keywords whose pattern matching `_search` does.
_PATTERN_KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties}


class CompiledSchema:
    def __init__(self, schema: Any, draft: str | None, resources: dict[str, Any]) -> None:
        import jsonschema
        import jsonschema.validators
        from referencing import Registry, Resource
        from referencing.exceptions import NoSuchResource
        from referencing.jsonschema import DRAFT202012, specification_with

        if not isinstance(schema, dict | bool):
            kind = "null" if schema is None else _compact(schema)
            raise SchemaError(f'invalid schema: {kind} is not of types "boolean", "object"', "invalid-schema")
        if draft is None:
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        else:
            cls = getattr(jsonschema, DRAFTS[draft])
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise SchemaError(f"invalid schema: {e.message}", "invalid-schema") from None
        # Resources are served on demand (only those a $ref reaches are read),
        # as the schema's draft unless they name their own; nothing is fetched.
        spec = specification_with(cls.META_SCHEMA.get("$schema", ""), default=DRAFT202012)

        def retrieve(uri: str) -> Resource[Any]:
            key = uri.rstrip("#")
            if key not in resources:
                raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs class
            return Resource.from_contents(resources[key], default_specification=spec)

        registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
        keywords: dict[str, Any] = dict(_PATTERN_KEYWORDS)
        if cls is jsonschema.Draft202012Validator:
            keywords["items"] = _items_2020
        linear = jsonschema.validators.extend(cls, keywords)
        self._validator = linear(schema, registry=registry)
        self._root = schema

    def violations(self, value: Any, timeout_s: float = math.inf) -> list[tuple[str, str, str]]:
        """The violations of `value`. The time limit is checked before each
        pattern match and after each violation: jsonschema runs uninterrupted
        between those points (one keyword on one value)."""
        import jsonschema.exceptions
        import referencing.exceptions

        deadline = time.monotonic() + timeout_s
        token = _DEADLINE.set(deadline)
        errors = []
        try:
            for error in self._validator.iter_errors(value):
                errors.append(error)
                if time.monotonic() > deadline:
                    raise LimitError("the call ran past its time limit", "limit-exceeded")
        except (referencing.exceptions.Unresolvable, jsonschema.exceptions._WrappedReferencingError) as e:
            raise SchemaError(f"invalid schema: {e}", "invalid-schema") from None
        finally:
            _DEADLINE.reset(token)
        return [(_pointer(e.absolute_path), _pointer(_placed(self._root, list(e.absolute_schema_path))), _message(e)) for e in errors]


def _compact(value: Any) -> str:
    """A value as the component quotes it in a message: compact JSON."""
    return to_text(value, False)


def _count(n: Any, word: str) -> str:
    plural = {"property": "properties"}.get(word, word + "s")
    return f"{n} {word if n == 1 else plural}"


def _listed(values: Sequence[Any]) -> str:
    """``a, b or c``, each value as compact JSON; past three values, the
    first two and ``or N other candidates`` (the component's wording)."""
    shown = [_compact(v) for v in values]
    if len(shown) > 3:
        return f"{shown[0]}, {shown[1]} or {len(shown) - 2} other candidates"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _types(names: str | list[str]) -> str:
    if isinstance(names, str) or len(names) == 1:
        return f'type "{names if isinstance(names, str) else names[0]}"'
    return "types " + ", ".join(f'"{t}"' for t in sorted(names))


def _quoted_name(message: str) -> str:
    """The property a jsonschema message names first (as its repr), in double quotes."""
    import ast

    try:
        return _compact(ast.literal_eval(message.split(" is a", 1)[0]))
    except (ValueError, SyntaxError):
        return message


#: The component's wording of a violation of each keyword, from the
#: keyword's value and the instance (its validator, jsonschema-rs, words
#: them so): the same message on every backend, and in `json ndjson` output.
_MESSAGES: dict[str, Callable[[Any, Any, str], str]] = {
    "type": lambda v, i, m: f"{_compact(i)} is not of {_types(v)}",
    "enum": lambda v, i, m: f"{_compact(i)} is not one of {_listed(v)}",
    "const": lambda v, i, m: f"{_compact(v)} was expected",
    "minLength": lambda v, i, m: f"{_compact(i)} is shorter than {_count(v, 'character')}",
    "maxLength": lambda v, i, m: f"{_compact(i)} is longer than {_count(v, 'character')}",
    "minItems": lambda v, i, m: f"{_compact(i)} has less than {_count(v, 'item')}",
    "maxItems": lambda v, i, m: f"{_compact(i)} has more than {_count(v, 'item')}",
    "minProperties": lambda v, i, m: f"{_compact(i)} has less than {_count(v, 'property')}",
    "maxProperties": lambda v, i, m: f"{_compact(i)} has more than {_count(v, 'property')}",
    "minimum": lambda v, i, m: f"{_compact(i)} is less than the minimum of {_compact(v)}",
    "maximum": lambda v, i, m: f"{_compact(i)} is greater than the maximum of {_compact(v)}",
    "exclusiveMinimum": lambda v, i, m: f"{_compact(i)} is less than or equal to the minimum of {_compact(v)}",
    "exclusiveMaximum": lambda v, i, m: f"{_compact(i)} is greater than or equal to the maximum of {_compact(v)}",
    "multipleOf": lambda v, i, m: f"{_compact(i)} is not a multiple of {_compact(v)}",
    "required": lambda v, i, m: f"{_quoted_name(m)} is a required property",
    "dependentRequired": lambda v, i, m: f"{_quoted_name(m)} is a required property",
    "pattern": lambda v, i, m: f"{_compact(i)} does not match {_compact(v)}",
    "not": lambda v, i, m: f"{_compact(v)} is not allowed for {_compact(i)}",
    "anyOf": lambda v, i, m: f"{_compact(i)} is not valid under any of the schemas listed in the 'anyOf' keyword",
    "oneOf": lambda v, i, m: (
        f"{_compact(i)} is "
        + ("not valid under any" if "is not valid under any" in m else "valid under more than one")
        + " of the schemas listed in the 'oneOf' keyword"
    ),
    "uniqueItems": lambda v, i, m: f"{_compact(i)} has non-unique elements",
    "contains": lambda v, i, m: f"None of {_compact(i)} are valid under the given schema" if "does not contain" in m else m,
}


def _message(error: Any) -> str:
    """A jsonschema error's message as the component words it."""
    word = _MESSAGES.get(error.validator)
    if word is not None:
        return word(error.validator_value, error.instance, str(error.message))
    if str(error.message).startswith("False schema does not allow"):  # (jsonschema quotes it by repr)
        return f"False schema does not allow {_compact(error.instance)}"
    return str(error.message)


def _placed(root: Any, path: list[Any]) -> list[Any]:
    """jsonschema's schema path as a pointer into the schema document, as the
    component reports it: jsonschema steps through a ``$ref`` without naming
    it (``/properties/x/minimum`` where x is ``{"$ref": "#/$defs/a"}``),
    the component continues from where the reference leads
    (``/$defs/a/minimum``). A reference it cannot place here (into another
    resource, or by anchor) leaves jsonschema's path as it was."""
    placed: list[Any] = []
    node = root
    for part in path:
        # A keyword the node lacks was reached through its $ref (a sibling
        # keyword of the same name, in 2019-09 and later, is the node's own).
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and part not in node:
            target = _local_ref(root, node["$ref"])
            if target is None:
                return path
            placed, node = target
        placed.append(part)
        node = _child(node, part)
    return placed


def _local_ref(root: Any, ref: str) -> tuple[list[Any], Any] | None:
    """Where a ``#/...`` reference leads in `root`: its tokens and the schema there."""
    if ref != "#" and not ref.startswith("#/"):
        return None
    tokens: list[Any] = [t.replace("~1", "/").replace("~0", "~") for t in ref[2:].split("/")] if ref != "#" else []
    node = root
    for t in tokens:
        node = _child(node, t)
        if node is None:
            return None
    return tokens, node


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(str(part))
    if isinstance(node, list):
        i = int(part) if str(part).isdigit() else -1
        return node[i] if 0 <= i < len(node) else None
    return None


def _pointer(parts: Any) -> str:
    return "".join("/" + _escape(str(p)) for p in parts)


def _escape(token: str) -> str:
    """An RFC 6901 reference token: ``~`` and ``/`` escaped."""
    return token.replace("~", "~0").replace("/", "~1")


# --- patches ------------------------------------------------------------------------


def diff(a: Any, b: Any) -> list[Any]:
    """The RFC 6902 patch from `a` to `b`, made as the component makes it
    (the `json-patch` crate's algorithm): objects key by key in `b`'s order,
    then removals in `a`'s; arrays index by index, the surplus removed or
    added at the end; any other difference a replace. No moves or copies,
    so both backends give the same patch."""
    ops: list[dict[str, Any]] = []
    _diff(a, b, "", ops)
    return ops


def _diff(a: Any, b: Any, path: str, ops: list[dict[str, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key, value in b.items():
            at = path + "/" + _escape(key)
            if key in a:
                _diff(a[key], value, at, ops)
            else:
                ops.append({"op": "add", "path": at, "value": value})
        ops.extend({"op": "remove", "path": path + "/" + _escape(k)} for k in a if k not in b)
    elif isinstance(a, list) and isinstance(b, list):
        removed = 0
        for i in range(max(len(a), len(b))):
            at = f"{path}/{i - removed}"
            if i < len(a) and i < len(b):
                _diff(a[i], b[i], at, ops)
            elif i < len(a):
                removed += 1
                ops.append({"op": "remove", "path": at})
            else:
                ops.append({"op": "add", "path": at, "value": b[i]})
    elif type(a) is not type(b) or a != b:
        # JSON's equality: 1, 1.0 and true are three different values.
        ops.append({"op": "replace", "path": path, "value": b})


def apply_patch(doc: Any, patch: Any) -> Any:
    import jsonpatch
    import jsonpointer

    if not isinstance(patch, list):
        raise PatchError("not a JSON Patch: it must be an array of operations", "invalid-patch")
    try:
        # In place: `doc` is the caller's own copy (`Arg.value`), and a
        # deepcopy of it would recurse past Python's limit at 512 levels.
        return jsonpatch.JsonPatch(patch).apply(doc, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, TypeError, IndexError, ValueError) as e:
        raise PatchError(f"the patch does not apply: {e}", "patch-failed") from None


def merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7396, section 2."""
    if not isinstance(patch, dict):
        return patch
    target = dict(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def canonicalize(value: Any) -> str:
    """RFC 8785: keys sorted by UTF-16 code units, numbers as ECMAScript prints them."""
    out: list[str] = []
    joined: list[str] = []
    _canon(value, out, joined)
    joined.append("".join(out))
    return "".join(joined)


def _canon(value: Any, out: list[str], joined: list[str]) -> None:
    """Appends the pieces of `value` to `out`, which is joined into `joined`
    after a container once it holds a few thousand (millions of small
    strings in one list cost 14x the document)."""
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be"))):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _canon(value[key], out, joined)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _canon(item, out, joined)
        out.append("]")
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
        return
    else:
        out.append(es_number(float(value)))
        return
    if len(out) >= 4096:
        joined.append("".join(out))
        out.clear()


def es_number(x: float) -> str:
    """A double as ECMAScript's Number.prototype.toString prints it."""
    if math.isnan(x) or math.isinf(x):
        raise AccelArgumentError("NaN and Infinity have no JSON form")
    if x == 0:
        return "0"
    r = repr(x)  # the shortest round-tripping digits, as ECMAScript wants
    sign = "-" if r.startswith("-") else ""
    r = r.lstrip("-")
    mantissa, _, exp = r.partition("e")
    digits = mantissa.replace(".", "")
    point = (mantissa.index(".") if "." in mantissa else len(mantissa)) + int(exp or 0)
    lead = len(digits) - len(digits.lstrip("0"))
    digits, point = digits.strip("0") or "0", point - lead
    k, n = len(digits), point
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * -n + digits
    else:
        e = n - 1
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + s


# --- NDJSON -----------------------------------------------------------------------------


def iter_ndjson(
    path: str, schema: CompiledSchema | None, fields: Sequence[str], max_size: int, max_depth: int, progress: Progress | None = None
) -> Iterator[dict[str, Any]]:
    """The same records the component's reader reports, one line at a time;
    no more than `max_size` + 1 bytes of a line are ever held (as the guest)."""
    for f in fields:
        pointer_parts(f)
    total = os.path.getsize(path)
    done = 0
    with open(path, "rb") as fh:
        number = 0
        while raw := fh.readline(max_size + 1):
            number += 1
            done += len(raw)
            if len(raw) == max_size + 1 and not raw.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    done += len(rest)
                done += len(rest)
                yield {"line": number, "valid": False, "error": f"the record is over the limit of {max_size} bytes"}
                continue
            if progress is not None:
                progress(done, total)
            text = raw.strip(b" \t\r\n")
            if not text:
                continue
            try:
                value = parse(text.decode("utf-8"), max_size, max_depth)
            except UnicodeDecodeError as e:
                yield {"line": number, "valid": False, "error": f"invalid UTF-8 at byte {e.start}"}
                continue
            except (JsonError, LimitError) as e:
                yield {"line": number, "valid": False, "error": str(e)}
                continue
            record: dict[str, Any] = {"line": number}
            if schema is not None:
                errors = schema.violations(value)
                record["valid"] = not errors
                record["errors"] = [{"instance_path": i, "schema_path": s, "message": m} for i, s, m in errors]
            else:
                record["valid"] = True
            if fields:
                record["fields"] = {f: (None if (v := resolve(value, f)) is MISSING else v) for f in fields}
            elif schema is None:
                record["value"] = value
            yield record


# --- the backend ------------------------------------------------------------------------


class _Document:
    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self, pointer: str) -> Any:
        return resolve(self.value, pointer)

    def kind(self, pointer: str) -> str | None:
        v = resolve(self.value, pointer)
        return None if v is MISSING else kind(v)

    def length(self, pointer: str) -> int | None:
        v = resolve(self.value, pointer)
        return len(v) if isinstance(v, list | dict | str) else None

    def keys(self, pointer: str) -> list[str] | None:
        v = resolve(self.value, pointer)
        return list(v) if isinstance(v, dict) else None

    def to_text(self, pretty: bool) -> str:
        return to_text(self.value, pretty)

    def to_python(self) -> Any:
        """A copy (by JSON, at C speed): the caller may change it, and a
        patch applies to it in place, without touching the document."""
        return json.loads(to_text(self.value, False))


class _Schema:
    def __init__(self, compiled: CompiledSchema, timeout_s: float) -> None:
        self.compiled = compiled
        self.timeout_s = timeout_s

    def validate(self, doc: Arg) -> list[tuple[str, str, str]]:
        return self.compiled.violations(doc.value(), self.timeout_s)

    def is_valid(self, doc: Arg) -> bool:
        return not self.validate(doc)

    alive = True


class Backend:
    """JSON in the standard library, `jsonschema` and `jsonpatch`."""

    def __init__(self, max_size: int, max_depth: int, timeout_s: float = math.inf) -> None:
        self.max_size = max_size
        self.max_depth = max_depth
        #: Each validation's time limit (see `CompiledSchema.violations`).
        self.timeout_s = timeout_s

    def parse_value(self, text: str) -> Any:
        return parse(text, self.max_size, self.max_depth)

    def parse(self, text: Text) -> DocumentImpl:
        return _Document(self.parse_value(text if isinstance(text, str) else decode_utf8(text)))

    def compile_source(self, source: SchemaSource) -> CompiledSchema:
        text, draft, resources = source
        try:
            value = self.parse_value(text)
            res = {uri: self.parse_value(t) for uri, t in resources}
        except (JsonError, LimitError) as e:
            raise SchemaError(f"invalid schema: {e}", "invalid-schema") from None
        return CompiledSchema(value, draft, res)

    def compile(self, source: SchemaSource) -> SchemaImpl:
        return _Schema(self.compile_source(source), self.timeout_s)

    def diff(self, a: Arg, b: Arg) -> list[dict[str, Any]]:
        return diff(a.value(), b.value())

    def apply_patch(self, doc: Arg, patch: Arg) -> Any:
        return apply_patch(doc.value(), patch.value())

    def merge_patch(self, doc: Arg, patch: Arg) -> Any:
        return merge_patch(doc.value(), patch.value())

    def canonicalize(self, doc: Arg) -> str:
        return canonicalize(doc.value())

    def iter_ndjson(
        self, path: str, schema: SchemaSource | None, fields: Sequence[str], progress: Progress | None
    ) -> Iterator[dict[str, Any]]:
        compiled = None if schema is None else self.compile_source(schema)
        return iter_ndjson(path, compiled, fields, self.max_size, self.max_depth, progress)
