"""Replay one task on one candidate: the agent loop, with the roster's access limits enforced on every tool
call.

The model sees the task's messages and tools; each tool call it makes is first put to the action policy
(`data.action.deny`, core/action.py). An allowed call gets the task's stubbed result, a denied one is recorded as a
violation and answered with a denial, as a guarded deployment would. The loop ends when the model answers
without calling a tool, at the step limit, or when a provider error survives the retries (an ERROR row, never
a FAIL).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from guardrail.core.action import ACTION_QUERY, action_input, violations_of
from guardrail.core.llm import CallError, CallResult, Completion, CompletionRequest, is_simulated
from guardrail.core.redact import Redactor
from guardrail.core.results import Check, ResultRow, Status, Violation
from guardrail.core.roster import Roster
from guardrail.core.scoring import MadeCall, Transcript, score
from guardrail.core.suite import Candidate, Task
from guardrail.errors import EngineError

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


class Completer(Protocol):
    """What the loop needs from the provider layer (ModelClient): errors come back as data."""

    async def complete(self, request: CompletionRequest) -> CallResult: ...


class Decider(Protocol):
    """What the loop needs from a policy engine (EngineWorker): synchronous, called from one thread only."""

    def query(self, query: str, input: Any = None) -> Any: ...


class MemoDecider:
    """Remembers decisions by their exact input: a decision is a pure function of (input, policy data), and the
    same call with the same history recurs across candidates and repeats. Each miss costs a round trip to the
    policy worker; a hit costs one JSON encoding. Bounded, so a 20,000-task run keeps flat memory."""

    def __init__(self, inner: Decider, *, size: int = 20_000) -> None:
        self.inner = inner
        self.size = size
        self.hits = self.misses = 0
        self._memo: OrderedDict[str, Any] = OrderedDict()

    def query(self, query: str, input: Any = None) -> Any:
        key = query + "\0" + json.dumps(input, sort_keys=True, separators=(",", ":"), default=str)
        if key in self._memo:
            self.hits += 1
            self._memo.move_to_end(key)
            return self._memo[key]
        self.misses += 1
        value = self.inner.query(query, input)
        self._memo[key] = value
        if len(self._memo) > self.size:
            self._memo.popitem(last=False)
        return value


@dataclass(frozen=True)
class AgentContext:
    """The roster facts the action policy judges a call against, dumped once per agent."""

    agent: dict[str, Any]
    tools: dict[str, Any]
    data_classes: dict[str, Any]

    @classmethod
    def from_roster(cls, roster: Roster, agent_name: str) -> AgentContext:
        agent = roster.agent(agent_name)
        if agent is None:  # the loader checked names; this is a harness bug
            raise EngineError(f"agent {agent_name!r} is not in the roster")
        dump = roster.model_dump(mode="json")
        return cls(agent=agent.model_dump(mode="json"), tools=dump["tools"], data_classes=dump["data_classes"])


@dataclass
class LoopSettings:
    run_id: str
    max_steps: int = 8
    timeout_s: float = 60.0
    seed: int = 0
    redactor: Redactor | None = None  # applied to each outcome before it is journaled (app/redaction.py)


@dataclass
class TaskOutcome:
    row: ResultRow
    transcript: dict[str, Any] = field(default_factory=dict)


class ToolNames:
    """Provider-safe tool names (OpenAI, Anthropic: [A-Za-z0-9_-] only), mapped back to catalog names."""

    def __init__(self, names: Sequence[str], *, keep: bool) -> None:
        self.to_wire: dict[str, str] = {}
        self.from_wire: dict[str, str] = {}
        for name in names:
            wire = name if keep else _SAFE_NAME.sub("_", name)
            while wire in self.from_wire and self.from_wire[wire] != name:
                wire += "_"
            self.to_wire[name] = wire
            self.from_wire[wire] = name
            self.from_wire.setdefault(name, name)

    def catalog(self, wire: str) -> str:
        return self.from_wire.get(wire, wire)


def decide(
    policy: Decider, context: AgentContext, task: Task, call: MadeCall, history: list[MadeCall]
) -> list[Violation]:
    """Ask the action policy about one call; the violations it names (empty when allowed)."""
    decision = policy.query(
        ACTION_QUERY,
        action_input(
            agent=context.agent,
            tools=context.tools,
            data_classes=context.data_classes,
            call=call.name,
            args=call.args,
            approvals=task.approvals,
            history=[{"name": c.name, "args": c.args, "allowed": c.allowed} for c in history],
        ),
    )
    return [Violation(tool=call.name, step=call.step, **v) for v in violations_of(decision)]


def _assistant_message(completion: Completion, names: ToolNames) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.content}
    if completion.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": names.to_wire.get(call.name, call.name),
                    "arguments": json.dumps(call.arguments),
                },
            }
            for call in completion.tool_calls
        ]
    return message


def first_request(
    task: Task,
    tools: list[dict[str, Any]],
    candidate: Candidate,
    repeat: int,
    settings: LoopSettings,
    sim_task: dict[str, Any] | None = None,
) -> tuple[ToolNames, CompletionRequest]:
    """The tool names and the first request `run_task` sends (later steps add to its messages); the runner also
    asks the response cache about it to plan a run before replaying it."""
    simulated = is_simulated(candidate.id)
    names = ToolNames([t["function"]["name"] for t in tools], keep=simulated)
    wire_tools = (
        tools
        if simulated
        else [{**t, "function": {**t["function"], "name": names.to_wire[t["function"]["name"]]}} for t in tools]
    )
    sim = (
        {"task": sim_task if sim_task is not None else task.model_dump(mode="json"), "seed": settings.seed}
        if simulated
        else None
    )
    request = CompletionRequest(
        model=candidate.id,
        messages=[dict(m) for m in task.messages],
        tools=wire_tools,
        params=candidate.params,
        repeat=repeat,
        timeout_s=settings.timeout_s,
        sim=sim,
    )
    return names, request


@dataclass
class _Tally:
    """What a task's model calls took: requests sent (retries included), cache hits, tokens, dollars, seconds."""

    model_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    simulated: bool = False

    def add(self, result: CallResult) -> None:
        if isinstance(result, CallError):
            self.model_calls += result.attempts  # every request it took, retries included
            return
        if result.cached:
            self.cache_hits += 1
        else:
            self.model_calls += result.attempts
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens
        self.cost_usd += result.cost_usd
        self.latency_s += result.latency_s
        self.simulated = self.simulated or result.simulated


def _answer_call(
    call: MadeCall, task: Task, policy: Decider, context: AgentContext, transcript: Transcript
) -> tuple[MadeCall, Any]:
    """The call as it went (denied or not) and the tool message the model gets back: the policy's denial, an
    unknown tool, or the task's stubbed result. A policy that fails to decide stops the run (EngineError, exit 3):
    the gate fails closed."""
    violations = decide(policy, context, task, call, transcript.calls)
    if violations:
        transcript.violations.extend(violations)
        denied = MadeCall(name=call.name, args=call.args, allowed=False, step=call.step)
        return denied, {"error": "denied by policy", "rule": violations[0].rule, "reason": violations[0].msg}
    if call.name not in task.tools:
        return call, {"error": f"unknown tool {call.name!r}"}
    return call, task.result_for(call.name, call.args)


async def run_task(
    *,
    task: Task,
    suite: str,
    tools: list[dict[str, Any]],
    candidate: Candidate,
    repeat: int,
    client: Completer,
    policy: Decider,
    context: AgentContext,
    settings: LoopSettings,
    sim_task: dict[str, Any] | None = None,
) -> TaskOutcome:
    """Replay `task` as `context.agent` on `candidate`; score it; return its row and transcript."""
    names, first = first_request(task, tools, candidate, repeat, settings, sim_task)
    messages: list[dict[str, Any]] = list(first.messages)
    transcript = Transcript(finished=False)
    tally = _Tally(simulated=is_simulated(candidate.id))
    error: CallError | None = None

    for step in range(1, settings.max_steps + 1):
        request = first if step == 1 else first.model_copy(update={"messages": list(messages)})
        result = await client.complete(request)
        tally.add(result)
        if isinstance(result, CallError):
            error = result
            break
        transcript.steps = step
        messages.append(_assistant_message(result, names))
        if not result.tool_calls:
            transcript.answer = result.content
            transcript.finished = True
            break
        for tool_call in result.tool_calls:
            made = MadeCall(name=names.catalog(tool_call.name), args=dict(tool_call.arguments), step=step)
            call, content = _answer_call(made, task, policy, context, transcript)
            transcript.calls.append(call)
            messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": json.dumps(content)})
    return _outcome(task, suite, candidate.id, repeat, settings, transcript, messages, tally, error)


def _outcome(
    task: Task,
    suite: str,
    candidate: str,
    repeat: int,
    settings: LoopSettings,
    transcript: Transcript,
    messages: list[dict[str, Any]],
    tally: _Tally,
    error: CallError | None,
) -> TaskOutcome:
    """The scored row and the transcript record of a replayed task (an error row when a call failed)."""
    checks: list[Check] = []
    decision: str | None = None
    status: Status = "error"
    if error is None:
        status, checks, decision = score(task, transcript)
    cf = task.counterfactual
    row = ResultRow(
        run_id=settings.run_id,
        task_id=task.id,
        suite=suite,
        candidate=candidate,
        repeat=repeat,
        status=status,
        checks=checks,
        decision=decision,
        favourable=task.decision.favourable if task.decision else None,
        slice=task.slice,
        cf_group=cf.group if cf else None,
        cf_attribute=cf.attribute if cf else None,
        cf_value=cf.value if cf else None,
        template=task.template,
        violations=transcript.violations,
        steps=transcript.steps,
        error=error.message if error else None,
        error_kind=error.kind if error else None,
        finished_at=datetime.now(UTC),
        **asdict(tally),
    )
    record = {
        "run_id": settings.run_id,
        "suite": suite,
        "task_id": task.id,
        "candidate": candidate,
        "repeat": repeat,
        "status": status,
        "simulated": tally.simulated,
        "messages": messages,
        "calls": [{"name": c.name, "args": c.args, "allowed": c.allowed, "step": c.step} for c in transcript.calls],
        "violations": [v.model_dump() for v in transcript.violations],
        "answer": transcript.answer,
        "error": row.error,
    }
    return TaskOutcome(row=row, transcript=record)


__all__ = [
    "ACTION_QUERY",
    "AgentContext",
    "Completer",
    "Decider",
    "LoopSettings",
    "MemoDecider",
    "TaskOutcome",
    "ToolNames",
    "decide",
    "first_request",
    "run_task",
]
