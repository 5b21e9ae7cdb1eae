"""Build trace records the way runtimes write them (OTLP/JSON spans and logs), for tests."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            wrapped: dict[str, Any] = {"boolValue": value}
        elif isinstance(value, int):
            wrapped = {"intValue": str(value)}
        elif isinstance(value, float):
            wrapped = {"doubleValue": value}
        else:
            wrapped = {"stringValue": str(value)}
        out.append({"key": key, "value": wrapped})
    return out


def nanos(seconds: float) -> str:
    return str(int((T0 + timedelta(seconds=seconds)).timestamp() * 1e9))


def span(
    span_id: str, at: float, values: dict[str, Any], *, trace: str = "t1", parent: str | None = "root", **extra: Any
) -> dict[str, Any]:
    out = {"traceId": trace, "spanId": span_id, "name": extra.pop("name", "span"), "startTimeUnixNano": nanos(at)}
    if parent:
        out["parentSpanId"] = parent
    return {**out, "attributes": attrs(values), **extra}


def agent_span(name: str, *, trace: str = "t1", span_id: str = "root", at: float = 0.0) -> dict[str, Any]:
    return span(
        span_id, at, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}, trace=trace, parent=None
    )


def tool_span(span_id: str, at: float, tool: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
    if args is not None:
        values["gen_ai.tool.call.arguments"] = json.dumps(args)
    return span(span_id, at, values, **kw)


def chat_span(span_id: str, at: float, model: str, tokens: tuple[int, int] = (1000, 100), **kw: Any) -> dict[str, Any]:
    provider = kw.pop("provider", "openai")
    values = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": tokens[0],
        "gen_ai.usage.output_tokens": tokens[1],
    }
    return span(span_id, at, values, **kw)


def approval_span(span_id: str, at: float, tool: str, approver: str = "lead@example.com", **kw: Any) -> dict[str, Any]:
    return span(span_id, at, {"guardrail.approval.tool": tool, "guardrail.approval.approver": approver}, **kw)


def otlp(*spans: dict[str, Any], resource: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs(resource or {})},
                "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}],
            }
        ]
    }


def claude_event(name: str, at: float, values: dict[str, Any]) -> dict[str, Any]:
    when = (T0 + timedelta(seconds=at)).isoformat().replace("+00:00", "Z")
    return {"body": {"stringValue": f"claude_code.{name}"}, "attributes": attrs({"event.timestamp": when, **values})}


def claude_logs(*records: dict[str, Any]) -> dict[str, Any]:
    return {"resourceLogs": [{"resource": {"attributes": []}, "scopeLogs": [{"logRecords": list(records)}]}]}


def write_jsonl(path: Path, *records: Any, gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text) if gz else text)
    return path
