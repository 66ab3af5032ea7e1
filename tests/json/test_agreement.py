"""The backends agree, and the fallback keeps the limits: one policy per case
(numbers the component cannot hold, Python values that are not JSON,
nesting past the limit, pattern matching in linear time, the time limit),
checked on every backend and host, on fixed and generated inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oms_accel.json
from oms_accel import AccelError, JsonProcessor, LimitError, Limits, backends

from ..conftest import with_hosts

BACKENDS = with_hosts(backends.loaded(oms_accel.json.SUPPORTED_BACKENDS))
PROCS = {b: JsonProcessor(b) for b in BACKENDS}


def outcome(call: Callable[[], Any]) -> Any:
    """What a call gives: its value, or its error's type, code, message and position."""
    try:
        return ("ok", call())
    except AccelError as e:
        return (type(e).__name__, e.code, str(e), getattr(e, "line", None), getattr(e, "column", None))


def agree(make: Callable[[JsonProcessor], Callable[[], Any]]) -> Any:
    seen = {b: outcome(make(p)) for b, p in PROCS.items()}
    assert len({repr(v) for v in seen.values()}) == 1, seen
    return next(iter(seen.values()))


# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "held"),
    [
        ("18446744073709551615", True),  # u64::MAX
        ("18446744073709551616", False),
        ("-9223372036854775808", True),  # i64::MIN
        ("-9223372036854775809", False),
        ("123456789012345678901234567890", False),
        ("1e308", True),
        ("1.8e308", False),
        ("1e400", False),
        ("1e-400", True),  # rounds to 0, as a double does
        ("0.00000000000000000000000000000000000000000000000000000001e400", False),
        ("1" * 5000, False),  # past Python's int() digit limit too
    ],
)
def test_numbers_the_component_cannot_hold_are_refused_everywhere(literal: str, held: bool) -> None:
    got = agree(lambda p: lambda: p.parse_large_document(f"[{literal}]").get("/0"))
    if held:
        assert got[0] == "ok"
    else:
        assert got == ("JsonError", "syntax", "line 1 column 2: number out of range", 1, 2)


_literal = st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,22})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(_literal, st.sampled_from(["[{}]", '{{"k": {}}}', '[1, "12345678901234567890 {}", {}]', "{}", "[{}.]", "[{}e]", "[{}-1]"]))
def test_generated_numbers_agree(literal: str, shape: str) -> None:
    """Numbers of up to 25 integer and 22 fraction digits (the component
    scans digits 16 at a time), inside containers, as the whole text (its
    digits run to the end), and followed by a character a number cannot
    take: the same value or error on every backend."""
    text = shape.format(literal, literal) if shape.count("{}") == 2 else shape.format(literal)
    agree(lambda p: lambda: p.parse_large_document(text).to_python())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[100000000000000000000.]", "line 1 column 24: invalid number: no digit after '.'"),
        ("[-100000000000000000000e]", "line 1 column 25: invalid number: no digit in the exponent"),
        ("[18446744073709551616E+]", "line 1 column 24: invalid number: no digit in the exponent"),
        ("[1e400.]", "line 1 column 2: number out of range"),
    ],
)
def test_a_bad_fraction_comes_before_the_size(text: str, message: str) -> None:
    """An integer too large to hold, whose fraction or exponent has no
    digit, is a malformed number where the component scans it, before its
    size is weighed (the generated test above found the fallback reporting
    the size); a whole number that is too large is reported first."""
    assert agree(lambda p: lambda: p.parse_large_document(text).to_python())[2] == message


_WHITESPACE = " \n\t\r"


@pytest.mark.parametrize("run", [0, 1, 2, 3, 15, 16, 17, 31, 33, 70])
@pytest.mark.parametrize(
    "shape", ['[{ws}1{ws},{ws}"a"{ws}]', '{ws}{{"k"{ws}:{ws}[{ws}]{ws}}}{ws}', "[{ws}1{ws}x]", "{ws}", '[1,{ws}"a"{ws}']
)
def test_whitespace_runs_agree(run: int, shape: str) -> None:
    """Whitespace runs of every length around the component's 16-byte
    steps, between tokens and at the end, in valid text and before an
    error: the same value, or error and position, on every backend."""
    ws = "".join(_WHITESPACE[i % 4] for i in range(run))
    text = shape.format(ws=ws)
    agree(lambda p: lambda: p.parse_large_document(text).to_python())


# --- Python values ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [{1, 2}, b"ab", float("nan"), {"a": float("inf")}, [10**30], {"a": {1, 2}}], ids=repr)
def test_a_python_value_that_is_not_json_is_refused_everywhere(value: Any) -> None:
    for op in ("validate", "canonicalize", "diff", "merge_patch", "apply_patch"):
        calls: dict[str, Callable[[JsonProcessor], Callable[[], Any]]] = {
            "validate": lambda p: lambda: p.validate_schema(value, {}),
            "canonicalize": lambda p: lambda: p.canonicalize(value),
            "diff": lambda p: lambda: p.diff(value, {}),
            "merge_patch": lambda p: lambda: p.merge_patch(value, {}),
            "apply_patch": lambda p: lambda: p.apply_patch(value, []),
        }
        got = agree(calls[op])
        assert got[0] != "ok", (op, got)


def test_python_keys_become_strings_everywhere() -> None:
    got = agree(lambda p: lambda: [e.instance_path for e in p.validate_schema({1: 2}, {"properties": {"1": {"type": "string"}}})])
    assert got == ("ok", ["/1"])


# --- depth -----------------------------------------------------------------------------


def nest(n: int) -> Any:
    v: Any = 0
    for _ in range(n):
        v = [v]
    return v


@pytest.mark.parametrize("op", ["validate", "canonicalize", "diff", "merge_patch", "apply_patch"])
def test_python_values_are_held_to_max_depth_everywhere(op: str) -> None:
    calls: dict[str, Callable[[JsonProcessor, Any], Any]] = {
        "validate": lambda p, v: p.validate_schema(v, {}),
        "canonicalize": lambda p, v: p.canonicalize(v),
        "diff": lambda p, v: p.diff(v, []),
        "merge_patch": lambda p, v: p.merge_patch(v, {}),
        "apply_patch": lambda p, v: p.apply_patch(v, []),
    }
    for proc in PROCS.values():
        calls[op](proc, nest(512))  # the limit itself holds (apply_patch once hit RecursionError)
        with pytest.raises(LimitError):
            calls[op](proc, nest(513))


def test_the_depth_error_is_worded_and_placed_the_same() -> None:
    got = agree(lambda p: lambda: p.parse_large_document(" " + "[" * 600 + "]" * 600))
    assert got == ("LimitError", "limit-exceeded", "line 1 column 514: nesting deeper than 512 levels", None, None)


def test_a_python_document_copy_is_the_callers() -> None:
    for proc in PROCS.values():
        doc = proc.parse_large_document('{"a": [1]}')
        doc.to_python()["a"].append(2)
        assert proc.apply_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}]) == {"a": [1, 3]}
        assert doc.get("/a") == [1]


# --- patterns and the time limit -------------------------------------------------------


def test_pattern_matching_is_linear_on_every_backend() -> None:
    """^(x+x+)+y$ backtracks exponentially in a backtracking engine (28
    characters took Python's re 6 s, doubling with each); 100,000 must not
    hang. In a child process, so that a regression fails instead of hanging."""
    script = (
        "from oms_accel import JsonProcessor\n"
        f"for b in {BACKENDS!r}:\n"
        "    v = JsonProcessor(b).validate_schema('\"' + 'x' * 100_000 + '\"', {'pattern': '^(x+x+)+y$'})\n"
        "    assert [e.schema_path for e in v] == ['/pattern'], (b, v)\n"
        "    assert not JsonProcessor(b).validate_schema('\"xxxy\"', {'pattern': '^(x+x+)+y$'})\n"
        "    props = {'patternProperties': {'^(x+x+)+y$': {'type': 'string'}}, 'additionalProperties': False}\n"
        "    assert JsonProcessor(b).validate_schema({'xxy': 1, 'b': 2}, props)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("schema", "valid", "invalid"),
    [
        ({"pattern": "^a(?=b)"}, '"ab"', '"ac"'),  # a lookahead: RE2 cannot, `re` does
        ({"pattern": "\\d{3}"}, '"a123"', '"a12"'),
        ({"patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False}, {"x-a": 1}, {"x-a": 1, "y": 2}),
        ({"patternProperties": {"^x-": {"type": "integer"}}}, {"x-a": 1, "y": "s"}, {"x-a": "s"}),
        ({"additionalProperties": {"type": "integer"}, "properties": {"a": {}}}, {"a": "s", "b": 1}, {"b": "s"}),
    ],
)
def test_pattern_keywords_agree(schema: Any, valid: Any, invalid: Any) -> None:
    assert agree(lambda p: lambda: p.validate_schema(valid, schema)) == ("ok", [])
    got = agree(lambda p: lambda: len(p.validate_schema(invalid, schema)) > 0)
    assert got == ("ok", True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_time_limit_holds_in_validation(backend: str) -> None:
    doc = json.dumps({"a": ["x" * 10] * 200_000})
    schema = {"properties": {"a": {"items": {"pattern": "^x+$", "minLength": 20}}}}
    proc = JsonProcessor(backend, limits=Limits(timeout_s=0.05))
    with pytest.raises(LimitError, match="time limit"):
        proc.validate_schema(doc, schema)


# --- messages --------------------------------------------------------------------------

_BASES = [
    json.dumps({"a": [1, -2.5e3, "x\\n\u00e9", True, None, {"b": []}], "c": 'q"u'}),
    json.dumps([0.5, 1e5, -0, "\\u00e9"]),
    '{"k": [1, 2, {"z": false}]}',
]
_CHARS = st.sampled_from([*'{}[]":,.-+eE0123456789tfnulx\\ \n\t', "\x01", "\u00e9", "\ufeff"])


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(_BASES), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 2), _CHARS), min_size=1, max_size=2))
def test_syntax_errors_are_worded_and_placed_the_same(base: str, edits: list[tuple[int, int, str]]) -> None:
    """A document with a character deleted, inserted or replaced gives the
    same value, or the same error, message and position, on every backend."""
    text = base
    for at, op, c in edits:
        k = at % (len(text) + 1)
        text = text[:k] + (c if op else "") + text[k + (op != 1) :]
    agree(lambda p: lambda: p.parse_large_document(text).to_python())


@pytest.mark.parametrize("text", ['"abc\\', '[1, "x\\', '{"k\\', '"\\u12', '"\\u00e9', '["a", "\\"\\ud83d\\ude00', '"\\u00e9 '])
def test_a_string_cut_inside_an_escape_is_worded_the_same(text: str) -> None:
    """Found by the test above: a backslash that ends the text was an
    "invalid escape" in the component, an "unterminated string" (at its
    opening quote) in the fallback; a whole \\u escape that ends it the
    other way round. Both now say "unterminated string"."""
    kind, *_ = agree(lambda p: lambda: p.parse_large_document(text))
    assert kind == "JsonError"


VIOLATIONS = [
    (5, {"type": "string"}),
    (5, {"type": ["string", "null"]}),
    ("abc", {"minLength": 5}),
    ("ééé", {"maxLength": 2}),
    (3, {"minimum": 5.5}),
    (9, {"maximum": 5}),
    (3, {"exclusiveMinimum": 3}),
    (9, {"exclusiveMaximum": 9}),
    (7, {"multipleOf": 2}),
    ({}, {"required": ["a", "b"]}),
    ({"a": 1, "z": 2, "y": 3}, {"properties": {"a": {}}, "additionalProperties": False}),
    ({"z": 2}, {"patternProperties": {"^a": {}}, "additionalProperties": False}),
    ([1, 1], {"uniqueItems": True}),
    ([], {"minItems": 1}),
    ([1, 2, 3], {"maxItems": 1}),
    (3, {"enum": [1, 2, {"a": None}]}),
    (3, {"const": {"a": [1]}}),
    ("x", {"pattern": "^a"}),
    (1, {"not": {}}),
    (1, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
    (1, {"oneOf": [{}, {}]}),
    (1, {"oneOf": [{"type": "string"}, {"type": "null"}]}),
    ({"a": 1}, {"minProperties": 2}),
    ({"a": 1, "b": 2}, {"maxProperties": 1}),
    ([1], {"contains": {"type": "string"}}),
    ({"aa": 1}, {"propertyNames": {"maxLength": 1}}),
    ({"a": 1}, {"dependentRequired": {"a": ["b"]}}),
    ([1, "x"], {"prefixItems": [{"type": "integer"}], "items": False}),
    (1, False),
    ({"a": 1}, {"unevaluatedProperties": False}),
    ({"a": 1}, {"if": {"required": ["a"]}, "then": {"required": ["b"]}}),
    ([1, 2, 3], {"items": [{}], "additionalItems": False, "$schema": "http://json-schema.org/draft-07/schema#"}),
    ({"a": 1}, {"required": ["b"], "$schema": "http://json-schema.org/draft-04/schema#"}),
    ("z", {"enum": ["a", "b", "c", "d", 5]}),
    # Through $ref: the schema path continues where the reference leads.
    (1, {"$ref": "#/$defs/a", "$defs": {"a": {"minimum": 5}}}),
    (
        {"x": [1, "a"]},
        {"properties": {"x": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"items": {"$ref": "#/$defs/n"}}, "n": {"type": "integer"}}},
    ),
    (
        [1, "a"],
        {
            "items": {"$ref": "#/definitions/n"},
            "definitions": {"n": {"type": "integer"}},
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    ),
]


@pytest.mark.parametrize(("instance", "schema"), VIOLATIONS, ids=[json.dumps(s) for _, s in VIOLATIONS])
def test_violations_are_worded_the_same(instance: Any, schema: Any) -> None:
    got = agree(lambda p: lambda: [(e.instance_path, e.schema_path, e.message) for e in p.validate_schema(json.dumps(instance), schema)])
    assert got[0] == "ok" and got[1], got


_scalar = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, -1.5]) | st.sampled_from(["", "a", "ab", "é"])
_instances = st.recursive(
    _scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3), max_leaves=8
)
_keyword = st.sampled_from(
    [
        ("type", st.sampled_from(["string", "integer", "array", "object", "null", ["string", "null"]])),
        ("minimum", st.integers(-2, 2)),
        ("maximum", st.integers(-2, 2)),
        ("minLength", st.integers(0, 3)),
        ("maxLength", st.integers(0, 3)),
        ("minItems", st.integers(0, 3)),
        ("maxItems", st.integers(0, 3)),
        ("minProperties", st.integers(0, 3)),
        ("maxProperties", st.integers(0, 3)),
        ("required", st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True)),
        ("enum", st.lists(_scalar, min_size=1, max_size=3)),
        ("const", _scalar),
        ("uniqueItems", st.just(True)),
        ("pattern", st.sampled_from(["^a", "b$", "^(a+a+)+b$"])),
        ("multipleOf", st.sampled_from([2, 3])),
    ]
)
_schemas = st.lists(_keyword, min_size=1, max_size=3).flatmap(lambda kws: st.fixed_dictionaries({k: v for k, v in kws}))


@settings(max_examples=400, deadline=None)
@given(_instances, _schemas)
def test_generated_violations_agree(instance: Any, schema: Any) -> None:
    agree(lambda p: lambda: sorted((e.instance_path, e.schema_path, e.message) for e in p.validate_schema(json.dumps(instance), schema)))


# --- diff ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(_instances, _instances)
def test_diff_gives_the_same_patch_everywhere(a: Any, b: Any) -> None:
    """One algorithm (the component's): the same operations in the same order."""
    got = agree(lambda p: lambda: p.diff(json.dumps(a), json.dumps(b)))
    assert got[0] == "ok"
    for proc in PROCS.values():
        assert proc.apply_patch(json.dumps(a), got[1]) == json.loads(json.dumps(b))


def test_diff_tells_1_from_1_0_and_true() -> None:
    got = agree(lambda p: lambda: p.diff("[1, true, 1.0]", "[1.0, 1, 1.0]"))
    assert got == ("ok", [{"op": "replace", "path": "/0", "value": 1.0}, {"op": "replace", "path": "/1", "value": 1}])
