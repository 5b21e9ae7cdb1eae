"""Agent-runtime records as observations: Claude Code's OTel log events and hook payloads, and guardrail's own
decision log (CONTRACTS.md §2, written by `guardrail hook`).

Claude Code events (OTLP logs, `event.name` or a `claude_code.<name>` body):
    tool_result     a tool call that ran (`tool_input` holds its arguments when OTEL_LOG_TOOL_DETAILS=1)
    tool_decision   accept by a person (source user_temporary / user_permanent / user) is an approval of that tool;
                    a reject means the call never ran
    api_request     a model call with `model`, `cost_usd`, `input_tokens`, `output_tokens`; api_error an errored one
A trace is the record's traceId, else the Claude Code session; a span is the spanId, else the tool_use_id.
Claude Code names no agent for its main thread: `--agent` names the roster agent those records belong to.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from guardrail.adapters.decision_log import RECORD_HINT
from guardrail.adapters.loading import schema_error
from guardrail.adapters.traces import Observation
from guardrail.adapters.traces_otlp import (
    AGENT_NAME,
    as_float,
    as_int,
    attributes,
    first,
    json_object,
    nanos,
    text,
)
from guardrail.core.decisions import DecisionRecord
from guardrail.errors import ConfigError

CLAUDE_AGENT = ("agent.name", "agent_type", "subagent_type", *AGENT_NAME)
USER_APPROVAL_SOURCES = frozenset({"user", "user_temporary", "user_permanent"})
PERMISSION_PROMPT = "runtime permission prompt (ask)"
_TIME_KEYS = ("timestamp", "time", "ts")


def iso_time(value: Any, where: str, path: str, line: int) -> datetime:
    """RFC 3339 / ISO 8601 (naive times are UTC), or Unix seconds."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError, OverflowError, OSError):
        raise ConfigError(f"not a time: {value!r}", path=path, line=line, field=where) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _event_name(record: dict[str, Any], attrs: dict[str, Any]) -> str:
    name = attrs.get("event.name")
    if not name:
        body = record.get("body") or {}
        name = body.get("stringValue") if isinstance(body, dict) else None
    return str(name or "").removeprefix("claude_code.")


def claude_log_events(record: dict[str, Any], path: str, line: int) -> Iterator[Observation]:
    """Claude Code's OTel log events from one OTLP/JSON logs export record (`{"resourceLogs": [...]}`)."""
    groups = record.get("resourceLogs")
    if not isinstance(groups, list):
        raise ConfigError("expected a list", path=path, line=line, field="resourceLogs")
    for r, group in enumerate(groups):
        resource = attributes(((group or {}).get("resource") or {}).get("attributes"))
        for s, scope in enumerate((group or {}).get("scopeLogs") or []):
            for i, item in enumerate((scope or {}).get("logRecords") or []):
                if not isinstance(item, dict):
                    continue
                found = _claude_event(item, resource, f"resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]", path, line)
                if found is not None:
                    yield found


def _claude_event(
    item: dict[str, Any], resource: dict[str, Any], where: str, path: str, line: int
) -> Observation | None:
    attrs = {**resource, **attributes(item.get("attributes"))}
    name = _event_name(item, attrs)
    if name not in ("tool_result", "tool_decision", "api_request", "api_error"):
        return None
    if attrs.get("event.timestamp"):
        time = iso_time(attrs["event.timestamp"], f"{where}.event.timestamp", path, line)
    elif item.get("timeUnixNano"):
        time = nanos(item["timeUnixNano"], f"{where}.timeUnixNano", path, line)
    else:
        raise ConfigError("a log event needs event.timestamp or timeUnixNano", path=path, line=line, field=where)
    at = f"{where}.attributes"
    session = text(attrs.get("session.id"), at, path, line)
    call_id = text(attrs.get("tool_use_id"), at, path, line)
    agent = first(attrs, CLAUDE_AGENT)
    common: dict[str, Any] = {
        "source": "claude-code",
        "time": time,
        "file": path,
        "line": line,
        "trace_id": text(item.get("traceId") or session, where, path, line, ".traceId"),
        "span_id": text(item.get("spanId") or call_id or attrs.get("prompt.id"), where, path, line, ".spanId"),
        "agent": str(agent) if agent is not None else None,
        "session_id": session,
        "call_id": call_id,
    }
    if name in ("api_request", "api_error"):
        return Observation(
            kind="model_call",
            model=text(attrs.get("model"), at, path, line),
            provider="anthropic",
            input_tokens=as_int(attrs.get("input_tokens")),
            output_tokens=as_int(attrs.get("output_tokens")),
            cost_usd=as_float(attrs.get("cost_usd")),
            error=name == "api_error",
            **common,
        )
    tool = attrs.get("tool_name")
    if not tool:
        raise ConfigError(f"a {name} event names no tool_name", path=path, line=line, field=where)
    decision = str(attrs.get("decision") or "accept")
    if name == "tool_decision":
        source = str(attrs.get("source") or "")
        if decision == "accept" and source in USER_APPROVAL_SOURCES:
            return Observation(kind=None, approvals=((str(tool), f"claude-code user ({source})"),), **common)
        if decision == "reject":
            return Observation(kind="tool_call", tool=str(tool), executed=False, **common)
        return None
    success = attrs.get("success")
    return Observation(
        kind="tool_call",
        tool=str(tool),
        args=json_object(attrs.get("tool_input")),
        executed=decision != "reject",
        error=success in (False, "false", "False"),
        **common,
    )


def hook_payload(record: dict[str, Any], path: str, line: int) -> Observation | None:
    """A Claude Code PreToolUse/PostToolUse payload as logged by a hook; other hook events carry no call."""
    event = record.get("hook_event_name")
    if event not in ("PreToolUse", "PostToolUse"):
        return None
    stamp = next((record[k] for k in _TIME_KEYS if record.get(k) is not None), None)
    if stamp is None:
        raise ConfigError(
            "a logged hook payload needs a time",
            path=path,
            line=line,
            field="timestamp",
            hint="add `timestamp` (RFC 3339) to each payload when logging it, or audit guardrail's decision log",
        )
    tool_input = record.get("tool_input")
    session = text(record.get("session_id"), "", path, line, "session_id")
    call_id = text(record.get("tool_use_id"), "", path, line, "tool_use_id")
    return Observation(
        kind="tool_call",
        source="claude-code-hook",
        time=iso_time(stamp, "timestamp", path, line),
        file=path,
        line=line,
        trace_id=session,
        span_id=call_id,
        agent=text(record.get("agent_type") or None, "", path, line, "agent_type"),
        tool=str(record.get("tool_name")),
        args=tool_input if isinstance(tool_input, dict) else json_object(tool_input),
        session_id=session,
        call_id=call_id,
        result=record.get("tool_response"),
    )


def decision_record(record: dict[str, Any], path: str, line: int) -> Observation:
    """One line of guardrail's decision log: allow ran, ask ran after a person was asked, deny never ran."""
    try:
        found = DecisionRecord.model_validate(record)
    except ValidationError as exc:
        raise schema_error(exc, path=path, line=line, hint=f"not a decision record: {RECORD_HINT}") from None
    runtime_tool = found.runtime_tool or found.tool
    if not runtime_tool:
        raise ConfigError("a decision record names no tool", path=path, line=line, field="runtime_tool")
    approved = found.tool or runtime_tool
    return Observation(
        kind="tool_call",
        source="decision-log",
        time=found.time,
        file=path,
        line=line,
        trace_id=found.trace_id or found.session_id,
        span_id=found.span_id or found.tool_use_id,
        agent=found.agent,
        model=found.model,
        tool=runtime_tool,
        catalog_tool=found.tool,
        args=found.args if isinstance(found.args, dict) else None,
        session_id=found.session_id,
        approvals=((approved, PERMISSION_PROMPT),) if found.decision == "ask" else (),
        executed=found.decision != "deny",
        call_id=found.tool_use_id,
    )


__all__ = ["CLAUDE_AGENT", "USER_APPROVAL_SOURCES", "claude_log_events", "decision_record", "hook_payload", "iso_time"]
