"""`guardrail suite from-traces`: recorded tasks become a replay suite whose tool results match by tool and
arguments; personal data is redacted; a replay meets the recorded world."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from tests.support.cli import run_cli
from tests.support.traces import agent_span, chat_span, otlp, tool_span, write_jsonl

from guardrail.adapters.suites import load_suite
from guardrail.app.audit_suite import recorded_messages

REPO = Path(__file__).resolve().parents[2]


def recorded_trace(trace: str, order: str, email: str) -> dict:  # type: ignore[type-arg]
    chat = chat_span("c1", 0, "frontier", provider="sim", trace=trace)
    messages = [{"role": "user", "parts": [{"type": "text", "content": f"Refund order {order}, mail {email}"}]}]
    chat["attributes"].append({"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(messages)}})
    lookup = tool_span("s1", 1, "crm.lookup_order", {"order_id": order}, trace=trace)
    lookup["attributes"].append(
        {"key": "gen_ai.tool.call.result", "value": {"stringValue": json.dumps({"status": "charged", "amount": 40})}}
    )
    route = tool_span("s2", 2, "tickets.route", {"queue": "billing"}, trace=trace)
    return otlp(chat, lookup, route, agent_span("support-triage", trace=trace))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copy(REPO / "examples" / "roster.yaml", tmp_path / "roster.yaml")
    write_jsonl(
        tmp_path / "traces.jsonl",
        recorded_trace("t1", "LK-100", "ann@example.com"),
        recorded_trace("t2", "LK-200", "bo@example.com"),
        otlp(
            tool_span("s9", 5, "tickets.route", {"queue": "returns"}, trace="t3"),
            agent_span("support-triage", trace="t3"),
        ),
    )
    return tmp_path


def test_recorded_tasks_become_a_suite(project: Path) -> None:
    result = run_cli(
        "suite",
        "from-traces",
        "traces.jsonl",
        "--agent",
        "support-triage",
        "--out",
        "suites/recorded",
        "--roster",
        "roster.yaml",
        cwd=project,
    )
    assert result.code == 0, result.err
    assert "wrote 2 task(s) with 2 recorded result(s)" in result.out and "1 skipped" in result.out
    suite = load_suite(project / "suites" / "recorded")
    first = suite.tasks[0]
    assert first.agent == "support-triage"
    assert first.messages == [{"role": "user", "content": "Refund order LK-100, mail [REDACTED:email]"}]
    assert "ann@example.com" not in (project / "suites" / "recorded" / "recorded.yaml").read_text()
    assert [c.name for c in first.expect.tool_calls] == ["crm.lookup_order", "tickets.route"]
    assert set(first.tools) == {"crm.lookup_order", "tickets.route", "payments.refund"}
    assert first.result_for("crm.lookup_order", {"order_id": "LK-100"}) == '{"status": "charged", "amount": 40}'
    assert "no recorded result" in json.dumps(first.result_for("crm.lookup_order", {"order_id": "LK-999"}))
    tools = yaml.safe_load((project / "suites" / "recorded" / "tools.yaml").read_text())
    assert tools["tools"]["crm.lookup_order"]["parameters"]["properties"] == {"order_id": {}}


def test_nothing_replayable_and_bad_arguments_exit_2(project: Path) -> None:
    args = ["suite", "from-traces", "traces.jsonl", "--roster", "roster.yaml"]
    assert run_cli(*args, "--agent", "refunds", "--out", "s1", cwd=project).code == 2  # no trace of refunds
    assert run_cli(*args, "--agent", "nobody", "--out", "s2", cwd=project).code == 2
    (project / "taken").mkdir()
    (project / "taken" / "x.yaml").write_text("[]")
    assert run_cli(*args, "--agent", "support-triage", "--out", "taken", cwd=project).code == 2


def test_recorded_messages_in_every_shape() -> None:
    assert recorded_messages('[{"role": "system", "content": "be brief"}]') == [
        {"role": "system", "content": "be brief"}
    ]
    assert recorded_messages({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}) == [
        {"role": "user", "content": "hi"}
    ]
    assert recorded_messages("plain prompt") == [{"role": "user", "content": "plain prompt"}]
    assert recorded_messages(7) is None and recorded_messages("[]") is None
