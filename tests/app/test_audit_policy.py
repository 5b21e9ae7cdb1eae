"""The audit's batched action decisions are the replay's per-call decisions, and what was done to make them cheap
changed no decision.

The audit asks the action policy about a thousand calls at once and sends histories as slices of shared logs; the
oracle here asks about each call alone with the whole input replay would give it (core/action.action_input: the
agent's roster facts, the call, the approvals, the earlier calls rebuilt independently from the event stream). Both
run on the real policies and the embedded engine, over the demo traces and a seeded random corpus that plants every
ACT rule, long traces (history windows and log continuation), traces split by the assembler's buffer and ragged
batches.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.traces import agent_span, approval_span, otlp, tool_span, write_jsonl

from guardrail.adapters.rego import RegoEngine
from guardrail.adapters.roster_file import load_roster
from guardrail.adapters.traces import observations, trace_files
from guardrail.app.audit import catalog_aliases, judge_stream
from guardrail.app.audit_policy import BatchJudge, agent_contexts
from guardrail.app.audit_stream import HISTORY_MAX, Judgeable, TraceAssembler
from guardrail.app.engine import load_policies
from guardrail.core.action import ACTION_QUERY, action_input, violations_of
from guardrail.core.audit import TraceEvent

REPO = Path(__file__).resolve().parents[2]
ROSTER = load_roster(REPO / "examples" / "roster.yaml").roster
BUNDLE = load_policies(REPO / "policies")
CONTEXTS = agent_contexts(ROSTER)

# Arguments that trip ACT-003 (fake data: reserved domains, the 555-01xx range, a test card) or come close to it.
PERSONAL = ["jane.doe@example.com", "call +1 415 555 0199", "(415) 555-0123", "4111 1111 1111 1111", "a@b.co"]
NEAR_MISSES = ["4111 1111 1111 1112", "LK-1234567890123", "order 12", "user at example dot com", ""]


@pytest.fixture(scope="module")
def engine() -> Iterator[RegoEngine]:
    yield RegoEngine(BUNDLE)


def _args(rng: random.Random, n: int) -> dict[str, Any] | None:
    roll = rng.random()
    if roll < 0.1:
        return None  # not recorded
    if roll < 0.35:  # a repeat of an earlier call's arguments (ACT-005 when the tool writes)
        return {"order_id": f"LK-{rng.randint(1, 3)}"}
    value: Any = rng.choice(PERSONAL + NEAR_MISSES) if roll < 0.6 else f"v{n}"
    if rng.random() < 0.3:
        value = {"body": {"lines": [f"line {n}", value]}, "n": n}  # nested: found through walk
    return {"order_id": f"LK-{n % 7}", "note": value}


def corpus(path: Path, seed: int) -> Path:
    """Runs of 1-12 calls, a few of 150-300 (past HISTORY_MAX and the log continuation), by roster agents and one
    stranger, with granted and ungranted tools, approvals before some calls and one on a call's own span."""
    rng = random.Random(seed)
    agents = [a.name for a in ROSTER.agents] + ["stranger"]
    tools = sorted({t for a in ROSTER.agents for t in a.tools} | {"payments.payout", "web.fetch"})
    records = []
    n = 0
    for run in range(40):
        trace = f"t{run}"
        agent = rng.choice(agents)
        length = rng.randint(150, 300) if run % 13 == 5 else rng.randint(1, 12)
        spans = []
        for k in range(length):
            tool = rng.choice(tools)
            at = run * 10_000 + k * 10
            if rng.random() < 0.3:
                spans.append(approval_span(f"a{run}-{k}", at - 1, rng.choice([tool, "payments.refund"]), trace=trace))
            extra = {}
            if rng.random() < 0.05:  # an approval recorded on the call's own span
                extra["events"] = [{"name": "approval", "attributes": approval_span("x", 0, tool)["attributes"]}]
            spans.append(tool_span(f"s{run}-{k}", at, tool, _args(rng, n), trace=trace, **extra))
            n += 1
        spans.append(agent_span(agent, trace=trace, at=run * 10_000))
        half = len(spans) // 2 if run % 4 == 0 else len(spans)  # some traces arrive in two parts, far apart
        records.append((run, otlp(*spans[:half])))
        if half < len(spans):
            records.append((run + 7, otlp(*spans[half:])))
    records.sort(key=lambda r: r[0])
    return write_jsonl(path, *(r for _, r in records))


def assembled(files: list[Path], **kwargs: Any) -> list[Judgeable]:
    assembler = TraceAssembler(catalog_aliases(BUNDLE), **kwargs)
    out = [j for f in files for o in observations(f) for j in assembler.feed(o)]
    return out + list(assembler.finish())


def _canonical(violation: dict[str, Any]) -> str:
    return json.dumps(violation, sort_keys=True)


def oracle(engine: RegoEngine, events: list[TraceEvent]) -> list[Any]:
    """Each judged call's decision asked alone, with the history rebuilt from the events themselves."""
    earlier: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
    out = []
    for e in events:
        key = (e.trace_id or e.session_id, e.agent)
        calls = earlier.setdefault(key, [])
        if e.kind == "tool_call" and e.executed and e.agent in CONTEXTS:
            args = e.args if e.args is not None else {}
            alone = action_input(**CONTEXTS[e.agent], call=e.tool or "", args=args, approvals=e.approvals,
                                 history=calls[-HISTORY_MAX:])  # fmt: skip
            out.append(sorted(violations_of(engine.query(ACTION_QUERY, alone)), key=_canonical))
        if e.kind == "tool_call" and e.executed and e.args is not None:
            calls.append({"name": e.tool, "args": e.args, "allowed": True})
    return out


def batched(engine: RegoEngine, items: list[Judgeable], batch_size: int) -> list[Any]:
    judge = BatchJudge(engine, CONTEXTS)
    stream = judge_stream(items, judge, batch_size=batch_size)
    return [sorted(v, key=_canonical) for _, v in stream if v is not None]


@pytest.mark.parametrize(("seed", "batch_size", "idle"), [(1, 1000, 20_000), (2, 37, 50), (3, 1, 200)])
def test_a_random_corpus_is_judged_as_replay_judges_each_call(
    engine: RegoEngine, tmp_path: Path, seed: int, batch_size: int, idle: int
) -> None:
    items = assembled([corpus(tmp_path / "c.jsonl", seed)], idle=idle)
    expected = oracle(engine, [j.event for j in items])
    assert batched(engine, items, batch_size) == expected
    fired = {v["rule"] for decision in expected for v in decision}
    assert fired == {"ACT-001", "ACT-002", "ACT-003", "ACT-004", "ACT-005"}, fired  # the corpus plants every rule
    assert max(j.history.end - j.history.start for j in items) == HISTORY_MAX


def test_the_demo_is_judged_as_replay_judges_each_call(engine: RegoEngine) -> None:
    items = assembled(trace_files([REPO / "examples" / "traces"]))
    expected = oracle(engine, [j.event for j in items])
    assert batched(engine, items, 1000) == expected
    assert sum(bool(d) for d in expected) >= 5  # the demo's planted ACT findings


def test_a_slice_keeps_its_calls_after_the_log_continues(tmp_path: Path) -> None:
    spans = [tool_span(f"s{k}", k, "tickets.route", {"n": k}) for k in range(3 * HISTORY_MAX)]
    items = assembled([write_jsonl(tmp_path / "t.jsonl", otlp(*spans, agent_span("support-triage")))])
    for k, item in enumerate(items):
        assert [c["args"]["n"] for c in item.history.calls] == list(range(max(0, k - HISTORY_MAX), k))
