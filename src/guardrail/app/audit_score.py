"""Tallies over the audited window, kept per agent as events stream past (memory flat in the number of events):
the audit rules' input (what each agent did, which models, what it spent per day) and the scorecard.

Cost of a call: what the trace recorded, else its tokens at the model's list price (`price`), else it is counted
as unpriced. A budget crossing is remembered at the call that took the day's spend past the roster's budget, so
AUD-003 points at the span where it happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from guardrail.core.audit import (
    UNNAMED_AGENT,
    AgentCard,
    DayCost,
    OfficeCard,
    RuleRate,
    Scorecard,
    TraceEvent,
    litellm_id,
)
from guardrail.core.findings import Location
from guardrail.core.roster import Roster
from guardrail.core.stats import Interval, binomial

Price = Callable[[str, int, int], float | None]  # (litellm id, input tokens, output tokens) -> USD, None: unknown


def _ref(event: TraceEvent) -> dict[str, Any]:
    return {"trace_id": event.trace_id, "span_id": event.span_id}


def _order(event: TraceEvent) -> tuple[str, str, str]:
    """Which of two events came first: by time, then ids, so every engine picks the same `first` whatever order
    the events arrive in."""
    return (event.time.isoformat(), event.trace_id or "", event.span_id or "")


def _order_of(ref: dict[str, Any]) -> tuple[str, str, str]:
    return tuple(ref["_order"])


def _earlier(event: TraceEvent, ref: dict[str, Any]) -> bool:
    """`_order(event) < _order_of(ref)`, without formatting a time that is plainly later: at one UTC offset the
    ISO texts sort as the times do, so a strictly later time at the same offset is never earlier."""
    time, known = event.time, ref["_time"]
    if time > known and time.utcoffset() == known.utcoffset():
        return False
    return _order(event) < _order_of(ref)


def _public(ref: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if ref is None else {k: v for k, v in ref.items() if not k.startswith("_")}


@dataclass
class _Day:
    cost: float = 0.0
    calls: int = 0  # model calls (and tool calls with a recorded cost)
    unpriced: int = 0
    tool_calls: int = 0
    violating: int = 0
    crossed: dict[str, Any] | None = None
    last: dict[str, Any] | None = None


@dataclass
class _Agent:
    first: dict[str, Any] | None = None
    tool_calls: int = 0
    blocked: int = 0
    model_calls: int = 0
    errors: int = 0
    judged: int = 0
    violating: int = 0
    rules: Counter[str] = field(default_factory=Counter)
    tools: Counter[str] = field(default_factory=Counter)
    models: dict[tuple[str | None, str | None], dict[str, Any]] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    days: dict[str, _Day] = field(default_factory=dict)


class Tally:
    """Feed every event in the window (with the action policy's violations for judged calls)."""

    def __init__(self, roster: Roster, price: Price) -> None:
        self.roster = roster
        self.price = price
        self.budgets = {a.name: a.budget_usd_per_day for a in roster.agents}
        self.agents: dict[str, _Agent] = {}
        self.where: dict[str, Location] = {}  # "trace/span" -> file and line, for findings the audit rules raise
        self.first_time: datetime | None = None
        self.last_time: datetime | None = None
        self.events = 0

    def add(self, event: TraceEvent, violations: list[dict[str, Any]] | None) -> None:
        self.events += 1
        time = event.time
        if self.first_time is None or self.last_time is None:
            self.first_time = self.last_time = time
        elif time < self.first_time:  # as min() and max() pick: the earlier object on a tie
            self.first_time = time
        elif time > self.last_time:
            self.last_time = time
        name = event.agent or UNNAMED_AGENT
        tally = self.agents.get(name)
        if tally is None:
            tally = self.agents[name] = _Agent()
        if tally.first is None or _earlier(event, tally.first):
            tally.first = self._remember(event)
        tally.errors += event.error
        key = time.date().isoformat()
        day = tally.days.get(key)
        if day is None:
            day = tally.days[key] = _Day()
        if event.kind == "tool_call":
            if not event.executed:
                tally.blocked += 1
                return
            tally.tool_calls += 1
            day.tool_calls += 1
            if event.tool is not None:
                tally.tools[event.tool] += 1
            if violations is not None:
                tally.judged += 1
                if violations:
                    tally.violating += 1
                    day.violating += 1
                    tally.rules.update({str(v.get("rule")) for v in violations})
        else:
            tally.model_calls += 1
            self._model(tally, event)
        self._spend(name, day, event)

    def _remember(self, event: TraceEvent) -> dict[str, Any]:
        ref = {**_ref(event), "_order": _order(event), "_time": event.time}
        self.where.setdefault(f"{event.trace_id}/{event.span_id}", Location(path=event.file, line=event.line or None))
        return ref

    def _model(self, tally: _Agent, event: TraceEvent) -> None:
        key = (event.provider, event.model)
        seen = tally.models.get(key)
        if seen is not None and _earlier(event, seen["first"]):
            seen["first"] = self._remember(event)
        if seen is None:
            seen = tally.models[key] = {
                "model": event.model,
                "provider": event.provider,
                "id": litellm_id(event.provider, event.model) if event.model else None,
                "calls": 0,
                "first": self._remember(event),
            }
        seen["calls"] += 1
        tally.input_tokens += event.input_tokens or 0
        tally.output_tokens += event.output_tokens or 0

    def _spend(self, name: str, day: _Day, event: TraceEvent) -> None:
        cost = event.cost_usd
        if cost is None and event.kind == "model_call" and event.model and (event.input_tokens or event.output_tokens):
            cost = self.price(
                litellm_id(event.provider, event.model), event.input_tokens or 0, event.output_tokens or 0
            )
        if cost is None and event.kind == "tool_call":
            return
        day.calls += 1
        if cost is None:
            day.unpriced += 1
            return
        budget = self.budgets.get(name)
        before = day.cost
        day.cost += cost
        day.last = _ref(event)
        if budget is not None and before <= budget < day.cost and day.crossed is None:
            day.crossed = self._remember(event)

    # --- outputs ---------------------------------------------------------------------------------------------

    def rules_input(self, since: datetime | None, until: datetime | None) -> dict[str, Any]:
        """The audit rules' input (policies/audit/lib.rego documents it)."""
        agents = []
        for name, t in sorted(self.agents.items()):
            days = []
            for key, d in sorted(t.days.items()):
                entry: dict[str, Any] = {
                    "day": key,
                    "cost_usd": round(d.cost, 6),
                    "calls": d.calls,
                    "unpriced_calls": d.unpriced,
                    "last": _public(d.last or t.first),
                }
                if d.calls == 0:
                    continue
                if d.crossed is not None:
                    entry["crossed"] = _public(d.crossed)
                days.append(entry)
            agents.append(
                {
                    "name": name,
                    "tool_calls": t.tool_calls,
                    "model_calls": t.model_calls,
                    "tools_used": dict(sorted(t.tools.items())),
                    "first": _public(t.first),
                    "models": [
                        {**m, "first": _public(m["first"])}
                        for _, m in sorted(t.models.items(), key=lambda kv: str(kv[0]))
                    ],
                    "days": days,
                }
            )
        return {
            "roster": self.roster.policy_input(),
            "agents": agents,
            "window": {
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            },
        }

    def scorecard(self, since: datetime | None, until: datetime | None, by_source: dict[str, int]) -> Scorecard:
        cards = [self._card(name, t) for name, t in sorted(self.agents.items())]
        days = sorted({d.day for c in cards for d in c.days})
        return Scorecard(
            since=since,
            until=until,
            first_event=self.first_time,
            last_event=self.last_time,
            events=self.events,
            tool_calls=sum(c.tool_calls for c in cards),
            model_calls=sum(c.model_calls for c in cards),
            records_by_source=dict(sorted(by_source.items())),
            days=days,
            agents=cards,
            offices=_offices(cards),
        )

    def _card(self, name: str, t: _Agent) -> AgentCard:
        agent = self.roster.agent(name)
        granted = list(agent.tools) if agent else []
        budget = agent.budget_usd_per_day if agent else None
        calls = t.tool_calls + t.model_calls
        return AgentCard(
            agent=name,
            office=agent.office if agent else None,
            on_roster=agent is not None,
            roster_model=agent.model if agent else None,
            tool_calls=t.tool_calls,
            blocked_calls=t.blocked,
            model_calls=t.model_calls,
            errors=t.errors,
            error_rate=_rate(t.errors, calls),
            tools_granted=granted,
            tools_used=dict(sorted(t.tools.items())),
            tools_unused=[tool for tool in granted if tool not in t.tools],
            violating_calls=t.violating,
            violation_rate=_rate(t.violating, t.judged),
            violations=[RuleRate(rule=r, calls=n, rate=_rate(n, t.judged)) for r, n in sorted(t.rules.items())],
            models={m["id"] or "(not recorded)": m["calls"] for m in t.models.values()},
            input_tokens=t.input_tokens,
            output_tokens=t.output_tokens,
            cost_usd=round(sum(d.cost for d in t.days.values()), 6),
            budget_usd_per_day=budget,
            days=[
                DayCost(
                    day=k,
                    cost_usd=round(d.cost, 6),
                    calls=d.calls,
                    unpriced_calls=d.unpriced,
                    tool_calls=d.tool_calls,
                    violating_calls=d.violating,
                    budget_usd=budget,
                )
                for k, d in sorted(t.days.items())
            ],
        )


def _rate(k: int, n: int) -> Interval | None:
    """A share of independent calls with its Clopper-Pearson 95% interval (calls in one trace are treated as
    independent)."""
    return binomial(k, n) if n > 0 else None


def _offices(cards: list[AgentCard]) -> list[OfficeCard]:
    groups: dict[str, list[AgentCard]] = {}
    for card in cards:
        groups.setdefault(card.office or "(no office)", []).append(card)
    out = []
    for office, members in sorted(groups.items()):
        judged = sum(c.violation_rate.n for c in members if c.violation_rate is not None)
        violating = sum(c.violating_calls for c in members)
        calls = sum(c.tool_calls + c.model_calls for c in members)
        errors = sum(c.errors for c in members)
        days: dict[str, DayCost] = {}
        budgets = [c.budget_usd_per_day for c in members if c.budget_usd_per_day is not None]
        for c in members:
            for d in c.days:
                was = days.get(d.day) or DayCost(day=d.day, cost_usd=0.0, calls=0)
                days[d.day] = DayCost(
                    day=d.day,
                    cost_usd=round(was.cost_usd + d.cost_usd, 6),
                    calls=was.calls + d.calls,
                    unpriced_calls=was.unpriced_calls + d.unpriced_calls,
                    tool_calls=was.tool_calls + d.tool_calls,
                    violating_calls=was.violating_calls + d.violating_calls,
                    budget_usd=sum(budgets) if budgets else None,
                )
        out.append(
            OfficeCard(
                office=office,
                agents=[c.agent for c in members],
                tool_calls=sum(c.tool_calls for c in members),
                model_calls=sum(c.model_calls for c in members),
                errors=errors,
                error_rate=_rate(errors, calls),
                violating_calls=violating,
                violation_rate=_rate(violating, judged),
                cost_usd=round(sum(c.cost_usd for c in members), 6),
                budget_usd_per_day=sum(budgets) if budgets else None,
                days=[days[k] for k in sorted(days)],
            )
        )
    return out


__all__ = ["Price", "Tally"]
