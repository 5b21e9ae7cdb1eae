"""Trace files into observations: every format by its content, current and legacy names, bad input named by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.traces import (
    agent_span,
    attrs,
    chat_span,
    claude_event,
    claude_logs,
    nanos,
    otlp,
    span,
    tool_span,
    write_jsonl,
)

from guardrail.adapters.traces import observations, record_format, trace_files
from guardrail.adapters.traces_otlp import any_value, json_object
from guardrail.errors import ConfigError


def test_any_value_decodes_every_otlp_kind() -> None:
    assert any_value({"intValue": "42"}) == 42
    assert any_value({"arrayValue": {"values": [{"stringValue": "a"}, {"boolValue": True}]}}) == ["a", True]
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"doubleValue": 1.5}}]}}) == {"k": 1.5}
    assert any_value({}) is None


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        ({"resourceSpans": []}, "otlp-traces"),
        ({"resourceLogs": []}, "otlp-logs"),
        ({"resourceMetrics": []}, "otlp-metrics"),
        ({"schema": "guardrail.decision/v1"}, "decision-log"),
        ({"hook_event_name": "PreToolUse", "tool_name": "Bash"}, "claude-code-hook"),
        ({"hello": 1}, None),
        ([1, 2], None),
    ],
)
def test_formats_are_recognised_by_content(record: object, kind: str | None) -> None:
    assert record_format(record) == kind


def test_current_gen_ai_names(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        otlp(
            tool_span("s1", 1, "payments.refund", {"order_id": "1"}),
            chat_span("s2", 2, "gpt-4o-mini", (1200, 80)),
            agent_span("support-triage"),
        ),
    )
    tool, chat, agent = list(observations(path))
    assert (tool.kind, tool.tool, tool.args, tool.parent_id, tool.agent) == (
        "tool_call",
        "payments.refund",
        {"order_id": "1"},
        "root",
        None,
    )
    assert (chat.kind, chat.model, chat.provider, chat.input_tokens, chat.output_tokens) == (
        "model_call",
        "gpt-4o-mini",
        "openai",
        1200,
        80,
    )
    assert (agent.kind, agent.agent, agent.line) == (None, "support-triage", 1)


def test_legacy_gen_ai_and_openinference_names(tmp_path: Path) -> None:
    legacy = span(
        "s1",
        0,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.response.model": "claude-haiku-4-5-20251001",
            "gen_ai.usage.prompt_tokens": 10,
            "gen_ai.usage.completion_tokens": 5,
        },
    )
    oi_llm = span(
        "s2",
        1,
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4.1",
            "llm.provider": "openai",
            "llm.token_count.prompt": 7,
            "llm.cost.prompt": 0.25,
            "llm.cost.completion": 0.5,
            "agent.name": "content-writer",
        },
    )
    oi_tool = span(
        "s3", 2, {"openinference.span.kind": "TOOL", "tool.name": "web.search", "input.value": '{"q": "tents"}'}
    )
    path = write_jsonl(tmp_path / "t.jsonl.gz", otlp(legacy, oi_llm, oi_tool), gz=True)
    a, b, c = list(observations(path))
    assert (a.provider, a.model, a.input_tokens, a.output_tokens, a.source) == (
        "anthropic",
        "claude-haiku-4-5-20251001",
        10,
        5,
        "otlp",
    )
    assert (b.source, b.model, b.cost_usd, b.agent) == ("openinference", "gpt-4.1", 0.75, "content-writer")
    assert (c.kind, c.tool, c.args) == ("tool_call", "web.search", {"q": "tents"})


def test_arguments_that_are_not_an_object_are_kept_raw_and_approvals_read_from_span_events(tmp_path: Path) -> None:
    event = {"name": "approval", "timeUnixNano": nanos(1), "attributes": attrs({"guardrail.approval.tool": "x"})}
    values = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "x",
        "gen_ai.tool.call.arguments": "not json",
    }
    s = span("s1", 1, values, events=[event])
    (found,) = list(observations(write_jsonl(tmp_path / "t.jsonl", otlp(s))))
    assert found.args == {"_raw": "not json"}
    assert found.approvals == (("x", "unknown"),)


def test_an_error_status_marks_the_call(tmp_path: Path) -> None:
    (found,) = list(observations(write_jsonl(tmp_path / "t.jsonl", otlp(tool_span("s", 0, "x", status={"code": 2})))))
    assert found.error is True


def test_one_pretty_printed_document_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(otlp(tool_span("s1", 0, "x")), indent=2))
    assert [o.tool for o in observations(path)] == ["x"]


def test_directories_are_walked_in_order_and_hidden_or_foreign_files_skipped(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "b.jsonl", otlp())
    write_jsonl(tmp_path / "a" / "x.json.gz", otlp(), gz=True)
    write_jsonl(tmp_path / ".hidden.jsonl", otlp())
    (tmp_path / "notes.txt").write_text("hello")
    assert [p.relative_to(tmp_path).as_posix() for p in trace_files([tmp_path])] == ["a/x.json.gz", "b.jsonl"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no trace files"):
        trace_files([tmp_path / "empty"])
    with pytest.raises(ConfigError, match="file not found"):
        trace_files([tmp_path / "missing.jsonl"])


@pytest.mark.parametrize(
    ("lines", "where", "message"),
    [
        (['{"resourceSpans": []}', "{not json"], ":2:", "invalid JSON"),
        (['{"resourceSpans": []}', '{"hello": "world"}'], ":2:", "not a trace record guardrail reads"),
        (['{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "a"}]}]}]}'], ":1:", "startTimeUnixNano"),
        (['{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}'], ":1:", "nanoseconds"),
        (['{"resourceSpans": {"a": 1}}'], ":1:", "resourceSpans: expected a list"),
        (['{"schema": "guardrail.decision/v1", "decision": "maybe"}'], ":1:", "not a decision record"),
        (
            ['{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "1", "spanId": {"a": 1}}]}]}]}'],
            ":1:",
            "scopeSpans[0].spans[0].spanId: expected a string, found dict",
        ),
        (
            ['{"hook_event_name": "PreToolUse", "tool_name": "Bash", "timestamp": 1, "session_id": [1]}'],
            ":1:",
            "session_id: expected a string, found list",
        ),
    ],
)
def test_bad_records_name_the_file_and_line(tmp_path: Path, lines: list[str], where: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        list(observations(path))
    assert f"{path}{where}" in str(caught.value)
    assert message in str(caught.value)


def _as_json_loads_reads_it(text: str) -> object:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return {"_raw": text}
    return parsed if isinstance(parsed, dict) else {"_raw": text}


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', ' {"a": 1}', '{"a": 1}\n', '{"a": 1}x', '{"a":1}{"b":2}', "\ufeff{}", "", "[1]", '{"a": NaN}',
     '{"a": 1e999}', "[" * 100_000, '{"a": "\\ud800"}', '"{}"'],
)  # fmt: skip
def test_arguments_text_is_read_as_json_loads_reads_it(text: str) -> None:
    """Compact arguments skip json.loads' whitespace scans; every other text is read exactly as before."""
    assert repr(json_object(text)) == repr(_as_json_loads_reads_it(text))


def test_an_integer_that_is_not_one_leaves_its_attribute_unread(tmp_path: Path) -> None:
    """`{"intValue": "seven"}` ended in a ValueError traceback; like any malformed attribute, it is not read."""
    record = otlp(tool_span("s1", 1, "crm.lookup_order", {"order_id": "1"}))
    record["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append(
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "seven"}}
    )
    (found,) = list(observations(write_jsonl(tmp_path / "t.jsonl", record)))
    assert (found.tool, found.input_tokens) == ("crm.lookup_order", None)


def test_a_corrupt_gzip_file_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(b"\x1f\x8b" + b"\x00" * 20)
    with pytest.raises(ConfigError, match="cannot read"):
        list(observations(path))


def test_claude_code_events(tmp_path: Path) -> None:
    common = {"session.id": "sess-1", "agent.name": "refunds"}
    path = write_jsonl(
        tmp_path / "cc.jsonl",
        claude_logs(
            claude_event("user_prompt", 0, common),
            claude_event(
                "api_request", 1, {**common, "model": "claude-sonnet-4-5", "cost_usd": 0.02, "input_tokens": 9}
            ),
            claude_event(
                "tool_decision",
                2,
                {**common, "tool_name": "payments.refund", "decision": "accept", "source": "user_temporary"},
            ),
            claude_event("tool_decision", 3, {**common, "tool_name": "Bash", "decision": "accept", "source": "config"}),
            claude_event(
                "tool_result",
                4,
                {
                    **common,
                    "tool_name": "payments.refund",
                    "tool_use_id": "u1",
                    "success": "true",
                    "tool_input": '{"order_id": "7"}',
                },
            ),
            claude_event(
                "tool_decision",
                5,
                {**common, "tool_name": "Bash", "tool_use_id": "u2", "decision": "reject", "source": "user_reject"},
            ),
        ),
    )
    model, approval, call, blocked = list(observations(path))
    assert (model.kind, model.cost_usd, model.trace_id, model.agent) == ("model_call", 0.02, "sess-1", "refunds")
    assert (approval.kind, approval.approvals) == (None, (("payments.refund", "claude-code user (user_temporary)"),))
    assert (call.kind, call.args, call.span_id, call.executed) == ("tool_call", {"order_id": "7"}, "u1", True)
    assert (blocked.tool, blocked.executed) == ("Bash", False)


def test_hook_payloads_and_decision_records(tmp_path: Path) -> None:
    hook = {
        "hook_event_name": "PreToolUse",
        "session_id": "s",
        "tool_name": "mcp__stripe__create_refund",
        "tool_input": {"amount": 5},
        "tool_use_id": "u1",
        "timestamp": "2026-11-28T09:00:00Z",
    }
    decision = {
        "schema": "guardrail.decision/v1",
        "time": "2026-11-28T09:00:01Z",
        "agent": "refunds",
        "tool": "payments.refund",
        "runtime_tool": "mcp__stripe__create_refund",
        "args": {"order_id": "1"},
        "decision": "ask",
        "session_id": "s",
        "tool_use_id": "u9",
        "source": "claude-code",
        "guardrail_version": "0.1.0",
    }
    path = write_jsonl(
        tmp_path / "h.jsonl",
        hook,
        {**hook, "hook_event_name": "SessionStart"},
        decision,
        {**decision, "decision": "deny"},
    )
    pre, asked, denied = list(observations(path))
    assert (pre.source, pre.tool, pre.args, pre.call_id) == (
        "claude-code-hook",
        "mcp__stripe__create_refund",
        {"amount": 5},
        "u1",
    )
    assert (asked.catalog_tool, asked.approvals, asked.executed) == (
        "payments.refund",
        (("payments.refund", "runtime permission prompt (ask)"),),
        True,
    )
    assert denied.executed is False
    bad = write_jsonl(tmp_path / "bad.jsonl", {k: v for k, v in hook.items() if k != "timestamp"})
    with pytest.raises(ConfigError, match="needs a time"):
        list(observations(bad))


def test_trace_files_are_read_through_the_guarded_path(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        list(observations(fifo))
