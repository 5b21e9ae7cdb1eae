"""The roster diff: every governance-relevant change, each on the line a reviewer must look at."""

from __future__ import annotations

from typing import Any

from guardrail.adapters.roster_file import LoadedRoster, parse_roster
from guardrail.core.diff import CHANGE_KINDS, Change, diff_rosters

BASE = """version: 1
organization: Acme
tools:
  tickets.route: {risk: low, writes: true}
  crm.lookup_order: {risk: low}
  payments.refund: {risk: high, writes: true}
  email.send: {risk: medium, external: true}
data_classes:
  customer_pii: {sensitivity: high}
  order_history: {sensitivity: medium}
agents:
  - name: support-triage
    model: sim/frontier
    tools: [tickets.route, crm.lookup_order]
    data_scopes: [order_history]
    autonomy: human_approval
    approval_required_for: []
    owner: lead@acme.example
    suites: [support-triage]
  - name: refunds
    model: sim/balanced
    tools: [payments.refund]
    autonomy: human_approval
    approval_required_for: [payments.refund]
    owner: cfo@acme.example
  - name: retired
    model: sim/budget
    owner: ops@acme.example
"""


def _pair(
    head_text: str, base_text: str = BASE, catalog: dict[str, Any] | None = None
) -> tuple[list[Change], LoadedRoster, LoadedRoster]:
    base = parse_roster(base_text, "base.yaml")
    head = parse_roster(head_text, "roster.yaml")
    changes = diff_rosters(
        base.roster,
        head.roster,
        base_path="base.yaml",
        head_path="roster.yaml",
        base_lines=base.doc.line_of,
        head_lines=head.doc.line_of,
        catalog=catalog,
    )
    return changes, base, head


def _line(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first `needle` after the first `after`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


def test_identical_rosters_have_no_changes() -> None:
    changes, _, _ = _pair(BASE)
    assert changes == []


def test_owner_and_budget_edits_are_not_governance_changes() -> None:
    head = BASE.replace("owner: lead@acme.example", "owner: new-lead@acme.example\n    budget_usd_per_day: 5")
    changes, _, _ = _pair(head)
    assert changes == []


def test_model_switch_points_at_the_model_line() -> None:
    head = BASE.replace("model: sim/frontier", "model: sim/budget")
    changes, _, _ = _pair(head)
    assert [c.kind for c in changes] == ["model_switch"]
    switch = changes[0]
    assert switch.agent == "support-triage"
    assert switch.details["from"] == "sim/frontier" and switch.details["to"] == "sim/budget"
    assert switch.details["suites"] == ["support-triage"]
    assert switch.key == "model_switch:sim/budget"
    assert switch.location.path == "roster.yaml"
    assert switch.location.line == _line(head, "model: sim/budget")


def test_tool_added_carries_catalog_risk_and_its_list_item_line() -> None:
    head = BASE.replace(
        "tools: [tickets.route, crm.lookup_order]",
        "tools:\n      - tickets.route\n      - crm.lookup_order\n      - payments.refund",
    )
    changes, _, _ = _pair(head)
    assert [c.kind for c in changes] == ["tool_added"]
    added = changes[0]
    assert added.subject == "payments.refund" and added.key == "tool_added:payments.refund"
    assert added.details["risk"] == "high" and added.details["writes"] is True
    assert added.details["checkpoint"] is False
    assert added.location.line == _line(head, "- payments.refund")


def test_removed_checkpoint_is_reported_with_the_tool_still_held() -> None:
    head = BASE.replace("approval_required_for: [payments.refund]", "approval_required_for: []")
    changes, _, _ = _pair(head)
    assert [c.kind for c in changes] == ["approval_removed"]
    removed = changes[0]
    assert removed.agent == "refunds"
    assert removed.details == {"tool": "payments.refund", "risk": "high", "tool_still_held": True}
    assert removed.location.path == "roster.yaml"
    assert removed.location.line == _line(head, "approval_required_for: []", after="name: refunds")


def test_every_kind_of_change_in_one_diff() -> None:
    head = (
        BASE.replace("model: sim/frontier", "model: sim/balanced\n    eval_spec: evals/triage.yaml")
        .replace("tools: [tickets.route, crm.lookup_order]", "tools: [tickets.route, email.send]")
        .replace("data_scopes: [order_history]", "data_scopes: [customer_pii]")
        .replace("approval_required_for: []", "approval_required_for: [email.send]")
        .replace(
            "autonomy: human_approval\n    approval_required_for: [payments.refund]",
            "autonomy: autonomous\n    approval_required_for: [payments.refund]",
        )
        .replace("  - name: retired\n    model: sim/budget\n    owner: ops@acme.example\n", "")
        + "  - name: newcomer\n    model: sim/budget\n    tools: [payments.refund]\n"
        + "    approval_required_for: [payments.refund]\n    suites: [content]\n"
    )
    changes, base, _ = _pair(head)
    kinds = [c.kind for c in changes]
    assert kinds == [
        "model_switch",
        "tool_added",
        "tool_removed",
        "data_scope_added",
        "data_scope_removed",
        "approval_added",
        "eval_spec_changed",
        "autonomy_changed",
        "agent_added",
        "agent_removed",
    ]
    assert set(kinds) | {"approval_removed"} == set(CHANGE_KINDS)
    by_kind = {c.kind: c for c in changes}
    assert by_kind["tool_added"].details["external"] is True
    assert by_kind["tool_removed"].subject == "crm.lookup_order"
    assert by_kind["data_scope_added"].details == {"scope": "customer_pii", "sensitivity": "high"}
    assert by_kind["data_scope_removed"].details["sensitivity"] == "medium"
    assert by_kind["autonomy_changed"].details == {"from": "human_approval", "to": "autonomous"}
    assert by_kind["autonomy_changed"].key == "autonomy_changed:autonomous"
    assert by_kind["eval_spec_changed"].details == {"from": None, "to": "evals/triage.yaml"}
    added = by_kind["agent_added"]
    assert added.details["high_risk_tools"] == ["payments.refund"] and added.details["suites"] == ["content"]
    assert added.location.line == _line(head, "name: newcomer")
    # a removed agent has no line in the new roster: it points at its line in the base
    removed = by_kind["agent_removed"]
    assert removed.location.path == "base.yaml"
    assert removed.location.line == _line(BASE, "name: retired")
    assert removed.location.line == base.doc.line_of(("agents", 2))


def test_describe_reads_as_one_line_per_change() -> None:
    head = BASE.replace("model: sim/frontier", "model: sim/budget")
    changes, _, _ = _pair(head)
    assert changes[0].describe() == "support-triage: model sim/frontier -> sim/budget"


def test_the_catalog_risk_wins_over_a_lower_roster_declaration() -> None:
    """A roster that declares a catalog-high tool `low` cannot hide it from the gate: the risk only goes up."""
    lowered = BASE.replace("payments.refund: {risk: high, writes: true}", "payments.refund: {risk: low}")
    head = lowered.replace("tools: [tickets.route, crm.lookup_order]", "tools: [tickets.route, payments.refund]")
    catalog = {"payments.refund": {"risk": "high", "writes": True}, "tickets.route": {"risk": "medium"}}
    changes, _, _ = _pair(head, lowered, catalog)
    added = next(c for c in changes if c.kind == "tool_added")
    assert added.details["risk"] == "high" and added.details["writes"] is True
    assert added.details["declared_risk"] == "low" and added.details["catalog_risk"] == "high"
    removed = next(c for c in changes if c.kind == "tool_removed")
    assert removed.details["risk"] == "low"  # crm.lookup_order: not in this catalog, the roster's word stands
    # without a catalog the roster's declaration is all there is
    assert next(c for c in _pair(head, lowered)[0] if c.kind == "tool_added").details["risk"] == "low"
