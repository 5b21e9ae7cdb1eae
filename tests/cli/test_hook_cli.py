"""`guardrail hook claude-code` as Claude Code runs it: a fresh process, the payload on stdin, JSON on stdout.

Every test starts the real script entry (`python -m guardrail.cli.launch`) in a throwaway project holding the
repository's own policies, so the live decision is the one the replay makes. Anything the hook cannot decide
must come back as deny, exit 2 (the only exit code Claude Code treats as a block), with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import run_cli

from guardrail.adapters.decision_log import read_decisions
from guardrail.core.decisions import DecisionRecord

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

ROSTER = """version: 1
organization: Testco
tools:
  crm.lookup_order: {risk: low}
  payments.refund: {risk: high, writes: true}
  web.search: {risk: low, external: true}
data_classes: {customer_pii: {sensitivity: high}}
agents:
  - name: support-triage
    model: sim/balanced
    tools: [crm.lookup_order, payments.refund]
    approval_required_for: [payments.refund]
    owner: lead@testco.example
  - name: research
    model: sim/budget
    tools: [web.search]
    autonomy: autonomous
    owner: lead@testco.example
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "roster.yaml").write_text(ROSTER)
    (tmp_path / ".git").mkdir()  # a project root, so nothing above tmp_path is searched
    return tmp_path


def run_hook(project: Path, payload: Any, *args: str, timeout: float = 60) -> tuple[int, dict[str, Any], str]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_PROJECT_DIR"}
    proc = subprocess.run(
        [sys.executable, "-m", "guardrail.cli.launch", "hook", "claude-code", *args],
        input=raw,
        capture_output=True,
        cwd=project,
        env=env,
        timeout=timeout,
        check=False,
    )
    answer = json.loads(proc.stdout)["hookSpecificOutput"]
    assert answer["hookEventName"] == "PreToolUse"
    return proc.returncode, answer, proc.stderr.decode()


def call(tool: str, args: dict[str, Any], agent: str | None = None, **extra: Any) -> dict[str, Any]:
    payload = {
        "session_id": "sess-1",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": "/tmp",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": args,
        "tool_use_id": "toolu_01",
        **extra,
    }
    if agent is not None:
        payload["agent_type"] = agent
    return payload


def log_of(project: Path) -> list[DecisionRecord]:
    return list(read_decisions(project / ".guardrail" / "decisions.jsonl"))


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[int, dict[str, Any], str]]]:
    """One project, three real hook processes: an allow, an ask and a deny (shared by the tests that read them)."""
    root = tmp_path_factory.mktemp("decided")
    shutil.copytree(REPO / "policies", root / "policies")
    (root / "roster.yaml").write_text(ROSTER)
    (root / ".git").mkdir()
    refund = call("mcp__stripe__create_refund", {"order_id": "1234", "email": "ann@example.com"}, "support-triage")
    answers = [
        run_hook(root, call("WebSearch", {"query": "pricing"}, "research", tool_use_id="t1")),
        run_hook(root, {**refund, "tool_use_id": "t2"}),
        run_hook(root, call("Bash", {"command": "rm -rf /"}, "research", tool_use_id="t3")),
    ]
    return root, answers


def test_allow_ask_and_deny_come_from_the_action_policy(decided: tuple[Path, list[Any]]) -> None:
    project, ((code, answer, _), (ask_code, ask_answer, _), (deny_code, deny_answer, err)) = decided
    assert (code, answer["permissionDecision"]) == (0, "allow")
    # a checkpointed tool, called under its MCP name: the catalog's alias maps it, ACT-002 asks a person
    assert (ask_code, ask_answer["permissionDecision"]) == (0, "ask")
    assert "ACT-002" in ask_answer["permissionDecisionReason"]
    # not granted, and autonomous with a high-risk write: no approval would make it right
    assert (deny_code, deny_answer["permissionDecision"]) == (2, "deny")
    assert "ACT-001" in deny_answer["permissionDecisionReason"] and "ACT-004" in err

    allow, ask, deny = log_of(project)
    assert (allow.decision, allow.agent, allow.tool, allow.runtime_tool) == (
        "allow",
        "research",
        "web.search",
        "WebSearch",
    )
    assert (ask.decision, ask.tool, ask.runtime_tool) == ("ask", "payments.refund", "mcp__stripe__create_refund")
    assert ask.args == {"order_id": "1234", "email": "[REDACTED:email]"}  # the policy saw the address; the log does not
    assert {r.rule for r in deny.reasons} == {"ACT-001", "ACT-002", "ACT-004"}
    assert allow.policy_hash == ask.policy_hash and (allow.policy_hash or "").startswith("sha256:")
    assert ask.session_id == "sess-1" and ask.tool_use_id == "t2" and ask.runtime_agent == "support-triage"


def test_the_decision_log_replays_through_guardrail_audit(decided: tuple[Path, list[Any]], tmp_path: Path) -> None:
    """The audit recomputes each logged call with the same policies: it agrees with the hook, and a roster edited
    since (the refund no longer granted) turns the call that ran into a finding."""
    project, _ = decided
    shutil.copytree(project, tmp_path / "p")
    project = tmp_path / "p"
    audit = ["audit", ".guardrail/decisions.jsonl", "--roster", "roster.yaml", "--no-track", "-f", "json"]
    result = run_cli(*audit, cwd=project)
    assert result.code == 0, result.err
    agents = {a["agent"]: a for a in json.loads(result.out)["scorecard"]["agents"]}
    assert (agents["research"]["blocked_calls"], agents["research"]["violating_calls"]) == (1, 0)  # the deny never ran
    assert agents["research"]["tools_used"] == {"web.search": 1}
    assert agents["support-triage"]["tools_used"] == {"payments.refund": 1}  # asked, approved by the prompt, ran
    assert agents["support-triage"]["violating_calls"] == 0

    (project / "roster.yaml").write_text(
        ROSTER.replace("tools: [crm.lookup_order, payments.refund]", "tools: [crm.lookup_order]")
    )
    result = run_cli(*audit, cwd=project)
    assert result.code == 1
    found = {(f["rule"], f["agent"]) for f in json.loads(result.out)["findings"]}
    assert ("ACT-001", "support-triage") in found


def test_the_main_agent_is_judged_as_the_agent_named_on_the_command_line(project: Path) -> None:
    code, answer, _ = run_hook(project, call("Read", {"file_path": "/x"}), "--agent", "research")
    assert (code, answer["permissionDecision"]) == (2, "deny")  # files.read is catalogued but not granted
    assert "research called files.read, which is not granted" in answer["permissionDecisionReason"]


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        (
            call("mcp__unknown__do_things", {}, "research"),
            "hook.tool: mcp__unknown__do_things is not in the governance",
        ),
        (b"not json at all", "hook.payload: stdin: the hook payload is not JSON"),
    ],
    ids=["uncatalogued-tool", "garbage"],
)
def test_what_the_hook_cannot_judge_is_denied_with_the_reason(project: Path, payload: Any, rule: str) -> None:
    code, answer, err = run_hook(project, payload)
    assert (code, answer["permissionDecision"]) == (2, "deny")
    assert rule in answer["permissionDecisionReason"] and rule in err
    (record,) = log_of(project)
    assert record.decision == "deny" and record.source == "claude-code"


def test_an_engine_failure_is_a_deny(project: Path) -> None:
    (project / "policies" / "action" / "broken.rego").write_text(
        'package action\n\nimport rego.v1\n\ndeny contains {"rule": "X", "msg": "m"} if to_number("not a number") > 0\n'
    )
    code, answer, _ = run_hook(project, call("WebSearch", {"query": "x"}, "research"))
    assert (code, answer["permissionDecision"]) == (2, "deny")
    assert answer["permissionDecisionReason"].startswith("guardrail: refused: hook.engine: ")
    (record,) = log_of(project)
    assert record.tool == "web.search" and record.policy_hash


def test_a_runaway_policy_is_cut_off_at_the_deadline_and_denied(project: Path) -> None:
    (project / "policies" / "action" / "slow.rego").write_text(  # 2.7e10 steps, no memory: only a deadline stops it
        "package action\n\nimport rego.v1\n\n"
        'deny contains {"rule": "SLOW", "msg": "m"} if {\n'
        "\tsome a in numbers.range(1, 3000)\n\tsome b in numbers.range(1, 3000)\n\tsome c in numbers.range(1, 3000)\n"
        "\ta * b * c == -1\n}\n"
    )
    started = time.monotonic()
    code, answer, _ = run_hook(project, call("WebSearch", {"query": "x"}, "research"), "--timeout", "1")
    assert (code, answer["permissionDecision"]) == (2, "deny")
    assert "hook.timeout: deciding the tool call took longer than 1s" in answer["permissionDecisionReason"]
    assert time.monotonic() - started < 30  # answered, not hung (a cold start under load can take seconds)


def test_usage_errors_exit_2_which_claude_code_treats_as_a_block(project: Path) -> None:
    result = run_cli("hook", "claude-code", "--no-such-option", cwd=project)
    assert result.code == 2 and "unrecognized arguments: --no-such-option" in result.err
    result = run_cli("hook", "claude-code", "--timeout", "0", cwd=project)  # no deadline would fail open
    assert result.code == 2 and "'0' is not a positive number of seconds" in result.err
    assert run_cli("hook", "claude-code", "--help").code == 0
    assert "hook" in run_cli("--help").out
