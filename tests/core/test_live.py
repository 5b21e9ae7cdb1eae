"""allow / ask / deny from the action policy's answers, and how the answer reads where it is shown."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail.core.action import violations_of
from guardrail.core.live import LiveDecision, live_decision

ALLOW = {"allow": True, "violations": []}
NEEDS_APPROVAL = {"allow": False, "violations": [{"rule": "ACT-002", "msg": "needs approval", "severity": "high"}]}


@pytest.mark.parametrize(
    ("answer", "approved", "expected"),
    [
        (ALLOW, None, "allow"),
        (NEEDS_APPROVAL, ALLOW, "ask"),  # a person's approval would make it right: ask that person
        (NEEDS_APPROVAL, NEEDS_APPROVAL, "deny"),  # approval changes nothing: no
        (NEEDS_APPROVAL, None, "deny"),
        (NEEDS_APPROVAL, "garbage", "deny"),
        (None, ALLOW, "deny"),  # no decision at all
        ({"allow": "yes"}, ALLOW, "ask"),  # only `true` allows
        ({"allow": True, "violations": [{"rule": "X", "msg": "m"}]}, ALLOW, "ask"),  # a named violation counts
    ],
)
def test_decision_from_the_two_answers(answer: Any, approved: Any, expected: str) -> None:
    assert live_decision(answer, approved, agent="a", tool="t").decision == expected


def test_violations_of_fails_closed_the_way_replay_does() -> None:
    assert violations_of(ALLOW) == []
    assert violations_of(None) == [
        {"rule": "action.undecided", "msg": "the action policy gave no decision", "severity": "high"}
    ]
    assert violations_of({"allow": False}) == [
        {"rule": "action.deny", "msg": "denied by the action policy", "severity": "high"}
    ]
    assert violations_of({"allow": False, "violations": ["not an object", {"msg": "m"}]}) == [
        {"rule": "action.deny", "msg": "m", "severity": "high"}
    ]


def test_explanations_name_the_rules() -> None:
    assert live_decision(ALLOW, None, agent="a", tool="t").explain() == "guardrail: a may call t"
    ask = live_decision(NEEDS_APPROVAL, ALLOW, agent="a", tool="t").explain()
    assert ask == "guardrail: a person must approve this call: ACT-002: needs approval"
    refused = LiveDecision.refuse("hook.tool", "X is not in the catalog").explain()
    assert refused == "guardrail: refused: hook.tool: X is not in the catalog"
