"""Generate the demo production traces of Larkspur Outdoor Co.'s agents (examples/roster.yaml), with planted findings.

    python examples/traces/gen_demo_traces.py        # rewrites the files beside this script

Three days (2026-11-27 to 2026-11-29, UTC) of work by seven roster agents and one agent that is not on the roster,
in the formats `guardrail audit` reads:

    otlp-genai.jsonl         OTLP/JSON, current GenAI names (gen_ai.provider.name, gen_ai.usage.input_tokens, ...)
    otlp-legacy.jsonl.gz     OTLP/JSON, legacy GenAI names (gen_ai.system, gen_ai.usage.prompt_tokens), gzip
    openinference.jsonl      OTLP/JSON with OpenInference attributes (openinference.span.kind, llm.*, tool.*)
    claude-code.jsonl        Claude Code's OTel log events (tool_result, tool_decision, api_request)
    decisions.jsonl          guardrail's decision log (guardrail hook claude-code)

Every agent uses every tool it is granted, asks a person before every checkpointed call (an approval span with
`guardrail.approval.tool`) and stays within its budget, except for the planted findings listed in PLANTED (and
written to planted.yaml), which the demo's test checks are exactly what the audit reports. Fake personal data only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE  # where main() writes (a test regenerates into a temporary folder and compares)
DAYS = [datetime(2026, 11, 27, 8, tzinfo=UTC) + timedelta(days=d) for d in range(3)]
RNG = random.Random(20261127)
PLANTED: list[dict[str, Any]] = []


def ids(*parts: object) -> tuple[str, str]:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    return digest[:32], digest[32:48]


def span_id(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:16]


def plant(rule: str, agent: str, trace: str | None, span: str | None, why: str) -> None:
    PLANTED.append({"rule": rule, "agent": agent, "trace_id": trace, "span_id": span, "why": why})


def attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        if value is None:
            continue
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


def nanos(t: datetime) -> str:
    return str(int(t.timestamp() * 1_000_000) * 1000)


class Trace:
    """One agent run: spans appended in order; exported children first, the agent span last (as exporters do)."""

    def __init__(self, agent: str, start: datetime, key: str, style: str) -> None:
        self.agent, self.t, self.style = agent, start, style
        self.trace_id, self.root = ids(agent, key)
        self.spans: list[dict[str, Any]] = []
        self.key = key

    def _span(self, name: str, values: dict[str, Any], seconds: float, events: list[Any] | None = None) -> str:
        sid = span_id(self.trace_id, len(self.spans), name)
        start, self.t = self.t, self.t + timedelta(seconds=seconds)
        self.spans.append(
            {
                "traceId": self.trace_id,
                "spanId": sid,
                "parentSpanId": self.root,
                "name": name,
                "kind": 3,
                "startTimeUnixNano": nanos(start),
                "endTimeUnixNano": nanos(self.t),
                "attributes": attrs(values),
                "events": events or [],
                "status": {},
            }
        )
        return sid

    def chat(self, model: str, tokens_in: int, tokens_out: int, cost: float | None = None) -> str:
        if self.style == "openinference":
            values = {
                "openinference.span.kind": "LLM",
                "llm.model_name": model,
                "llm.provider": "sim",
                "llm.token_count.prompt": tokens_in,
                "llm.token_count.completion": tokens_out,
                "llm.cost.total": cost,
            }
        elif self.style == "legacy":
            values = {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "sim",
                "gen_ai.request.model": model,
                "gen_ai.usage.prompt_tokens": tokens_in,
                "gen_ai.usage.completion_tokens": tokens_out,
            }
        else:
            values = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "sim",
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": tokens_in,
                "gen_ai.usage.output_tokens": tokens_out,
            }
        return self._span(f"chat {model}", values, 1.5)

    def approve(self, tool: str, approver: str) -> str:
        values = {"guardrail.approval.tool": tool, "guardrail.approval.approver": approver}
        return self._span(f"approval {tool}", values, 30.0)

    def tool(self, name: str, args: dict[str, Any]) -> str:
        if self.style == "openinference":
            values = {"openinference.span.kind": "TOOL", "tool.name": name, "input.value": json.dumps(args)}
        else:
            values = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.arguments": json.dumps(args),
            }
        return self._span(f"execute_tool {name}", values, 0.4)

    def export(self) -> dict[str, Any]:
        agent_key = "agent.name" if self.style == "openinference" else "gen_ai.agent.name"
        kind = (
            {"openinference.span.kind": "AGENT"}
            if self.style == "openinference"
            else {"gen_ai.operation.name": "invoke_agent"}
        )
        root = {
            "traceId": self.trace_id,
            "spanId": self.root,
            "name": f"invoke_agent {self.agent}",
            "kind": 1,
            "startTimeUnixNano": self.spans[0]["startTimeUnixNano"] if self.spans else nanos(self.t),
            "endTimeUnixNano": nanos(self.t),
            "attributes": attrs({**kind, agent_key: self.agent}),
            "status": {},
        }
        scope = "openinference.instrumentation" if self.style == "openinference" else "larkspur.agents"
        return {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": attrs({"service.name": "larkspur-agents", "deployment.environment": "prod"})
                    },
                    "scopeSpans": [{"scope": {"name": scope}, "spans": [*self.spans, root]}],
                }
            ]
        }


def order() -> str:
    return f"LK-{RNG.randint(50000, 59999)}"


def run(agent: str, day: int, n: int, style: str, model: str, work: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        start = DAYS[day] + timedelta(minutes=37 * i + RNG.randint(0, 20))
        trace = Trace(agent, start, f"{day}-{i}", style)
        trace.chat(
            model, RNG.randint(900, 2400), RNG.randint(60, 240), cost=0.0006 if style == "openinference" else None
        )
        work(trace, day, i)
        trace.chat(
            model, RNG.randint(900, 2400), RNG.randint(40, 120), cost=0.0004 if style == "openinference" else None
        )
        out.append(trace.export())
    return out


# --- the agents' work -------------------------------------------------------------------------------------------


def coordinator(t: Trace, day: int, i: int) -> None:
    t.tool("analytics.query", {"metric": "open_tickets", "window": "24h"})
    t.tool("docs.search", {"query": "weekend staffing plan"})
    if i % 2 == 0:
        t.approve("agents.delegate", "ops-manager@larkspur.example")
        t.tool("agents.delegate", {"agent": "support-triage", "task": f"backlog batch {day}-{i}"})


def support_triage(t: Trace, day: int, i: int) -> None:
    ref = order()
    t.tool("crm.lookup_order", {"order_id": ref})
    t.tool("tickets.route", {"ticket": f"T-{day}{i:03d}", "queue": RNG.choice(["billing", "shipping", "returns"])})
    if i == 2:  # a supervisor approved this refund: not a violation
        t.approve("payments.refund", "support-lead@larkspur.example")
        t.tool("payments.refund", {"order_id": ref, "amount": 40.0})
    if day == 1 and i == 4:
        sid = t.tool("payments.refund", {"order_id": ref, "amount": 129.0})
        plant("ACT-002", "support-triage", t.trace_id, sid, "a refund with no person's approval in the trace")


def refunds(t: Trace, day: int, i: int) -> None:
    ref = order()
    t.tool("crm.lookup_order", {"order_id": ref})
    t.tool("crm.lookup_customer", {"order_id": ref})
    t.approve("payments.refund", "payments-ops@larkspur.example")
    t.tool("payments.refund", {"order_id": ref, "amount": 25.0})
    if day == 0 and i == 1:
        sid = t.tool("payments.refund", {"order_id": ref, "amount": 25.0})
        plant("ACT-005", "refunds", t.trace_id, sid, "the same refund issued twice in one run")
    t.approve("email.send", "payments-ops@larkspur.example")
    t.tool("email.send", {"to": "jordan.lee@example.com", "template": "refund_confirmation", "order_id": ref})
    if day == 1 and i == 2:  # a runaway loop re-reading a huge context: the day's spend passes the $15 budget
        crossed = None
        for _ in range(40):
            sid = t.chat("balanced", 800_000, 50_000)
            crossed = crossed or (sid if _ == 37 else None)
        plant("AUD-003", "refunds", t.trace_id, crossed, "a runaway loop spends over the $15 daily budget")


def lead_qualification(t: Trace, day: int, i: int) -> None:
    lead = f"L-{RNG.randint(1000, 9999)}"
    t.tool("crm.lookup_lead", {"lead_id": lead})
    t.tool("web.search", {"q": f"{lead} wholesale outdoor retailer"})
    t.tool("crm.update_lead", {"lead_id": lead, "score": RNG.randint(20, 95)})
    if i % 3 == 0:
        t.approve("calendar.book", "sales-lead@larkspur.example")
        t.tool("calendar.book", {"lead_id": lead, "slot": "2026-12-02T15:00:00Z"})
    if day == 2 and i == 1:
        sid = t.tool("web.fetch", {"url": "https://wholesale.example.net/price-list"})
        plant("ACT-001", "lead-qualification", t.trace_id, sid, "web.fetch is not granted to lead-qualification")
    if day == 0 and i == 3:
        sid = t.tool("web.search", {"q": "who is jane.doe@example.org at Peak Supply"})
        plant("ACT-003", "lead-qualification", t.trace_id, sid, "a person's email address sent to an external search")


def lifecycle(t: Trace, day: int, i: int) -> None:
    t.tool("crm.segment_lookup", {"segment": RNG.choice(["trail-runners", "campers", "climbers"])})
    t.tool("cms.draft", {"title": f"Winter gear picks {day}-{i}"})
    t.approve("email.send", "lifecycle-marketing@larkspur.example")
    t.tool("email.send", {"segment": "campers", "template": f"winter-{day}-{i}"})


def content_writer(t: Trace, day: int, i: int) -> None:
    t.tool("docs.search", {"query": "tent fabric care"})
    t.tool("web.search", {"q": "ultralight tent reviews 2026"})
    t.tool("cms.draft", {"title": f"Caring for your tent ({day}-{i})"})
    if i % 2 == 1:
        t.approve("cms.publish", "content-lead@larkspur.example")
        t.tool("cms.publish", {"page": f"guides/tent-care-{day}-{i}"})


def seo(t: Trace, day: int, i: int) -> None:  # never runs analytics.query: AUD-004
    t.tool("seo.keywords", {"seed": "winter hiking boots"})
    t.tool("web.search", {"q": "winter hiking boots best"})
    t.tool("cms.draft", {"title": f"Meta suggestions {day}-{i}"})


def otlp_files() -> None:
    current: list[dict[str, Any]] = []
    legacy: list[dict[str, Any]] = []
    oi: list[dict[str, Any]] = []
    for day in range(3):
        current += run("coordinator", day, 4, "current", "frontier", coordinator)
        current += run("support-triage", day, 6, "current", "frontier", support_triage)
        current += run("refunds", day, 3, "current", "balanced", refunds)
        legacy += run("lead-qualification", day, 5, "legacy", "balanced", lead_qualification)
        model = "balanced" if day == 2 else "budget"
        lifecycle_runs = run("lifecycle", day, 3, "legacy", model, lifecycle)
        if day == 2:
            first = lifecycle_runs[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
            plant(
                "AUD-002", "lifecycle", first["traceId"], first["spanId"], "lifecycle ran sim/balanced, not sim/budget"
            )
        legacy += lifecycle_runs
        oi += run("content-writer", day, 3, "openinference", "balanced", content_writer)
        oi += run("seo", day, 3, "openinference", "budget", seo)
    plant("AUD-004", "seo", None, None, "seo holds analytics.query and never used it")
    write_lines(OUT / "otlp-genai.jsonl", current)
    write_lines(OUT / "otlp-legacy.jsonl.gz", legacy)
    write_lines(OUT / "openinference.jsonl", oi)


# --- Claude Code events and guardrail's decision log ----------------------------------------------------------------


def log_record(name: str, t: datetime, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "timeUnixNano": nanos(t),
        "body": {"stringValue": f"claude_code.{name}"},
        "attributes": attrs({"event.name": name, "event.timestamp": t.isoformat().replace("+00:00", "Z"), **values}),
    }


def claude_code_file() -> None:
    """A pricing agent someone runs in Claude Code: it is not on the roster (AUD-001)."""
    records = []
    session = "5f0c1a2e-6d7b-4c4e-9a51-2f8e0d3b7c61"
    t = DAYS[1] + timedelta(hours=3)
    common = {"session.id": session, "agent.name": "pricing-bot"}
    first_call = "toolu_01PRC0001"
    records.append(
        log_record(
            "api_request",
            t,
            {**common, "model": "sim/budget", "cost_usd": 0.0031, "input_tokens": 5200, "output_tokens": 410},
        )
    )
    records.append(
        log_record(
            "tool_result",
            t + timedelta(seconds=4),
            {
                **common,
                "tool_name": "WebFetch",
                "tool_use_id": first_call,
                "success": "true",
                "tool_input": json.dumps({"url": "https://competitor.example/prices"}),
            },
        )
    )
    records.append(
        log_record(
            "tool_decision",
            t + timedelta(seconds=9),
            {
                **common,
                "tool_name": "Bash",
                "tool_use_id": "toolu_01PRC0002",
                "decision": "reject",
                "source": "user_reject",
            },
        )
    )
    # the agent's first record is a model call: no span, its trace is the Claude Code session
    plant("AUD-001", "pricing-bot", session, None, "an agent that is not on the roster")
    export = {
        "resourceLogs": [
            {
                "resource": {"attributes": attrs({"service.name": "claude-code"})},
                "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": records}],
            }
        ]
    }
    write_lines(OUT / "claude-code.jsonl", [export])


def decisions_file() -> None:
    """The refunds agent also runs in Claude Code behind `guardrail hook claude-code`; its decision log."""
    session = "9b3e7d10-41c2-4f7a-8e55-0c6a1d2f9e83"
    t = DAYS[2] + timedelta(hours=5)
    base = {
        "schema": "guardrail.decision/v1",
        "source": "claude-code",
        "agent": "refunds",
        "runtime_agent": "refunds",
        "session_id": session,
        "trace_id": None,
        "span_id": None,
        "model": None,
        "policy_hash": "sha256:" + "0" * 64,
        "roster_hash": "sha256:" + "1" * 64,
        "guardrail_version": "0.1.0",
    }
    rows = [
        ("crm.lookup_order", "mcp__crm__lookup_order", {"order_id": "LK-58211"}, "allow", []),
        ("payments.refund", "mcp__stripe__create_refund", {"order_id": "LK-58211", "amount": 60.0}, "ask", []),
        (
            "payments.payout",
            "mcp__stripe__create_payout",
            {"amount": 500.0},
            "deny",
            [{"rule": "ACT-001", "msg": "not granted", "severity": "high"}],
        ),
        ("email.send", "mcp__mail__send", {"to": "[REDACTED:email]", "template": "refund_confirmation"}, "allow", []),
    ]
    out = []
    for n, (tool, runtime, args, decision, reasons) in enumerate(rows):
        call = f"toolu_01RFD{n:04d}"
        when = (t + timedelta(seconds=20 * n)).isoformat().replace("+00:00", "Z")
        out.append(
            {
                **base,
                "time": when,
                "tool": tool,
                "runtime_tool": runtime,
                "args": args,
                "decision": decision,
                "reasons": reasons,
                "tool_use_id": call,
            }
        )
        if tool == "email.send":
            plant(
                "ACT-002",
                "refunds",
                session,
                call,
                "the hook allowed email.send without the approval the roster requires",
            )
    write_lines(OUT / "decisions.jsonl", out)


def write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text, mtime=0))
    else:
        path.write_bytes(text)


def main(out: Path = HERE) -> None:
    global OUT
    OUT = out
    PLANTED.clear()
    RNG.seed(20261127)
    otlp_files()
    claude_code_file()
    decisions_file()
    (OUT / "planted.yaml").write_text(
        json.dumps(sorted(PLANTED, key=lambda p: (p["rule"], p["agent"])), indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
