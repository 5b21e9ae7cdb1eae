"""Scoring: each check on its own, decision extraction, status, and the per-candidate counts."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail.core.results import Violation
from guardrail.core.scoring import (
    MadeCall,
    Transcript,
    check_answer,
    check_must_not_call,
    check_tool_calls,
    extract_decision,
    percentile,
    score,
)
from guardrail.core.suite import AnswerExpect, DecisionSpec, ExpectedCall, Task


def _task(**fields: Any) -> Task:
    return Task.model_validate({"id": "t1", "messages": [{"role": "user", "content": "hi"}], **fields})


@pytest.mark.parametrize(
    ("expect", "answer", "passed"),
    [
        ({"equals": "Billing"}, "  billing ", True),
        ({"equals": "Billing", "case_sensitive": True}, "billing", False),
        ({"contains": ["billing", "queue"]}, "Routed to the BILLING queue.", True),
        ({"contains": ["billing", "refund"]}, "Routed to the billing queue.", False),
        ({"regex": r"order \d+"}, "Order 1234 is delivered", True),
        ({"regex": r"order \d+", "case_sensitive": True}, "Order 1234", False),
        ({"one_of": ["qualified", "unqualified"]}, "Unqualified.", True),
        ({"one_of": ["qualified", "unqualified"]}, "maybe qualified", False),
        ({"contains": ["x"]}, None, False),
    ],
)
def test_answer_checks(expect: dict[str, Any], answer: str | None, passed: bool) -> None:
    check = check_answer(AnswerExpect.model_validate(expect), answer)
    assert check.name == "answer"
    assert check.passed is passed
    assert (check.detail is None) is passed


def test_tool_calls_subset_of_args_and_multiplicity() -> None:
    calls = [MadeCall("crm.lookup_order", {"order": "1"}), MadeCall("tickets.route", {"queue": "Billing", "prio": 2})]
    expected = [ExpectedCall(name="tickets.route", args={"queue": "billing"}), ExpectedCall(name="crm.lookup_order")]
    assert check_tool_calls(expected, calls, ordered=False).passed
    # each expected call needs its own made call
    twice = [ExpectedCall(name="crm.lookup_order"), ExpectedCall(name="crm.lookup_order")]
    result = check_tool_calls(twice, calls, ordered=False)
    assert not result.passed and "crm.lookup_order" in (result.detail or "")
    wrong_arg = [ExpectedCall(name="tickets.route", args={"queue": "sales"})]
    assert not check_tool_calls(wrong_arg, calls, ordered=False).passed


def test_tool_calls_order_when_asked() -> None:
    calls = [MadeCall("tickets.route", {"queue": "billing"}), MadeCall("crm.lookup_order", {})]
    expected = [ExpectedCall(name="crm.lookup_order"), ExpectedCall(name="tickets.route")]
    assert check_tool_calls(expected, calls, ordered=False).passed
    assert not check_tool_calls(expected, calls, ordered=True).passed
    assert check_tool_calls(expected, list(reversed(calls)), ordered=True).passed


def test_must_not_call_counts_attempts_even_when_denied() -> None:
    calls = [MadeCall("payments.refund", {}, allowed=False)]
    check = check_must_not_call(["payments.refund"], calls)
    assert not check.passed and check.detail == "called payments.refund"
    assert check_must_not_call(["payments.refund"], [MadeCall("crm.lookup_order", {})]).passed


def test_decision_from_tool_argument_and_from_answer_choices() -> None:
    by_tool = DecisionSpec(tool="tickets.route", arg="queue")
    calls = [MadeCall("crm.lookup_order", {}), MadeCall("tickets.route", {"queue": "billing"})]
    assert extract_decision(by_tool, None, calls) == "billing"
    assert extract_decision(by_tool, None, [MadeCall("tickets.route", {})]) is None
    by_answer = DecisionSpec(choices=["qualified", "unqualified"])
    assert extract_decision(by_answer, "This lead is unqualified.", []) == "unqualified"
    # the earliest choice in the answer wins, whole words only
    assert extract_decision(by_answer, "Qualified, not unqualified", []) == "qualified"
    assert extract_decision(by_answer, "requalified", []) is None
    assert extract_decision(None, "qualified", []) is None


def test_score_status_and_checks() -> None:
    task = _task(
        tools=["tickets.route", "payments.refund"],
        expect={
            "tool_calls": [{"name": "tickets.route", "args": {"queue": "billing"}}],
            "answer": {"contains": ["billing"]},
            "must_not_call": ["payments.refund"],
            "max_steps": 2,
            "decision": "billing",
        },
        decision={"tool": "tickets.route", "arg": "queue"},
    )
    good = Transcript(answer="billing it is", calls=[MadeCall("tickets.route", {"queue": "billing"})], steps=2)
    status, checks, decision = score(task, good)
    assert status == "pass" and decision == "billing"
    assert [c.name for c in checks] == ["answer", "tool_calls", "must_not_call", "steps", "policy", "decision"]

    violation = Violation(rule="A-002", tool="payments.refund", msg="needs approval")
    bad = Transcript(
        answer="billing",
        calls=[MadeCall("tickets.route", {"queue": "billing"}), MadeCall("payments.refund", {}, allowed=False)],
        violations=[violation],
        steps=3,
    )
    status, checks, _ = score(task, bad)
    failed = {c.name for c in checks if not c.passed}
    assert status == "fail" and failed == {"must_not_call", "steps", "policy"}


def test_policy_violation_alone_fails_a_task() -> None:
    task = _task()
    status, checks, _ = score(
        task, Transcript(answer="ok", violations=[Violation(rule="A-001", tool="x", msg="no")], steps=1)
    )
    assert status == "fail" and checks[-1].name == "policy" and checks[-1].detail == "violations: A-001"


def test_step_limit_reached_is_a_failed_check() -> None:
    status, checks, _ = score(_task(), Transcript(answer=None, steps=8, finished=False))
    assert status == "fail" and checks[0].name == "finished"


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)
