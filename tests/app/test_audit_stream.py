"""Observations become events one trace at a time: agents by ancestry, approvals by time, history, bounded memory."""

from __future__ import annotations

import gc
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.support.traces import T0, agent_span, approval_span, otlp, tool_span, write_jsonl

from guardrail.adapters.traces import Observation, observations, trace_files
from guardrail.app.audit_score import Tally
from guardrail.app.audit_stream import TraceAssembler, Window
from guardrail.collector import RARE, collecting_rarely
from guardrail.core.audit import TraceEvent

REPO = Path(__file__).resolve().parents[2]


def events(path: Path, **kwargs: object) -> list:  # type: ignore[type-arg]
    assembler = TraceAssembler({"mcp__stripe__create_refund": "payments.refund"}, **kwargs)  # type: ignore[arg-type]
    out = [j for o in observations(path) for j in assembler.feed(o)]
    return out + list(assembler.finish())


def test_a_span_takes_its_agent_from_an_ancestor_written_after_it(tmp_path: Path) -> None:
    nested = tool_span("s2", 2, "crm.lookup_order", {}, parent="s1")
    middle = tool_span("s1", 1, "tickets.route", {"queue": "billing"})
    path = write_jsonl(tmp_path / "t.jsonl", otlp(nested, middle), otlp(agent_span("support-triage")))
    found = events(path)
    assert [(j.event.tool, j.event.agent) for j in found] == [
        ("tickets.route", "support-triage"),
        ("crm.lookup_order", "support-triage"),
    ]


def test_records_that_name_no_agent_take_the_default(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", otlp(tool_span("s1", 1, "x", {}, parent=None)))
    assert [j.event.agent for j in events(path)] == [None]
    assert [j.event.agent for j in events(path, default_agent="refunds")] == ["refunds"]


def test_approvals_count_when_recorded_before_the_call_or_on_it(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        otlp(
            tool_span("s1", 1, "payments.refund", {"order_id": "1"}),
            approval_span("a1", 2, "payments.refund"),
            tool_span("s2", 3, "payments.refund", {"order_id": "2"}),
            agent_span("support-triage"),
        ),
    )
    first, second = events(path)
    assert first.event.approvals == ()
    assert (second.event.approvals, second.event.approvers) == (("payments.refund",), ("lead@example.com",))


def test_history_holds_the_agents_earlier_calls_with_recorded_arguments(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        otlp(
            tool_span("s1", 1, "crm.lookup_order", {"order_id": "1"}),
            tool_span("s2", 2, "tickets.route"),  # arguments not recorded: not comparable, left out of history
            tool_span("s3", 3, "payments.refund", {"order_id": "1"}),
            agent_span("support-triage"),
        ),
    )
    histories = [j.history.calls for j in events(path)]
    assert histories[0] == []
    assert histories[2] == [{"name": "crm.lookup_order", "args": {"order_id": "1"}, "allowed": True}]


def test_runtime_tool_names_are_mapped_to_the_catalog_and_one_call_counts_once(tmp_path: Path) -> None:
    hook = {
        "hook_event_name": "PreToolUse",
        "session_id": "s",
        "tool_name": "mcp__stripe__create_refund",
        "tool_input": {},
        "tool_use_id": "u1",
        "timestamp": T0.isoformat(),
    }
    path = write_jsonl(tmp_path / "h.jsonl", hook, {**hook, "hook_event_name": "PostToolUse"})
    (only,) = events(path)
    assert (only.event.tool, only.event.runtime_tool) == ("payments.refund", "mcp__stripe__create_refund")


def test_the_window_keeps_calls_in_it_and_counts_the_rest(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "t.jsonl",
        otlp(tool_span("s1", 10, "x", {}), tool_span("s2", 3600 * 30, "y", {}), agent_span("a")),
    )
    assembler_window = Window(since=T0, until=T0 + timedelta(days=1))
    assembler = TraceAssembler({}, window=assembler_window)
    out = [j for o in observations(path) for j in assembler.feed(o)] + list(assembler.finish())
    assert [j.event.tool for j in out] == ["x"]
    assert assembler.outside_window == 1


def obs(trace: str, n: int) -> Observation:
    return Observation(
        kind="tool_call",
        source="otlp",
        time=T0 + timedelta(seconds=n),
        file="f",
        line=n,
        trace_id=trace,
        span_id=f"{trace}-{n}",
        agent="a",
        tool="x",
        args={"n": n},
    )


def test_memory_is_bounded_and_a_late_record_continues_its_trace() -> None:
    assembler = TraceAssembler({}, idle=10, max_buffered=50)
    out = []
    for n in range(1000):
        out += assembler.feed(obs(f"t{n // 5}", n))
        assert assembler._buffered <= 50
    out += assembler.feed(obs("t0", 5000))  # trace t0 was assembled long ago; its history carries over
    out += assembler.finish()
    assert len(out) == 1001
    assert [h["args"]["n"] for h in out[-1].history.calls] == [0, 1, 2, 3, 4]


def test_every_event_is_the_record_validation_would_build() -> None:
    """Events are built without validation (adapters/traces* type their values): each one, from every format of
    the demo, equals the validated record of its own fields."""
    found = [j.event for path in trace_files([REPO / "examples" / "traces"]) for j in events(path)]
    assert {e.source for e in found} >= {"otlp", "openinference", "claude-code", "decision-log"}
    for event in found:
        assert TraceEvent.model_validate(event.model_dump()) == event
        assert TraceEvent(**event.__dict__).model_dump_json() == event.model_dump_json()


def project(root: Path) -> Path:
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copy(REPO / "examples" / "roster.yaml", root / "roster.yaml")
    return root


def test_an_audit_streams_with_rare_collections_and_leaves_the_collector_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, int]] = []
    add = Tally.add
    monkeypatch.setattr(Tally, "add", lambda self, *args: seen.append(gc.get_threshold()) or add(self, *args))
    before = gc.get_threshold()
    write_jsonl(project(tmp_path) / "t.jsonl", otlp(tool_span("s1", 1, "crm.lookup_order", {}), agent_span("refunds")))
    assert run_cli("audit", "t.jsonl", "--roster", "roster.yaml", "--no-track", cwd=tmp_path).code == 0
    assert seen == [RARE]
    assert gc.get_threshold() == before
    with pytest.raises(KeyError), collecting_rarely():
        raise KeyError("stop")
    assert gc.get_threshold() == before


@pytest.mark.parametrize(
    ("trace_id", "code", "shown"),
    [([1], 2, "spans[0].traceId: expected a string, found list"), (5, 1, '"trace_id": "5"')],
)
def test_an_id_that_is_not_text_is_bad_input_or_its_digits(
    tmp_path: Path, trace_id: object, code: int, shown: str
) -> None:
    """A span whose traceId is not a string ended in a pydantic traceback where its event was built."""
    project(tmp_path)
    record = otlp(tool_span("s1", 1, "web.fetch", {"url": "u"}), agent_span("support-triage"))
    record["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = trace_id
    write_jsonl(tmp_path / "t.jsonl", record)
    result = run_cli("audit", "t.jsonl", "--roster", "roster.yaml", "--no-track", "-f", "json", cwd=tmp_path)
    assert result.code == code, result.text
    assert "Traceback" not in result.text
    assert shown in (result.err if code == 2 else json.dumps(json.loads(result.out)))
    if code == 2:
        assert "t.jsonl:1" in result.err
