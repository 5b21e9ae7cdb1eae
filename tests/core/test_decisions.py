"""The decision log record (contract with `guardrail audit`): its JSON shape, its time spelling, its OTel view."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from guardrail.core.decision_line import decision_line
from guardrail.core.decisions import DECISION_SCHEMA, DecisionReason, DecisionRecord

LINE = {
    "schema": "guardrail.decision/v1",
    "time": "2026-11-30T03:35:10.123456Z",
    "source": "claude-code",
    "agent": "support-triage",
    "runtime_agent": "support-triage",
    "tool": "payments.refund",
    "runtime_tool": "mcp__stripe__create_refund",
    "args": {"order_id": "1234", "email": "[REDACTED:email]"},
    "decision": "ask",
    "reasons": [{"rule": "ACT-002", "msg": "needs a human approval", "severity": "high"}],
    "session_id": "s1",
    "tool_use_id": "toolu_1",
    "trace_id": None,
    "span_id": None,
    "model": None,
    "policy_hash": "sha256:abc",
    "roster_hash": "sha256:def",
    "guardrail_version": "0.1.0",
}


def test_a_contract_line_round_trips_byte_for_byte() -> None:
    record = DecisionRecord.model_validate_json(json.dumps(LINE))
    assert record.schema_ == DECISION_SCHEMA
    assert record.time == datetime(2026, 11, 30, 3, 35, 10, 123456, tzinfo=UTC)
    assert record.reasons == [DecisionReason(rule="ACT-002", msg="needs a human approval", severity="high")]
    assert json.loads(record.to_line()) == LINE
    assert list(json.loads(record.to_line())) == list(LINE)  # field order as the contract shows it


def test_times_are_written_in_utc_with_a_z() -> None:
    local = datetime(2026, 11, 30, 5, 35, 10, tzinfo=timezone(timedelta(hours=2)))
    record = DecisionRecord.model_validate({**LINE, "time": local})
    assert json.loads(record.to_line())["time"] == "2026-11-30T03:35:10.000000Z"


@pytest.mark.parametrize(
    "change",
    [
        {"time": "2026-11-30T03:35:10"},  # no zone: ambiguous
        {"decision": "maybe"},
        {"schema": "guardrail.decision/v2"},
        {"surprise": 1},  # typos are errors
        {"reasons": [{"rule": "X", "msg": "m", "severity": "deny"}]},
    ],
    ids=["naive-time", "decision", "schema", "extra-field", "severity"],
)
def test_records_outside_the_contract_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DecisionRecord.model_validate({**LINE, **change})


def test_otel_view_names_the_apply_guardrail_span_attributes() -> None:
    record = DecisionRecord.model_validate(LINE)
    assert record.otel_attributes() == {
        "gen_ai.operation.name": "apply_guardrail",
        "gen_ai.security.target.type": "tool_call",
        "gen_ai.security.decision.type": "ask",
        "gen_ai.agent.name": "support-triage",
        "gen_ai.tool.name": "payments.refund",
        "gen_ai.security.policy.version": "sha256:abc",
        "gen_ai.conversation.id": "s1",
        "gen_ai.tool.call.id": "toolu_1",
    }
    unknown = DecisionRecord.model_validate({**LINE, "agent": None, "tool": None})
    assert unknown.otel_attributes()["gen_ai.tool.name"] == "mcp__stripe__create_refund"


def test_the_hook_line_builder_writes_exactly_the_record() -> None:
    """The hook writes lines without pydantic; they must be the contract's fields, in its order, and valid."""
    line = decision_line(
        time=datetime(2026, 11, 30, 3, 35, 10, 123456, tzinfo=UTC),
        source="claude-code",
        decision="deny",
        guardrail_version="0.1.0",
        reasons=[{"rule": "hook.payload", "msg": "no tool_name", "severity": "high"}],
    )
    fields = [field.alias or name for name, field in DecisionRecord.model_fields.items()]
    assert list(line) == fields
    assert json.loads(DecisionRecord.model_validate(line).to_line()) == line
