"""A decision log line built without pydantic, for the live hook's start-up budget.

`guardrail.core.decisions.DecisionRecord` is the contract; this builds the same JSON object field for field, in the
same order, from plain values. tests/core/test_decisions.py holds the two together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

DECISION_SCHEMA = "guardrail.decision/v1"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a `Z`, the one spelling the log uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decision_line(
    *,
    time: datetime,
    source: str,
    decision: str,
    guardrail_version: str,
    agent: str | None = None,
    runtime_agent: str | None = None,
    tool: str | None = None,
    runtime_tool: str | None = None,
    args: Any = None,
    reasons: list[dict[str, Any]] | None = None,
    session_id: str | None = None,
    tool_use_id: str | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    model: str | None = None,
    policy_hash: str | None = None,
    roster_hash: str | None = None,
) -> dict[str, Any]:
    return {
        "schema": DECISION_SCHEMA,
        "time": format_time(time),
        "source": source,
        "agent": agent,
        "runtime_agent": runtime_agent,
        "tool": tool,
        "runtime_tool": runtime_tool,
        "args": args,
        "decision": decision,
        "reasons": list(reasons or []),
        "session_id": session_id,
        "tool_use_id": tool_use_id,
        "trace_id": trace_id,
        "span_id": span_id,
        "model": model,
        "policy_hash": policy_hash,
        "roster_hash": roster_hash,
        "guardrail_version": guardrail_version,
    }


__all__ = ["DECISION_SCHEMA", "decision_line", "format_time"]
