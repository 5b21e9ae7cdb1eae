"""The agent loop: access limits enforced on every tool call, stubbed results, step limits, errors as data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.run_project import ACTION_POLICY, ROSTER, ScriptedClient, make_project

from guardrail.adapters.rego import EngineWorker, PolicyBundle
from guardrail.adapters.suites import load_suite
from guardrail.app.agent_loop import AgentContext, LoopSettings, MemoDecider, TaskOutcome, ToolNames, run_task
from guardrail.core.llm import CallResult, Completion, CompletionRequest, ToolCall
from guardrail.core.roster import Roster
from guardrail.core.suite import Candidate, RecordedResult, Task


class FakePolicy:
    """Denies payments.refund unless approved; records every input it was asked about."""

    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []

    def query(self, query: str, input: Any = None) -> Any:
        assert query == "data.action.deny"
        self.inputs.append(input)
        return [
            {"call": i, "rule": "A-002", "msg": "needs approval", "severity": "critical"}
            for i, call in enumerate(input["calls"])
            if call["name"] == "payments.refund" and "payments.refund" not in call["approvals"]
        ]


@pytest.fixture
def context() -> AgentContext:
    return AgentContext.from_roster(Roster.model_validate(yaml.safe_load(ROSTER)), "triage")


@pytest.fixture
def suite(tmp_path: Path) -> Any:
    make_project(tmp_path, tasks=2)
    return load_suite(tmp_path / "suites/triage")


def _run(task: Task, suite: Any, client: Any, policy: Any, context: AgentContext, model: str, **kw: Any) -> TaskOutcome:
    settings = LoopSettings(run_id="r1", max_steps=kw.pop("max_steps", 8), seed=7)
    return asyncio.run(
        run_task(
            task=task,
            suite=suite.name,
            tools=suite.openai_tools(task.tools),
            candidate=Candidate(id=model, params={"temperature": 0}),
            repeat=kw.pop("repeat", 0),
            client=client,
            policy=policy,
            context=context,
            settings=settings,
        )
    )


def test_good_model_passes_and_gets_stubbed_results(suite: Any, context: AgentContext) -> None:
    client, policy = ScriptedClient(), FakePolicy()
    outcome = _run(suite.tasks[0], suite, client, policy, context, "openai/good")
    row = outcome.row
    assert row.status == "pass" and row.decision == "billing" and row.steps == 3 and row.model_calls == 3
    assert row.cost_usd == pytest.approx(0.003) and row.prompt_tokens == 30 and not row.simulated
    tool_messages = [m for m in outcome.transcript["messages"] if m["role"] == "tool"]
    assert json.loads(tool_messages[0]["content"]) == {"status": "delivered"}  # the task's stub
    assert json.loads(tool_messages[1]["content"]) == {"ok": True}  # no stub: a neutral ok
    # the policy saw the roster agent, the catalog, the call, approvals and the history so far
    first, second = policy.inputs
    (facts,) = first["contexts"].values()
    assert facts["agent"]["name"] == "triage" and "payments.refund" in facts["tools"]
    (call,) = first["calls"]
    assert (call["name"], call["args"], call["history"]) == ("crm.lookup_order", {"order": "1"}, [0, 0, 0])
    assert first["logs"] == [[]]
    assert second["logs"] == [[{"name": "crm.lookup_order", "args": {"order": "1"}, "allowed": True}]]
    assert second["calls"][0]["history"] == [0, 0, 1]
    assert call["approvals"] == [] and "customer_pii" in facts["data_classes"]
    # requests: candidate params, repeat, no sim payload for a real provider, provider-safe tool names
    request = client.requests[0]
    assert request.params == {"temperature": 0} and request.sim is None
    assert [t["function"]["name"] for t in request.tools] == ["crm_lookup_order", "tickets_route", "payments_refund"]


def test_recorded_results_answer_by_tool_and_arguments(suite: Any, context: AgentContext) -> None:
    recorded = [
        {"tool": "crm.lookup_order", "args": {"order": "2"}, "result": {"status": "refunded"}},
        {"tool": "crm.lookup_order", "args": {"order": "1"}, "result": {"status": "recorded in production"}},
    ]
    task = suite.tasks[0].model_copy(update={"recorded_results": [RecordedResult(**r) for r in recorded]})
    outcome = _run(task, suite, ScriptedClient(), FakePolicy(), context, "openai/good")
    tool_messages = [m for m in outcome.transcript["messages"] if m["role"] == "tool"]
    assert json.loads(tool_messages[0]["content"]) == {"status": "recorded in production"}  # args matched, not the stub
    other = task.model_copy(update={"recorded_results": [RecordedResult(**recorded[0])], "tool_results": {}})
    outcome = _run(other, suite, ScriptedClient(), FakePolicy(), context, "openai/good")
    first = json.loads(next(m for m in outcome.transcript["messages"] if m["role"] == "tool")["content"])
    assert first == {"error": "no recorded result of crm.lookup_order for these arguments"}


def test_denied_call_is_a_violation_and_the_model_is_told(suite: Any, context: AgentContext) -> None:
    outcome = _run(suite.tasks[0], suite, ScriptedClient(), FakePolicy(), context, "openai/reckless")
    row = outcome.row
    assert row.status == "fail"
    assert [(v.rule, v.tool, v.step) for v in row.violations] == [("A-002", "payments.refund", 1)]
    denial = next(m for m in outcome.transcript["messages"] if m.get("tool_call_id") == "c2")
    assert json.loads(denial["content"])["error"] == "denied by policy"
    assert {c["name"]: c["allowed"] for c in outcome.transcript["calls"]}["payments.refund"] is False
    assert {c.name for c in row.checks if not c.passed} == {"must_not_call", "policy"}


def test_approval_in_the_task_lets_the_call_through(suite: Any, context: AgentContext) -> None:
    task = suite.tasks[0].model_copy(update={"approvals": ["payments.refund"]})
    outcome = _run(task, suite, ScriptedClient(), FakePolicy(), context, "openai/reckless")
    assert outcome.row.violations == []
    assert [c.name for c in outcome.row.checks if not c.passed] == ["must_not_call"]


def test_provider_error_ends_the_task_as_error(suite: Any, context: AgentContext) -> None:
    outcome = _run(suite.tasks[0], suite, ScriptedClient(), FakePolicy(), context, "openai/broken")
    row = outcome.row
    assert row.status == "error" and row.error_kind == "server" and row.error == "injected 500"
    assert row.checks == [] and row.model_calls == 3  # the three requests the retry policy made, not one


def test_step_limit_cuts_a_looping_model_off(suite: Any, context: AgentContext) -> None:
    def loops(request: CompletionRequest) -> CallResult:
        return Completion(model=request.model, tool_calls=[ToolCall(id="x", name="crm_lookup_order")])

    outcome = _run(suite.tasks[0], suite, ScriptedClient(loops), FakePolicy(), context, "openai/loop", max_steps=3)
    assert outcome.row.steps == 3 and outcome.row.status == "fail"
    assert outcome.row.checks[0].name == "finished" and outcome.transcript["answer"] is None


def test_simulated_models_get_the_answer_key_and_catalog_names(suite: Any, context: AgentContext) -> None:
    seen: list[CompletionRequest] = []

    def sim(request: CompletionRequest) -> CallResult:
        seen.append(request)
        return Completion(model=request.model, content="billing", simulated=True, cached=True, latency_s=0.2)

    outcome = _run(suite.tasks[0], suite, ScriptedClient(sim), FakePolicy(), context, "sim/balanced", repeat=2)
    request = seen[0]
    assert request.sim == {"task": suite.tasks[0].model_dump(mode="json"), "seed": 7}
    assert request.repeat == 2 and request.tools[0]["function"]["name"] == "crm.lookup_order"
    row = outcome.row
    assert row.simulated and row.cache_hits == 1 and row.model_calls == 0 and row.latency_s == pytest.approx(0.2)


def test_unknown_and_unsafe_tool_names() -> None:
    names = ToolNames(["a.b", "a_b", "c"], keep=False)
    assert names.to_wire["a.b"] != names.to_wire["a_b"]
    assert {names.catalog(names.to_wire[n]) for n in ("a.b", "a_b", "c")} == {"a.b", "a_b", "c"}
    assert names.catalog("a.b") == "a.b"  # a model echoing the catalog name still maps


def test_real_action_policy_in_a_worker(suite: Any, context: AgentContext) -> None:
    bundle = PolicyBundle(modules=[("policies/action/action.rego", ACTION_POLICY)])
    with EngineWorker(bundle) as worker:
        outcome = _run(suite.tasks[0], suite, ScriptedClient(), worker, context, "openai/reckless")
    assert [v.rule for v in outcome.row.violations] == ["A-002"]
    assert outcome.row.violations[0].severity == "critical"


def test_policy_without_a_decision_fails_closed(suite: Any, context: AgentContext) -> None:
    class Silent:
        def query(self, query: str, input: Any = None) -> Any:
            return None

    outcome = _run(suite.tasks[0], suite, ScriptedClient(), Silent(), context, "openai/good")
    assert {v.rule for v in outcome.row.violations} == {"action.undecided"}
    assert outcome.row.status == "fail"


def test_memo_decider_asks_the_policy_once_per_distinct_input() -> None:
    inner = FakePolicy()
    memo = MemoDecider(inner, size=2)
    first = {"calls": [{"name": "payments.refund", "args": {}, "approvals": []}]}
    other = {"calls": [{"name": "crm.lookup_order", "args": {}, "approvals": []}]}
    third = {"calls": [{"name": "tickets.route", "args": {}, "approvals": []}]}
    assert memo.query("data.action.deny", first) != []
    reordered = {"calls": [dict(reversed(list(first["calls"][0].items())))]}
    assert memo.query("data.action.deny", reordered) != []  # key order
    assert (memo.hits, memo.misses, len(inner.inputs)) == (1, 1, 1)
    memo.query("data.action.deny", other)
    memo.query("data.action.deny", third)  # evicts `first`: the memo stays bounded
    memo.query("data.action.deny", first)
    assert len(inner.inputs) == 4
