"""The live hook's use case in this process (tests/cli/test_hook_cli.py runs it as Claude Code does): every way a
decision can fail to happen is a deny that names what to fix, and every answer is logged."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guardrail.adapters.claude_code import SOURCE
from guardrail.adapters.decision_log import read_decisions
from guardrail.app.hook import HookSettings, claude_code_hook

REPO = Path(__file__).resolve().parents[2]
ROSTER = """version: 1
organization: Testco
tools:
  web.search: {risk: low, external: true}
agents:
  - {name: research, model: sim/budget, tools: [web.search], autonomy: autonomous, owner: r@testco.example}
"""
SEARCH = {
    "hook_event_name": "PreToolUse",
    "tool_name": "WebSearch",
    "tool_input": {"query": "x"},
    "agent_type": "research",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "roster.yaml").write_text(ROSTER)
    (tmp_path / ".git").mkdir()  # the project root: nothing above it is searched
    return tmp_path


def decide(project: Path, payload: Any = SEARCH, **settings: Any) -> tuple[str, int]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    # timeout 0: no SIGALRM in the test process (pytest-timeout owns it); the CLI tests cover the deadline
    options = HookSettings(source=SOURCE, project_dir=project, timeout_s=0, **settings)
    out, err, code = claude_code_hook(lambda: raw, options)
    answer = json.loads(out)["hookSpecificOutput"]
    assert (code == 2) == (answer["permissionDecision"] == "deny") and (code == 2) == bool(err)
    return answer["permissionDecision"] + ": " + answer["permissionDecisionReason"], code


def test_allowed_and_logged(project: Path) -> None:
    assert decide(project) == ("allow: guardrail: research may call web.search", 0)
    (record,) = read_decisions(project / ".guardrail" / "decisions.jsonl")
    assert (record.decision, record.source, record.tool) == ("allow", "claude-code", "web.search")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({**SEARCH, "agent_type": "ghost"}, "hook.agent: 'ghost' is not an agent of the roster"),
        ({k: v for k, v in SEARCH.items() if k != "agent_type"}, "hook.agent: the main agent has no roster agent"),
        (b"\xff\xfe", "hook.payload: stdin: the hook payload is not UTF-8"),
        (b"[1, 2]", "hook.payload: stdin: the hook payload is not a JSON object"),
        ({**SEARCH, "tool_input": "x"}, "hook.payload: stdin: tool_input: tool_input is missing or not an object"),
        ({**SEARCH, "tool_name": ""}, "hook.payload: stdin: tool_name: no tool_name"),
        ({**SEARCH, "session_id": 7}, "hook.payload: stdin: session_id: session_id is not a string"),
        ({**SEARCH, "hook_event_name": "PostToolUse"}, "hook.payload: stdin: expected a PreToolUse event"),
    ],
    ids=["unknown-subagent", "no-main-agent", "not-utf8", "not-an-object", "tool-input", "tool-name", "types", "event"],
)
def test_a_call_the_hook_cannot_judge_is_denied(project: Path, payload: Any, expected: str) -> None:
    text, code = decide(project, payload)
    assert code == 2 and text.startswith(f"deny: guardrail: refused: {expected}"), text
    (record,) = read_decisions(project / ".guardrail" / "decisions.jsonl")
    assert record.decision == "deny" and record.reasons[0].rule == expected.split(":")[0]


def _write(relative: str, text: str) -> Callable[[Path], None]:
    return lambda p: (p / relative).write_text(text)


@pytest.mark.parametrize(
    ("damage", "rule", "detail"),
    [
        (lambda p: (p / "roster.yaml").unlink(), "hook.config", "no roster here"),
        (
            _write("roster.yaml", "version: 1\norganization: X\nagents: [{name: a}]\n"),
            "hook.config",
            "roster.yaml:3: agents[0].model",
        ),
        (
            _write("policies/action/action.rego", "package action\n\nx := \n"),
            "hook.policy",
            "action/action.rego:4:1: expecting expression",
        ),
        (lambda p: shutil.rmtree(p / "policies"), "hook.policy", "policy directory not found"),
        (
            _write("policies/data/catalog.yaml", "tools: {a: {aliases: [WebSearch]}, b: {aliases: [WebSearch]}}\n"),
            "hook.config",
            "catalog.yaml:1: tools.b.aliases[0]: 'WebSearch' is already an alias of a",
        ),
    ],
    ids=["no-roster", "invalid-roster", "compile-error", "no-policies", "clashing-aliases"],
)
def test_broken_inputs_are_denied_with_the_file_to_fix(project: Path, damage: Any, rule: str, detail: str) -> None:
    damage(project)
    text, code = decide(project)
    assert code == 2 and text.startswith(f"deny: guardrail: refused: {rule}: ") and detail in text, text


def test_a_decision_that_cannot_be_logged_is_denied(project: Path) -> None:
    (project / "blocker").write_text("")
    text, code = decide(project, log=project / "blocker" / "d.jsonl")
    assert code == 2 and text.startswith("deny: guardrail: refused: hook.log: "), text


def test_an_edited_roster_is_seen_by_the_next_call(project: Path) -> None:
    assert decide(project)[1] == 0
    (project / "roster.yaml").write_text(ROSTER.replace("tools: [web.search]", "tools: []"))
    assert decide(project)[1] == 2
    first, second = read_decisions(project / ".guardrail" / "decisions.jsonl")
    assert first.roster_hash != second.roster_hash and first.policy_hash == second.policy_hash


def test_long_arguments_are_cut_and_personal_data_redacted_in_the_log(project: Path) -> None:
    decide(project, {**SEARCH, "tool_input": {"query": "x" * 9000, "to": "ann@example.com"}})
    (record,) = read_decisions(project / ".guardrail" / "decisions.jsonl")
    assert record.args["to"] == "[REDACTED:email]"
    assert record.args["query"].endswith("[... 5000 more characters]") and len(record.args["query"]) < 4100


def test_a_claude_code_project_is_its_own_roster(project: Path) -> None:
    (project / "roster.yaml").write_text("version: 1\norganization: Testco\n")  # the overlay: no agents of its own
    agents = project / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "research.md").write_text(
        "---\nname: research\ndescription: d\ntools: WebSearch, WebFetch\nmodel: haiku\n---\n"
    )
    assert decide(project)[1] == 0
    text, code = decide(project, {**SEARCH, "tool_name": "Bash", "tool_input": {"command": "ls"}})
    assert code == 2 and "research called shell.run, which is not granted to it" in text
    first, _ = read_decisions(project / ".guardrail" / "decisions.jsonl")
    assert first.agent == "research" and first.tool == "web.search"
