"""The action policy (`data.action.deny`) as the runner asks it during replay, with the bundled catalog data.

Inputs are built as the runner builds them (core/action.py, from guardrail.app.agent_loop): the agent dumped with
every field, the roster's tools and data classes, the call, the task's approvals and the earlier calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from guardrail.adapters.loading import load_yaml, validate
from guardrail.adapters.rego import EngineWorker, PolicyBundle, RegoEngine, load_bundle
from guardrail.core.action import ACTION_QUERY, action_input, violations_of
from guardrail.core.roster import Roster

REPO = Path(__file__).resolve().parents[2]
SEVERITIES = {"critical", "high", "medium", "low", "info"}


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return load_bundle(REPO / "policies", include_tests=False, display_root=REPO)


@pytest.fixture(scope="module")
def engine(bundle: PolicyBundle) -> RegoEngine:
    return RegoEngine(bundle)


@pytest.fixture(scope="module")
def roster() -> Roster:
    return validate(Roster, load_yaml(REPO / "examples" / "roster.yaml"))


def decision_input(
    roster: Roster,
    agent: str,
    tool: str,
    args: dict[str, Any] | None = None,
    approvals: list[str] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    found = roster.agent(agent)
    assert found is not None
    dump = roster.model_dump(mode="json")
    return action_input(
        agent=found.model_dump(mode="json"),
        tools=dump["tools"],
        data_classes=dump["data_classes"],
        call=tool,
        args=args or {},
        approvals=approvals or [],
        history=history or [],
    )


CASES = [
    ("support-triage", "tickets.route", {"queue": "billing"}, [], set()),
    ("support-triage", "payments.refund", {"order_id": "1234", "amount": 40}, [], {"ACT-002"}),
    ("support-triage", "payments.refund", {"order_id": "1234"}, ["payments.refund"], set()),
    ("support-triage", "email.send", {"subject": "Escalation: order 1234"}, [], {"ACT-001"}),
    (
        "refunds",
        "email.send",
        {"to": "pat.lee@example.com", "body": "Your refund is on its way"},
        [],
        {"ACT-002", "ACT-003"},
    ),
    ("refunds", "email.send", {"to": "pat.lee@example.com"}, ["email.send"], set()),
    ("lifecycle", "email.send", {"segment": "lapsed-hikers", "subject": "Trail season"}, ["email.send"], set()),
    ("seo", "cms.draft", {"title": "Best ultralight tents"}, [], set()),
    ("research", "payments.refund", {"order_id": "1"}, [], {"ACT-001", "ACT-002", "ACT-004"}),
    ("content-writer", "cms.publish", {"slug": "tent-guide"}, [], {"ACT-002"}),
]


@pytest.mark.parametrize(("agent", "tool", "args", "approvals", "expected"), CASES)
def test_decisions_for_the_demo_roster(
    engine: RegoEngine,
    roster: Roster,
    agent: str,
    tool: str,
    args: dict[str, Any],
    approvals: list[str],
    expected: set[str],
) -> None:
    answer = engine.query(ACTION_QUERY, decision_input(roster, agent, tool, args, approvals))
    assert isinstance(answer, list) and all(v["call"] == 0 for v in answer)
    assert {v["rule"] for v in answer} == expected
    for violation in violations_of(answer):
        assert set(violation) == {"rule", "msg", "severity"}
        assert violation["severity"] in SEVERITIES
        assert agent in violation["msg"] and tool in violation["msg"]


def test_duplicate_refund_in_one_task_is_refused(engine: RegoEngine, roster: Roster) -> None:
    args = {"order_id": "1234", "amount": 40}
    earlier = [
        {"name": "crm.lookup_order", "args": {"order_id": "1234"}, "allowed": True},
        {"name": "payments.refund", "args": args, "allowed": True},
    ]
    answer = engine.query(
        ACTION_QUERY, decision_input(roster, "support-triage", "payments.refund", args, ["payments.refund"], earlier)
    )
    assert [v["rule"] for v in violations_of(answer)] == ["ACT-005"]


def test_personal_data_is_named_by_kind_never_echoed(engine: RegoEngine, roster: Roster) -> None:
    args = {"to": "pat.lee@example.com", "body": "call +1 415 555 0142, card 4111 1111 1111 1111"}
    answer = engine.query(ACTION_QUERY, decision_input(roster, "refunds", "email.send", args))
    (leak,) = [v for v in violations_of(answer) if v["rule"] == "ACT-003"]
    for kind in ("an email address (to)", "a phone number (body)", "a payment card number (body)"):
        assert kind in leak["msg"]
    assert "pat.lee" not in leak["msg"] and "4111" not in leak["msg"]


def test_the_runner_can_ask_through_the_policy_worker(bundle: PolicyBundle, roster: Roster) -> None:
    with EngineWorker(bundle, timeout_s=10) as worker:
        answer = worker.query(ACTION_QUERY, decision_input(roster, "support-triage", "payments.refund"))
    assert [v["rule"] for v in violations_of(answer)] == ["ACT-002"]
