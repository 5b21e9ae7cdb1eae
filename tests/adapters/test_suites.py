"""Suite and eval-spec loading: formats, template expansion, and errors that name file, line and field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.run_project import make_project

from guardrail.adapters.suites import (
    check_model_id,
    load_eval,
    load_suite,
    render_schema,
    schema_dir,
    suite_json_schemas,
)
from guardrail.errors import ConfigError

Write = Callable[[str, str], Path]

TOOLS = """tools:
  tickets.route:
    description: Route a ticket
    parameters: {type: object, properties: {queue: {type: string}}}
  crm.lookup_order: {description: Look up}
"""


def _error(call: Callable[[], object]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        call()
    return info.value


def test_yaml_list_mapping_and_jsonl_tasks_load_in_file_order(write: Write, tmp_path: Path) -> None:
    write("s/tools.yaml", TOOLS)
    write("s/a.yaml", "- id: a1\n  messages: [{role: user, content: hi}]\n  tools: [tickets.route]\n")
    write("s/b.yml", "tasks:\n  - id: b1\n    messages: [{role: user, content: hi}]\n")
    write("s/c.jsonl", '{"id": "c1", "messages": [{"role": "user", "content": "x"}]}\n\n')
    write("s/README.md", "not tasks")
    suite = load_suite(tmp_path / "s")
    assert suite.name == "s"
    assert [t.id for t in suite.tasks] == ["a1", "b1", "c1"]
    schemas = suite.openai_tools(["tickets.route"])
    assert schemas[0]["function"]["name"] == "tickets.route"
    assert schemas[0]["function"]["parameters"]["properties"]["queue"] == {"type": "string"}


def test_template_expands_into_counterfactual_variants(write: Write, tmp_path: Path) -> None:
    write("s/tools.yaml", TOOLS)
    write(
        "s/leads.yaml",
        """- id: lead-7
  messages:
    - {role: system, content: "Qualify leads."}
    - {role: user, content: "Lead: {{name}}, {{ pronoun }} runs a shop"}
  decision: {choices: [qualified, unqualified]}
  vary:
    attribute: gender
    values:
      female: {name: Maria, pronoun: she}
      male: {name: Mario, pronoun: he}
""",
    )
    tasks = load_suite(tmp_path / "s").tasks
    assert [t.id for t in tasks] == ["lead-7~gender=female", "lead-7~gender=male"]
    assert tasks[0].messages[1]["content"] == "Lead: Maria, she runs a shop"
    assert tasks[1].messages[1]["content"] == "Lead: Mario, he runs a shop"
    assert tasks[0].messages[0]["content"] == "Qualify leads."
    assert tasks[0].counterfactual is not None and tasks[0].counterfactual.group == "lead-7"
    assert (tasks[1].counterfactual.attribute, tasks[1].counterfactual.value) == ("gender", "male")  # type: ignore[union-attr]
    assert {t.template for t in tasks} == {"lead-7"} and all(t.vary is None for t in tasks)


@pytest.mark.parametrize(
    ("files", "where", "words"),
    [
        ({"a.yaml": "- id: a1\n  messages: [{role: user, content: hi}]\n  tools: [nope]\n"}, "a.yaml:3", "tools[0]"),
        ({"a.yaml": "- id: a1\n  messages: []\n"}, "a.yaml:2", "messages"),
        ({"a.yaml": "- id: a1\n  mesages: [{role: user, content: hi}]\n"}, "a.yaml:1", "messages: Field required"),
        ({"a.yaml": "- id: a1\n  messages: [{role: user, content: hi}\n"}, "a.yaml:", "invalid YAML"),
        (
            {
                "a.yaml": "- id: d\n  messages: [{role: user, content: x}]\n"
                "- id: d\n  messages: [{role: user, content: y}]\n"
            },
            "a.yaml:3",
            "duplicate task id",
        ),
        ({"a.jsonl": '{"id": "ok", "messages": [{"role": "user", "content": "x"}]}\n{"id": \n'}, "a.jsonl:2", "JSON"),
        ({"a.jsonl": '\n{"id": "x", "messages": [{"role": "user"}], "tools": ["zz"]}\n'}, "a.jsonl:2", "unknown tool"),
        (
            {"a.yaml": "- id: a1\n  messages: [{role: user, content: hi}]\n  tool_results: {tickets.route: {}}\n"},
            "a.yaml:3",
            "does not offer",
        ),
        (
            {
                "a.yaml": "- id: v\n  messages: [{role: user, content: '{{who}}'}]\n"
                "  vary: {attribute: age, values: {young: {name: A}, old: {name: B}}}\n"
            },
            "a.yaml:",
            "{{who}}",
        ),
        (
            {
                "a.yaml": "- id: v\n  messages: [{role: user, content: x}]\n"
                "  vary: {attribute: age, values: {'very old': {}, young: {}}}\n"
            },
            "a.yaml:3",
            "valid task id",
        ),
        ({"a.yaml": "{just: a mapping}\n"}, "a.yaml:1", "list of tasks"),
    ],
)
def test_suite_errors_name_file_line_and_field(
    write: Write, tmp_path: Path, files: dict[str, str], where: str, words: str
) -> None:
    write("s/tools.yaml", TOOLS)
    for name, text in files.items():
        write(f"s/{name}", text)
    error = _error(lambda: load_suite(tmp_path / "s"))
    assert where in str(error)
    assert words in str(error)


def test_unknown_task_agent_and_missing_tool_file(write: Write, tmp_path: Path) -> None:
    write("s/tools.yaml", TOOLS)
    write("s/a.yaml", "- id: a1\n  agent: ghost\n  messages: [{role: user, content: hi}]\n")
    error = _error(lambda: load_suite(tmp_path / "s", agents={"triage"}))
    assert "a.yaml:2" in str(error) and "ghost" in str(error)
    write("t/a.yaml", "- id: a1\n  messages: [{role: user, content: hi}]\n")
    assert "tools.yaml" in str(_error(lambda: load_suite(tmp_path / "t")))
    write("u/tools.yaml", TOOLS)
    assert "no tasks" in str(_error(lambda: load_suite(tmp_path / "u")))


def test_eval_spec_resolves_against_the_project_root(tmp_path: Path) -> None:
    spec_path = make_project(tmp_path, tasks=3)
    loaded = load_eval(spec_path)
    assert loaded.project.root == tmp_path.resolve()
    assert [s.name for s in loaded.suites] == ["triage"] and loaded.task_count == 3
    assert loaded.roster.roster.agent("triage") is not None
    assert [c.id for c in loaded.spec.candidates] == ["openai/good", "openai/reckless"]


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        ("candidates: [openai/good, 'not a model']\n", 5, "malformed model id"),
        ("candidates: [openai/good, sim/genius]\n", 5, "unknown simulated model 'sim/genius'"),
        ("agent: nobody\n", 3, "unknown agent 'nobody'"),
        ("suites: [suites/triage, suites/missing]\n", 4, "suites/missing"),
        ("baseline: openai/other\n", None, "baseline"),
        ("roster: nowhere.yaml\n", 2, "nowhere.yaml"),
        ("repeats: 0\n", 8, "repeats"),
        ("thresholds: {accuracy: {min: 0.9}}\n", 7, "thresholds.noninferiority_margin: required to compare"),
    ],
)
def test_eval_spec_errors(tmp_path: Path, edit: str, line: int | None, words: str) -> None:
    spec_path = make_project(tmp_path)
    key = edit.split(":")[0]
    lines = [x for x in spec_path.read_text().splitlines(keepends=True) if not x.startswith(f"{key}:")]
    if key == "repeats":
        lines.append(edit)
    else:
        index = {"roster": 1, "agent": 2, "suites": 3, "candidates": 4, "baseline": 5, "thresholds": 6}[key]
        lines.insert(index, edit)
    spec_path.write_text("".join(lines))
    error = _error(lambda: load_eval(spec_path))
    assert words in str(error)
    if line is not None:
        assert f"triage.yaml:{line}:" in str(error)


def test_model_id_sanity() -> None:
    assert check_model_id("openai/gpt-4o-mini") is None
    assert check_model_id("gpt-4o") is None
    assert check_model_id("sim/balanced") is None
    assert check_model_id("openai/") is not None
    assert check_model_id("a b") is not None


def test_shipped_schemas_match_the_records() -> None:
    """The published JSON Schemas are generated; regenerate with `python -m guardrail.adapters.suites`."""
    for name, schema in suite_json_schemas().items():
        shipped = schema_dir() / name
        assert shipped.is_file(), f"{name} missing: run python -m guardrail.adapters.suites"
        assert shipped.read_text(encoding="utf-8") == render_schema(schema), f"{name} is stale"
        assert json.loads(shipped.read_text())["$id"].endswith(name)


def test_task_schema_accepts_what_the_loader_accepts(write: Write, tmp_path: Path) -> None:
    import jsonschema

    schema = suite_json_schemas()["task.schema.json"]
    good = {"id": "x1", "messages": [{"role": "user", "content": "x"}], "expect": {"must_not_call": ["a"]}}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x1", "messages": [], "bogus": 1}, schema)
