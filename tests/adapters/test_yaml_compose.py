"""Hostile YAML and JSON end in a ConfigError naming file, line and field, quickly and in bounded memory: nesting
100,000 deep (libyaml's composer segfaulted, Python's raised RecursionError), alias bombs, recursive aliases,
non-finite numbers, numbers Python will not convert."""

from __future__ import annotations

import tracemalloc

import pytest

from guardrail.adapters.loading import parse_json, parse_yaml
from guardrail.adapters.yaml_compose import MAX_DEPTH
from guardrail.errors import ConfigError


def _yaml_error(text: str, match: str) -> ConfigError:
    with pytest.raises(ConfigError, match=match) as info:
        parse_yaml(text, "f.yaml")
    assert str(info.value).startswith("f.yaml")
    return info.value


def _json_error(text: str, match: str) -> ConfigError:
    with pytest.raises(ConfigError, match=match) as info:
        parse_json(text, "f.jsonl", line=7)
    assert info.value.path == "f.jsonl" and info.value.line == 7
    return info.value


def _bomb(levels: int) -> str:
    """The classic "billion laughs": each level lists the one before nine times (9**levels strings)."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "], ids=["flow-seq", "flow-map", "block-seq"])
def test_nesting_100000_deep_is_refused_at_the_limit(opener: str) -> None:
    closer = {"[": "]", "{a: ": "}", "- ": ""}[opener]
    error = _yaml_error("a:\n  " + opener * 100_000 + "x" + closer * 100_000, f"deeper than {MAX_DEPTH} levels")
    assert error.line == 2
    parse_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "f.yaml")  # at the limit: fine


def test_a_nine_level_alias_bomb_fails_fast_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        error = _yaml_error(_bomb(9), "alias bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20 and error.line is not None and error.field
    parse_yaml(_bomb(4), "f.yaml")  # 6,561 strings: aliases that expand modestly are fine


def test_aliases_merge_keys_and_shared_values_still_work() -> None:
    doc = parse_yaml("base: &b {risk: low}\ntools:\n  a: {<<: *b, writes: true}\n  b: *b\n", "f.yaml")
    assert doc.data["tools"] == {"a": {"risk": "low", "writes": True}, "b": {"risk": "low"}}
    assert doc.line_of(("tools", "b", "risk")) == 4  # inside an alias: the alias's line


@pytest.mark.parametrize(
    ("text", "match", "line", "field"),
    [
        ("a: &a [1, *a]\n", "refers to a node that contains it", 1, "a[1]"),
        ("a: *nope\n", "no anchor &nope", 1, "a"),
        ("a: &x 1\nb: &x 2\n", "duplicate anchor &x", 2, "b"),
        ("a:\n  b: 1\n  b: 2\n", "duplicate key 'b'", 3, "a"),
        ("? [k]\n: v\n", "mapping key must be a plain value", 1, None),
        ("a: 1\n---\nb: 2\n", "one YAML document, found another", 2, None),
        ("agents:\n  - budget: .inf\n", "not a finite number: .inf", 2, "agents[0].budget"),
        ("x: [1.5, .NaN]\n", "not a finite number", 1, "x[1]"),
        ("x: 1.0e+999\n", "not a finite number", 1, "x"),
        ("x: !!float .inf\n", "not a finite number", 1, "x"),
    ],
)
def test_malformed_structure_names_line_and_field(text: str, match: str, line: int, field: str | None) -> None:
    error = _yaml_error(text, match)
    assert (error.line, error.field) == (line, field)


def test_values_python_will_not_build_are_input_errors() -> None:
    assert _yaml_error("a: " + "9" * 5000 + "\n", "invalid value").field == "a"
    assert _yaml_error("a:\n  b: 2026-13-45\n", "month must be in 1..12").line == 2
    for tagged in ("!!python/object/apply:os.system [echo]", "!!binary aGk=", "!!set {x}", "!custom 1"):
        assert _yaml_error(f"a: {tagged}\n", "unsupported YAML tag").field == "a"


def test_json_nested_100000_deep_raises_no_recursion_error() -> None:
    _json_error("[" * 100_000 + "]" * 100_000, f"deeper than {MAX_DEPTH} levels")
    _json_error('{"a": ' * 500 + "1" + "}" * 500, f"deeper than {MAX_DEPTH} levels")  # below Python's own limit
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, "f") == parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, "f")
    assert parse_json('{"a": "[[[[[[["}', "f") == {"a": "[[[[[[["}  # brackets in strings are not nesting


@pytest.mark.parametrize(
    ("text", "field"),
    [('{"a": [1, NaN]}', "a[1]"), ('{"a": {"b": 1e999}}', "a.b"), ("[-Infinity]", "[0]")],
)
def test_json_non_finite_numbers_name_their_field(text: str, field: str) -> None:
    assert _json_error(text, "not a finite number").field == field


def test_json_syntax_and_number_errors() -> None:
    _json_error('{"a": 1', "invalid JSON")
    _json_error("9" * 5000, "invalid JSON")
    with pytest.raises(ConfigError) as info:
        parse_json('{\n"a": }', "f.json")
    assert info.value.line == 2  # a whole JSON file: the decoder's own line
