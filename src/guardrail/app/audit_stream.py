"""Assemble observations into events, one trace at a time, with bounded memory.

A span often does not name its agent: the `invoke_agent` span above it does, and exporters write a parent after
its children. Approvals and earlier calls (the action policy's `approvals` and `history`) are facts about the
whole trace too. So observations are buffered per trace and a trace is assembled once it has been quiet for
`idle` records (exporters write one trace's records close together), or when the buffer is full (the least
recently seen trace goes first). Memory is bounded by the buffer, not by the input. A trace whose records
arrive after it was assembled continues from a small remembered state (its span agents, approvals, history).

Within a trace, records are taken in time order (file order breaks ties):
- agent: the record's own, else the nearest ancestor span's, else `default_agent`;
- approvals: tools a person approved in this trace at or before the call's time, or on the call's own span;
- history: the agent's earlier executed calls in this trace whose arguments were recorded (at most HISTORY_MAX).

A history is a slice of a log shared by the agent's calls in the trace (`History`), not a copy per call: a call
is recorded once, however many later calls have it in their history, and the policy batch sends it once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple

from guardrail.adapters.traces import Observation
from guardrail.core.audit import TraceEvent, trusted_event

HISTORY_MAX = 64  # earlier calls handed to the action policy per (trace, agent): ACT-005 looks back this far
LOG_MAX = 2 * HISTORY_MAX  # a log at this length is continued in a new one holding its last HISTORY_MAX calls
IDLE_RECORDS = 20_000  # a trace not seen for this many records is complete
MAX_BUFFERED = 50_000  # observations held at once, across traces
REMEMBERED_TRACES = 20_000  # assembled traces whose state is kept, for records that arrive late


class History(NamedTuple):
    """An event's earlier calls: `log[start:end]`. A log is only appended to, and once full it is continued in a
    new list, never changed, so the slice stays what it was when the event was made."""

    log: list[dict[str, Any]]
    start: int
    end: int

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.log[self.start : self.end]

    @classmethod
    def of(cls, calls: list[dict[str, Any]]) -> History:
        return cls(calls, 0, len(calls))


NO_HISTORY = History([], 0, 0)


class Judgeable(NamedTuple):
    """An event, and the history the action policy needs to judge it."""

    event: TraceEvent
    history: History


@dataclass(slots=True)
class TraceState:
    """What a trace leaves for its records that arrive later (kept for REMEMBERED_TRACES traces): few objects the
    cyclic collector tracks (dicts of text are not tracked)."""

    span_agents: dict[str, str | None] = field(default_factory=dict)
    span_parents: dict[str, str | None] = field(default_factory=dict)
    approvals: list[tuple[datetime, str | None, str, str]] = field(default_factory=list)  # time, span, tool, who
    history: dict[str | None, list[dict[str, Any]]] = field(default_factory=dict)  # per agent: its current log
    call_ids: set[str] | None = None  # made for the first call id: most traces have none


@dataclass
class Window:
    since: datetime | None = None
    until: datetime | None = None

    def holds(self, time: datetime) -> bool:
        return (self.since is None or time >= self.since) and (self.until is None or time < self.until)


class TraceAssembler:
    """Feed observations in file order; events come out as their traces complete."""

    def __init__(
        self,
        aliases: Mapping[str, str],
        *,
        default_agent: str | None = None,
        window: Window | None = None,
        idle: int = IDLE_RECORDS,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self.aliases = aliases
        self.default_agent = default_agent
        self.window = window or Window()
        self.idle, self.max_buffered = idle, max_buffered
        self.outside_window = 0
        self.by_source: dict[str, int] = {}
        self._buffer: OrderedDict[str, list[Observation]] = OrderedDict()
        self._last_seen: dict[str, int] = {}
        self._buffered = 0
        self._seq = 0
        self._done: OrderedDict[str, TraceState] = OrderedDict()

    def feed(self, observation: Observation) -> Iterator[Judgeable]:
        """Buffer one observation (at the call, not when the answer is iterated); the events of the traces this
        completes. Not a generator: most calls complete none, and one generator per record cost a microsecond."""
        self._seq += 1
        source, buffer = observation.source, self._buffer
        self.by_source[source] = self.by_source.get(source, 0) + 1
        key = trace_key(observation)
        items = buffer.get(key)
        if items is None:
            buffer[key] = [observation]
        else:
            buffer.move_to_end(key)
            items.append(observation)
        self._last_seen[key] = self._seq
        self._buffered += 1
        return self._drain() if self._complete(next(iter(buffer))) else iter(())

    def _complete(self, key: str) -> bool:
        return self._buffered > self.max_buffered or self._seq - self._last_seen[key] >= self.idle

    def _drain(self) -> Iterator[Judgeable]:
        while self._buffer:
            oldest = next(iter(self._buffer))
            if not self._complete(oldest):
                return
            yield from self._assemble(oldest)

    def finish(self) -> Iterator[Judgeable]:
        while self._buffer:
            yield from self._assemble(next(iter(self._buffer)))

    def _assemble(self, key: str) -> Iterator[Judgeable]:
        items = self._buffer.pop(key)
        del self._last_seen[key]
        self._buffered -= len(items)
        state = self._done.pop(key, None) or TraceState()
        yield from assemble_trace(items, state, self)
        for agent, log in state.history.items():  # remembered: the last HISTORY_MAX calls, no more
            if len(log) > HISTORY_MAX:
                state.history[agent] = log[-HISTORY_MAX:]
        self._done[key] = state
        if len(self._done) > REMEMBERED_TRACES:
            self._done.popitem(last=False)


def trace_key(observation: Observation) -> str:
    return observation.trace_id or observation.session_id or f"{observation.file}:{observation.line}"


def assemble_trace(
    observations: Iterable[Observation], state: TraceState, owner: TraceAssembler
) -> Iterator[Judgeable]:
    """Events of one trace (or the next part of one), in time order."""
    ordered = sorted(observations, key=attrgetter("time"))  # stable: file order breaks ties
    span_agents, aliases = state.span_agents, owner.aliases
    results: dict[str, Any] = {}
    for o in ordered:
        span_id = o.span_id
        if span_id is not None:
            if o.agent is not None or span_id not in span_agents:
                span_agents[span_id] = o.agent
            state.span_parents.setdefault(span_id, o.parent_id)
        for approved_tool, who in o.approvals:
            state.approvals.append((o.time, span_id, aliases.get(approved_tool, approved_tool), who))
        if o.call_id is not None and o.result is not None:
            results[o.call_id] = o.result
    window, default_agent = owner.window, owner.default_agent
    windowed = window.since is not None or window.until is not None
    last_approved: list[tuple[str, str]] = []
    last_sorted: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    for o in ordered:
        if o.kind is None:
            continue
        if o.call_id is not None:
            if state.call_ids is None:
                state.call_ids = set()
            elif o.call_id in state.call_ids:
                continue  # a second record of one call (a hook's Pre and Post, say)
            state.call_ids.add(o.call_id)
        if windowed and not window.holds(o.time):
            owner.outside_window += 1
            continue
        agent = o.agent
        if agent is None:
            agent = _agent(o.parent_id, state)
        agent = agent or default_agent
        tool = o.catalog_tool or (aliases.get(o.tool, o.tool) if o.tool is not None else None)
        approvals: tuple[str, ...] = ()
        approvers: tuple[str, ...] = ()
        if state.approvals:
            time, span_id = o.time, o.span_id
            approved = [(t, who) for at, span, t, who in state.approvals if at <= time or span == span_id]
            if approved != last_approved:  # the trace's next calls mostly see the same approvals: sorted once
                last_approved, last_sorted = approved, _sorted_approvals(approved)
            approvals, approvers = last_sorted
        event = trusted_event(
            {
                "kind": o.kind,
                "source": o.source,
                "time": o.time,
                "agent": agent,
                "model": o.model,
                "provider": o.provider,
                "tool": tool,
                "runtime_tool": o.tool if o.tool != tool else None,
                "args": o.args,
                "input_tokens": o.input_tokens,
                "output_tokens": o.output_tokens,
                "cost_usd": o.cost_usd,
                "trace_id": o.trace_id,
                "span_id": o.span_id,
                "session_id": o.session_id,
                "approvals": approvals,
                "approvers": approvers,
                "executed": o.executed,
                "error": o.error,
                "file": o.file,
                "line": o.line,
                "result": o.result if o.result is not None else results.get(o.call_id) if o.call_id else None,
                "messages": o.messages,
            }
        )
        log = state.history.get(agent)
        if log is None:
            yield Judgeable(event, NO_HISTORY)
            log = state.history[agent] = []
        else:
            yield Judgeable(event, History(log, max(0, len(log) - HISTORY_MAX), len(log)))
        if o.kind == "tool_call" and o.executed and o.args is not None:
            if len(log) >= LOG_MAX:  # continue in a new log: the slices earlier events hold stay as they were
                log = state.history[agent] = log[-HISTORY_MAX:]
            log.append({"name": tool, "args": o.args, "allowed": True})


def _sorted_approvals(approved: list[tuple[str, str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The approved tools and their approvers, each sorted and distinct."""
    return tuple(sorted({t for t, _ in approved})), tuple(sorted({w for _, w in approved}))


def _agent(parent: str | None, state: TraceState) -> str | None:
    """The agent of the nearest ancestor span that names one."""
    if parent is None:
        return None
    agent = state.span_agents.get(parent)  # the parent's own, most often: no walk
    if agent is not None:
        return agent
    seen = {parent}
    parent = state.span_parents.get(parent)
    while parent is not None and parent not in seen:
        seen.add(parent)
        agent = state.span_agents.get(parent)
        if agent is not None:
            return agent
        parent = state.span_parents.get(parent)
    return None


__all__ = [
    "HISTORY_MAX",
    "IDLE_RECORDS",
    "NO_HISTORY",
    "History",
    "Judgeable",
    "TraceAssembler",
    "TraceState",
    "Window",
    "assemble_trace",
    "trace_key",
]
