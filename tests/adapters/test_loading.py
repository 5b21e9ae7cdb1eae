from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.policies import ROSTER

from guardrail.adapters.loading import iter_jsonl, parse_yaml, validate
from guardrail.adapters.roster_file import load_roster, parse_roster
from guardrail.core.roster import Roster
from guardrail.errors import ConfigError, ExitCode


def test_yaml_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "r.yaml")
    assert info.value.path == "r.yaml"
    assert info.value.line in (2, 3)
    assert info.value.exit_code == ExitCode.BAD_INPUT


def test_duplicate_keys_are_errors_with_their_line() -> None:
    with pytest.raises(ConfigError, match="duplicate key 'a'") as info:
        parse_yaml("a: 1\nb: 2\na: 3\n", "r.yaml")
    assert info.value.line == 3


def test_schema_error_points_at_the_field_line() -> None:
    text = ROSTER.replace("    budget_usd_per_day: 5", "    budget_usd_per_day: -5")
    with pytest.raises(ConfigError) as info:
        parse_roster(text, "roster.yaml")
    assert info.value.field == "agents[0].budget_usd_per_day"
    assert info.value.line == 10
    assert str(info.value).startswith("roster.yaml:10: agents[0].budget_usd_per_day:")


def test_unknown_tool_and_duplicate_agent_are_input_errors() -> None:
    with pytest.raises(ConfigError, match="unknown tool 'crm.nope'") as info:
        parse_roster(ROSTER.replace("tools: [tickets.route]", "tools: [crm.nope]"), "r.yaml")
    assert info.value.field == "agents[1].tools[0]" and info.value.line == 13
    with pytest.raises(ConfigError, match="duplicate agent name 'alpha'"):
        parse_roster(ROSTER.replace("name: beta", "name: alpha"), "r.yaml")


def test_unknown_data_class_and_typo_keys_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown data class"):
        parse_roster(ROSTER.replace("    tools: [tickets.route]", "    data_scopes: [pii]"), "r.yaml")
    with pytest.raises(ConfigError, match="Extra inputs") as info:
        parse_roster(ROSTER.replace("    owner: a@", "    ownr: a@"), "r.yaml")
    assert info.value.field == "agents[0].ownr"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_roster(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="no roster here"):  # a folder is a roster only with subagents or roster.yaml
        load_roster(tmp_path)


def test_jsonl_records_know_their_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n\n{"a": "x"}\n{oops}\n')
    docs = []
    with pytest.raises(ConfigError) as info:
        for doc in iter_jsonl(path):
            docs.append(doc)
    assert [d.base_line for d in docs] == [1, 3]
    assert info.value.line == 4


def test_valid_roster_roundtrip() -> None:
    loaded = parse_roster(ROSTER, "roster.yaml")
    assert [a.name for a in loaded.roster.agents] == ["alpha", "beta"]
    assert loaded.agent_location("beta").line == 11
    assert validate(Roster, loaded.doc).organization == "Testco"


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
roster_keys = st.sampled_from(["version", "organization", "tools", "data_classes", "agents", "name", "model", "x"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(yaml_values, st.dictionaries(roster_keys, yaml_values, max_size=6)))
def test_roster_loader_only_raises_input_errors_on_random_documents(value: object) -> None:
    text = yaml.safe_dump(value, allow_unicode=True)
    try:
        parse_roster(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.exit_code == ExitCode.BAD_INPUT
        assert "fuzz.yaml" in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_roster_loader_only_raises_input_errors_on_random_text(text: str) -> None:
    try:
        parse_roster(text, "fuzz.yaml")
    except ConfigError as exc:
        assert "fuzz.yaml" in str(exc)


def test_a_schema_error_lists_every_error_with_its_line_and_field() -> None:
    text = ROSTER.replace("    budget_usd_per_day: 5", "    budget_usd_per_day: -5").replace("name: beta", "nme: beta")
    text += "  - name: gamma\n    modle: openai/x\n"
    with pytest.raises(ConfigError) as info:
        parse_roster(text, "roster.yaml")
    error = info.value
    assert str(error).startswith("roster.yaml:10: agents[0].budget_usd_per_day:")
    listed = [(e.line, e.field) for e in error.also]
    assert listed == [(11, "agents[1].name"), (11, "agents[1].nme"), (14, "agents[2].model"), (15, "agents[2].modle")]
    for line, field in listed:
        assert f"roster.yaml:{line}: {field}:" in str(error)
    assert "more error" not in str(error)


def test_a_roster_with_an_infinite_number_is_an_input_error_with_field_and_line() -> None:
    with pytest.raises(ConfigError, match="not a finite number") as info:
        parse_roster(ROSTER.replace("budget_usd_per_day: 5", "budget_usd_per_day: .inf"), "roster.yaml")
    assert (info.value.line, info.value.field) == (10, "agents[0].budget_usd_per_day")


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-06", 1e-06), ("2.5E+3", 2500.0), ("-3e2", -300.0), ("1.0e-06", 1e-06), ("0.5", 0.5), ("7", 7)],
)
def test_numbers_read_as_yaml_1_2_does(text: str, value: float) -> None:
    """`1e-06` is a number in YAML 1.2 and JSON (PyYAML's 1.1 rules read it as a string, so a price such as
    `input_cost_per_token: 1e-06` would reach the spec as text)."""
    data = parse_yaml(f"price: {text}\n", "p.yaml").data
    assert data["price"] == value and not isinstance(data["price"], str)


def test_exponent_without_digits_stays_text() -> None:
    assert parse_yaml("v: 1e\nw: e5\n", "p.yaml").data == {"v": "1e", "w": "e5"}
