"""allow / ask / deny from the action policy's answers, and how the answer reads where it is shown."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail.core.action import UNDECIDED, violations_by_call, violations_of
from guardrail.core.live import LiveDecision, live_decision

NEEDS_APPROVAL = {"call": 0, "rule": "ACT-002", "msg": "needs approval", "severity": "high"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ([], "allow"),
        ([NEEDS_APPROVAL], "ask"),  # a person's approval would make it right: ask that person
        ([NEEDS_APPROVAL, {**NEEDS_APPROVAL, "call": 1}], "deny"),  # approval changes nothing: no
        (None, "deny"),  # no decision at all: both calls undecided, never cured
        ("<undefined>", "deny"),
        ([{"rule": "X", "msg": "m"}], "deny"),  # a violation naming no call is held against both
        (["garbage"], "deny"),
    ],
)
def test_decision_from_one_answer_about_both_calls(answer: Any, expected: str) -> None:
    now, if_approved = violations_by_call(answer, 2)
    assert live_decision(now, if_approved, agent="a", tool="t").decision == expected


def test_violations_fail_closed_the_way_replay_reads_them() -> None:
    assert violations_of([]) == []
    assert violations_of(None) == [UNDECIDED]
    assert violations_of({"allow": True}) == [UNDECIDED]  # not a set of violations
    named_none = violations_of([{"rule": "ACT-001", "msg": "m"}])
    assert named_none == [
        {"rule": "ACT-001", "msg": "m (the violation names no call: held against every call)", "severity": "high"}
    ]
    out_of_range = {"rule": "ACT-002", "msg": "needs approval (the violation names no call: held against every call)"}
    held = {**out_of_range, "severity": "high"}
    assert violations_by_call([{**NEEDS_APPROVAL, "call": 5}, {**NEEDS_APPROVAL, "call": True}], 2) == [[held] * 2] * 2
    needs = {"rule": "ACT-002", "msg": "needs approval", "severity": "high"}
    assert violations_by_call([NEEDS_APPROVAL], 2) == [[needs], []]
    assert violations_of(["not an object"])[0]["rule"] == "action.deny"


def test_explanations_name_the_rules() -> None:
    assert live_decision([], [], agent="a", tool="t").explain() == "guardrail: a may call t"
    now, if_approved = violations_by_call([NEEDS_APPROVAL], 2)
    ask = live_decision(now, if_approved, agent="a", tool="t").explain()
    assert ask == "guardrail: a person must approve this call: ACT-002: needs approval"
    refused = LiveDecision.refuse("hook.tool", "X is not in the catalog").explain()
    assert refused == "guardrail: refused: hook.tool: X is not in the catalog"
