"""The policies over recorded calls: the action policy in batches, then the audit rules over the whole window.

The action policy is the one replay and the hook enforce (`data.action.deny`, same input shape), asked about a
thousand calls at once, so a million calls cost a thousand engine round trips, not a million, and each of its
rules starts a thousand times, not a million. A batch crosses to the policy worker as one JSON text and its answer
comes back as one: each agent's roster facts are serialised once per audit and each earlier call once per batch
(histories are slices of shared logs). The audit rules (`policies/audit/`, AUD-001..) see the window's aggregates
in one query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from guardrail.adapters.rego import UNDEFINED, PolicyEngine, to_json
from guardrail.adapters.rego_meta import RuleMeta
from guardrail.app.agent_loop import AgentContext, Decider
from guardrail.app.audit_stream import Judgeable
from guardrail.core.action import ACTION_QUERY, action_call, action_context, violations_by_call
from guardrail.core.audit import AuditFinding, TraceEvent
from guardrail.core.findings import Location, finding_sets
from guardrail.core.roster import Roster
from guardrail.errors import ConfigError, EngineError

AUDIT_NAMESPACE = "audit"
BATCH_SIZE = 1000
# The embedded engine refuses input nested deeper than 127 levels, and an earlier call's arguments sit 4 levels
# down a batch (logs[log][k].args): arguments deeper than this cannot be judged.
ARGUMENTS_DEPTH = 127 - 4
_SEVERITIES = ("critical", "high", "medium", "low", "info")


def agent_contexts(roster: Roster) -> dict[str, dict[str, Any]]:
    """What the action policy knows about each roster agent: the runner's AgentContext, so replay and audit hand
    the policy the same facts."""
    contexts = (AgentContext.from_roster(roster, a.name) for a in roster.agents)
    return {c.agent["name"]: action_context(c.agent, c.tools, c.data_classes) for c in contexts}


def judged(event: TraceEvent, roster_agents: set[str]) -> bool:
    """Calls the action policy judges: tool calls that ran, by an agent on the roster (AUD-001 covers the rest)."""
    return event.kind == "tool_call" and event.executed and event.agent in roster_agents


def batch_document(items: Sequence[Judgeable], contexts_json: dict[str, str]) -> str:
    """The action policy's input for a batch of recorded calls as JSON text (the shape policies/action/action.rego
    documents).

    Histories become [log, start, end] references: each log an agent's earlier calls in one trace, sent once, cut
    to the range this batch's events need. Log 0 is empty, for events without history."""
    ranges: dict[int, list[Any]] = {}  # id(log) -> [log, lowest start, highest end]
    for _, history in items:
        if history.end > history.start:
            seen = ranges.get(id(history.log))
            if seen is None:
                ranges[id(history.log)] = [history.log, history.start, history.end]
            else:
                seen[1], seen[2] = min(seen[1], history.start), max(seen[2], history.end)
    index = {key: n for n, key in enumerate(ranges, start=1)}
    calls = []
    used: set[str | None] = set()
    for event, history in items:
        used.add(event.agent)
        ref = (0, 0, 0)
        if history.end > history.start:
            low = ranges[id(history.log)][1]
            ref = (index[id(history.log)], history.start - low, history.end - low)
        args = event.args if event.args is not None else {}
        calls.append(action_call(event.agent, event.tool or "", args, event.approvals, ref))
    logs = [[], *(log[low:high] for log, low, high in ranges.values())]
    contexts = ",".join(f"{json.dumps(name)}:{contexts_json[name]}" for name in used if name in contexts_json)
    return f'{{"contexts":{{{contexts}}},"logs":{to_json(logs)},"calls":{to_json(calls)}}}'


class BatchJudge:
    """Action decisions for batches of calls: one engine query per batch.

    No memo: the input of a recorded call holds the agent's earlier calls in its trace, so two calls almost never
    share an input (a memo keyed on it measured a 9% hit rate on the demo and cost more than it saved), and a key
    on less than the whole input would have to know what the policy reads, which an edited policy may change."""

    def __init__(self, engine: Decider, contexts: dict[str, dict[str, Any]]) -> None:
        self.engine, self.contexts = engine, contexts
        self.agents = set(contexts)
        self.contexts_json = {name: to_json(context) for name, context in contexts.items() if name is not None}
        self.queries = self.decided = 0

    def verdicts(self, items: Sequence[Judgeable]) -> list[list[dict[str, str]] | None]:
        """For each event, the action policy's violations, or None for one it does not judge (`judged`)."""
        wanted = [judged(j.event, self.agents) for j in items]
        decided = iter(self.violations([j for j, judge in zip(items, wanted, strict=True) if judge]))
        return [next(decided) if judge else None for judge in wanted]

    def violations(self, items: Sequence[Judgeable]) -> list[list[dict[str, str]]]:
        """The action policy's violations for each call (empty when allowed), in order."""
        if not items:
            return []
        document = batch_document(items, self.contexts_json)
        as_text = getattr(self.engine, "eval_rule_json", None)  # the embedded engine: JSON text in and out
        try:
            if as_text is not None:
                answer = json.loads(as_text(ACTION_QUERY, document))
            else:  # an OPA server
                answer = self.engine.query(ACTION_QUERY, json.loads(document))
        except EngineError:
            too_deep = _too_deep(items)  # looked for only when the engine failed
            if too_deep is None:
                raise
            raise too_deep from None
        self.queries += 1
        self.decided += len(items)
        if not isinstance(answer, list):  # no action policy, or a deny that is no set: one error, not one per call
            got = "no answer" if answer is UNDEFINED or answer == "<undefined>" else f"a {type(answer).__name__}"
            raise EngineError(
                f"{ACTION_QUERY} gave {got}, not a set of violations, for {len(items)} call(s)",
                hint="policies/action/ must define data.action.deny, a set of violations (policies/action/action.rego)",
            )
        return violations_by_call(answer, len(items))  # as the replay and the hook read an answer


def _too_deep(items: Sequence[Judgeable]) -> ConfigError | None:
    """Bad input, named where it was recorded: the first call whose arguments (or an earlier call's in its trace)
    nest deeper than ARGUMENTS_DEPTH."""
    for event, history in items:
        for k, args in enumerate([event.args, *(call.get("args") for call in history.calls)]):
            if (depth := _nesting(args)) > ARGUMENTS_DEPTH:
                whose = "" if k == 0 else " (an earlier call's in this trace)"
                return ConfigError(
                    f"tool arguments nested {depth} levels deep{whose}: the policy engine reads at most "
                    f"{ARGUMENTS_DEPTH}",
                    path=event.file,
                    line=event.line or None,
                    field="arguments",
                )
    return None


def _nesting(value: Any) -> int:
    """How many objects and lists deep `value` goes, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def event_location(event: TraceEvent) -> Location:
    return Location(path=event.file, line=event.line or None)


def where(event: TraceEvent) -> str:
    return f"trace {event.trace_id or '-'}, span {event.span_id or '-'}, {event.time:%Y-%m-%d %H:%M:%SZ}"


def action_finding(event: TraceEvent, violation: dict[str, str], metas: dict[str, RuleMeta]) -> AuditFinding:
    rule = violation["rule"]
    meta = metas.get(rule)
    severity = violation["severity"]  # the violation's own, as the replay and the hook take it (action.rego)
    return AuditFinding(
        rule=rule,
        kind="deny",
        msg=f"{violation['msg'] or rule} ({where(event)})",
        agent=event.agent,
        severity=severity if severity in _SEVERITIES else "high",
        controls=tuple(meta.controls) if meta else (),
        title=meta.title if meta else None,
        policy=meta.package.removeprefix("data.") if meta else "action",
        location=event_location(event),
        trace_id=event.trace_id,
        span_id=event.span_id,
        time=event.time,
        tool=event.tool,
    )


def audit_rule_findings(
    engine: PolicyEngine, window_input: dict[str, Any], metas: dict[str, RuleMeta], where: dict[str, Location]
) -> list[AuditFinding]:
    """Evaluate every deny/warn rule under data.audit (the batch package aside) in one query."""
    value = engine.query(f"data.{AUDIT_NAMESPACE}", window_input)
    if value is UNDEFINED or not isinstance(value, dict):
        return []
    out: list[AuditFinding] = []
    for package, kind, items in finding_sets(value, f"data.{AUDIT_NAMESPACE}", skip=("batch", "lib", "fixtures")):
        for item in items:
            out.append(_audit_finding(item, package, kind, metas, where))
    return out


def _audit_finding(
    item: Any, package: str, kind: str, metas: dict[str, RuleMeta], where: dict[str, Location]
) -> AuditFinding:
    fields = item if isinstance(item, dict) else {"msg": str(item)}
    rule = str(fields.get("rule") or f"{package.removeprefix('data.')}.{kind}")
    meta = metas.get(rule)
    severity = fields.get("severity") or (meta.severity if meta else None)
    trace_id, span_id = fields.get("trace_id"), fields.get("span_id")
    return AuditFinding(
        rule=rule,
        kind=kind,
        msg=str(fields.get("msg") or rule),
        agent=str(fields["agent"]) if fields.get("agent") is not None else None,
        severity=severity if severity in _SEVERITIES else "medium",
        controls=tuple(str(c) for c in (fields.get("controls") or (meta.controls if meta else ()))),
        title=meta.title if meta else None,
        policy=package.removeprefix("data."),
        location=where.get(f"{trace_id}/{span_id}"),
        trace_id=str(trace_id) if trace_id is not None else None,
        span_id=str(span_id) if span_id is not None else None,
    )


__all__ = [
    "BATCH_SIZE",
    "BatchJudge",
    "action_finding",
    "agent_contexts",
    "audit_rule_findings",
    "batch_document",
    "event_location",
    "judged",
]
