"""OTLP/JSON spans as observations: OpenTelemetry GenAI conventions (current and legacy names) and OpenInference.

The GenAI conventions are "Development" status and moved to open-telemetry/semantic-conventions-genai; names
changed on the way (`gen_ai.system` -> `gen_ai.provider.name`, `gen_ai.usage.prompt_tokens` ->
`gen_ai.usage.input_tokens`), so each fact is read from every name it has had, newest first. OTel has no cost
attribute; OpenInference's `llm.cost.*` is read when present. Approvals follow guardrail's convention: a span,
or an event on a span, carrying `guardrail.approval.tool` (and `guardrail.approval.approver`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from guardrail.adapters.traces import Observation
from guardrail.errors import ConfigError

# Every name a fact has had, newest first (one table, read by the span reader and the docs).
AGENT_NAME = ("gen_ai.agent.name", "agent.name")
OPERATION = "gen_ai.operation.name"
OPENINFERENCE_KIND = "openinference.span.kind"
TOOL_NAME = ("gen_ai.tool.name", "tool.name")
TOOL_ARGUMENTS = ("gen_ai.tool.call.arguments", "input.value")  # input.value: OpenInference TOOL spans
MODEL = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name")
PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
TOOL_RESULT = ("gen_ai.tool.call.result", "output.value")  # output.value: OpenInference TOOL spans
INPUT_MESSAGES = ("gen_ai.input.messages", "gen_ai.prompt", "input.value")  # recorded only when content capture is on
COST_TOTAL = "llm.cost.total"
COST_PARTS = ("llm.cost.prompt", "llm.cost.completion")
SESSION = ("gen_ai.conversation.id", "session.id")
APPROVAL_TOOL = "guardrail.approval.tool"
APPROVAL_APPROVER = "guardrail.approval.approver"

TOOL_OPERATIONS = frozenset({"execute_tool"})
MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
OPENINFERENCE_KINDS = {"TOOL": "tool_call", "LLM": "model_call", "EMBEDDING": "model_call"}
_ERROR_CODES = (2, "2", "STATUS_CODE_ERROR")


def any_value(value: Any) -> Any:
    """An OTLP AnyValue ({"stringValue": ...}, {"intValue": "3"}, arrays, kvlists) as a plain value."""
    if not isinstance(value, dict) or not value:
        return None
    inner = value.get("stringValue")
    if inner is not None:  # the common case, first
        return inner
    kind, inner = next(iter(value.items()))
    if kind == "boolValue" or kind == "doubleValue" or kind == "bytesValue":
        return inner
    if kind == "intValue":
        return int(inner)
    if kind == "arrayValue":
        return [any_value(v) for v in (inner or {}).get("values", [])]
    if kind == "kvlistValue":
        return attributes((inner or {}).get("values", []))
    return None


def attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    out: dict[str, Any] = {}
    for item in items:
        try:
            value = item.get("value")
            # a string value, the common case, read here: any_value's call costs more than the rest of the loop
            inner = value.get("stringValue") if type(value) is dict else None
            out[item["key"]] = inner if inner is not None else any_value(value)
        except (TypeError, KeyError, AttributeError, ValueError):
            continue  # not a {"key", "value"} pair, or an intValue that is no integer: nothing to read
    return out


def first(attrs: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attrs.get(name)
        if value is not None and value != "":
            return value
    return None


def text(value: Any, where: str, path: str, line: int, key: str = "") -> str | None:
    """An id or a name as recorded, as text: an integer becomes its digits; a list, an object or a boolean is bad
    input, named here (field `where` + `key`) rather than failing later where the event is built."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"expected a string, found {type(value).__name__}", path=path, line=line, field=where + key)


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def json_object(value: Any) -> dict[str, Any] | None:
    """Tool arguments as recorded: an object, or a JSON string of one; anything else is kept under `_raw`."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = _loads(value)
        except (ValueError, RecursionError):  # an attribute's text, not a file: kept raw when it is not JSON
            return {"_raw": value}
        return parsed if isinstance(parsed, dict) else {"_raw": value}
    return {"_raw": value}


_DECODER = json.JSONDecoder()  # what json.loads uses


def _loads(text: str) -> Any:
    """`json.loads(text)`, a third of its cost on compact text (what exporters write): json.loads scans for
    whitespace before and after the value with a regex each time. Anything else is json.loads' to decide."""
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:  # leading whitespace, a byte-order mark, or not JSON
        return json.loads(text)
    return value if end == len(text) else json.loads(text)  # trailing whitespace, or extra data


def nanos(value: Any, where: str, path: str, line: int, key: str = "") -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1e9, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ConfigError(
            f"not a time in Unix nanoseconds: {value!r}", path=path, line=line, field=where + key
        ) from None


def _list(container: dict[str, Any], key: str, where: str, path: str, line: int) -> list[Any]:
    value = container.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"expected a list, found {type(value).__name__}", path=path, line=line, field=f"{where}{key}")
    return value


def _approvals(attrs: dict[str, Any], events: Any) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    if attrs.get(APPROVAL_TOOL):
        found.append((str(attrs[APPROVAL_TOOL]), str(attrs.get(APPROVAL_APPROVER) or "unknown")))
    for event in events if isinstance(events, list) else ():
        if isinstance(event, dict) and event.get("attributes"):
            event_attrs = attributes(event["attributes"])
            if event_attrs.get(APPROVAL_TOOL):
                found.append((str(event_attrs[APPROVAL_TOOL]), str(event_attrs.get(APPROVAL_APPROVER) or "unknown")))
    return tuple(found)


def _kind(attrs: dict[str, Any], name: str) -> tuple[str | None, str]:
    """("tool_call" | "model_call" | None, source) from the operation, OpenInference's span kind, or the name."""
    operation = attrs.get(OPERATION)
    if operation is not None:
        if operation in TOOL_OPERATIONS:
            return "tool_call", "otlp"
        if operation in MODEL_OPERATIONS:
            return "model_call", "otlp"
        return None, "otlp"
    oi_kind = attrs.get(OPENINFERENCE_KIND)
    if oi_kind is not None:
        return OPENINFERENCE_KINDS.get(str(oi_kind).upper()), "openinference"
    if name.startswith("execute_tool"):
        return "tool_call", "otlp"
    return None, "otlp"


def spans(record: dict[str, Any], path: str, line: int) -> Iterator[Observation]:
    """Every span of one OTLP/JSON export record (`{"resourceSpans": [...]}`)."""
    for r, resource_spans in enumerate(_list(record, "resourceSpans", "", path, line)):
        where_r = f"resourceSpans[{r}]."
        if not isinstance(resource_spans, dict):
            raise ConfigError("expected an object", path=path, line=line, field=where_r[:-1])
        resource = attributes((resource_spans.get("resource") or {}).get("attributes"))
        resource_agent = first(resource, AGENT_NAME)
        for s, scope in enumerate(_list(resource_spans, "scopeSpans", where_r, path, line)):
            where_s = f"{where_r}scopeSpans[{s}]."
            if not isinstance(scope, dict):
                raise ConfigError("expected an object", path=path, line=line, field=where_s[:-1])
            for i, span in enumerate(_list(scope, "spans", where_s, path, line)):
                where = f"{where_s}spans[{i}]"
                if not isinstance(span, dict):
                    raise ConfigError("expected a span object", path=path, line=line, field=where)
                yield _span(span, resource_agent, where, path, line)


def _span(span: dict[str, Any], resource_agent: Any, where: str, path: str, line: int) -> Observation:
    attrs = attributes(span.get("attributes"))
    name = str(span.get("name") or "")
    kind, source = _kind(attrs, name)
    if "startTimeUnixNano" not in span:
        raise ConfigError("a span needs startTimeUnixNano", path=path, line=line, field=where)
    time = nanos(span["startTimeUnixNano"], where, path, line, ".startTimeUnixNano")
    status = span.get("status") or {}
    error = bool(isinstance(status, dict) and status.get("code") in _ERROR_CODES) or attrs.get("error.type") is not None
    agent = first(attrs, AGENT_NAME) or resource_agent
    events = span.get("events")
    trace_id = text(span.get("traceId") or None, where, path, line, ".traceId")
    span_id = text(span.get("spanId") or None, where, path, line, ".spanId")
    parent_id = text(span.get("parentSpanId") or None, where, path, line, ".parentSpanId")
    agent = str(agent) if agent is not None else None
    session_id = text(first(attrs, SESSION), where, path, line, ".attributes")
    approvals = _approvals(attrs, events) if events or APPROVAL_TOOL in attrs else ()
    if kind == "tool_call":
        tool = first(attrs, TOOL_NAME) or (name.removeprefix("execute_tool").strip() or None)
        if tool is None:
            raise ConfigError("a tool span names no tool (gen_ai.tool.name)", path=path, line=line, field=where)
        call_id = text(attrs.get("gen_ai.tool.call.id"), where, path, line, ".attributes")
        return Observation(
            kind, source, time, path, line, trace_id, span_id, parent_id, agent,
            tool=str(tool),
            args=json_object(first(attrs, TOOL_ARGUMENTS)),
            session_id=session_id,
            approvals=approvals,
            error=error,
            call_id=call_id,
            result=first(attrs, TOOL_RESULT),
        )  # fmt: skip
    if kind == "model_call":
        cost = as_float(attrs.get(COST_TOTAL))
        if cost is None and any(attrs.get(p) is not None for p in COST_PARTS):
            cost = sum(as_float(attrs.get(p)) or 0.0 for p in COST_PARTS)
        model = first(attrs, MODEL)
        provider = first(attrs, PROVIDER)
        return Observation(
            kind, source, time, path, line, trace_id, span_id, parent_id, agent,
            model=str(model) if model is not None else None,
            provider=str(provider) if provider is not None else None,
            input_tokens=as_int(first(attrs, INPUT_TOKENS)),
            output_tokens=as_int(first(attrs, OUTPUT_TOKENS)),
            cost_usd=cost,
            session_id=session_id,
            approvals=approvals,
            error=error,
            messages=first(attrs, INPUT_MESSAGES),
        )  # fmt: skip
    return Observation(
        kind, source, time, path, line, trace_id, span_id, parent_id, agent,
        session_id=session_id, approvals=approvals, error=error,
    )  # fmt: skip


__all__ = ["any_value", "as_float", "as_int", "attributes", "first", "json_object", "nanos", "spans", "text"]
