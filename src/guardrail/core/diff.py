"""What a roster change does, as records the gate policy can judge: the roster diff.

Pure: two validated rosters in, a list of `Change` out. Each change carries the roster line a reviewer must
look at (the new roster's line of the agent or the changed field; for a removed agent, its line in the base),
so CI annotations land on the right line. Lines come in through `LineOf` callables so this module stays free
of file I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core.findings import Location
from guardrail.core.roster import Agent, Roster

ChangeKind = Literal[
    "agent_added",
    "agent_removed",
    "model_switch",
    "tool_added",
    "tool_removed",
    "data_scope_added",
    "data_scope_removed",
    "autonomy_changed",
    "approval_added",
    "approval_removed",
]
CHANGE_KINDS: tuple[str, ...] = ChangeKind.__args__  # type: ignore[attr-defined]

LineOf = Callable[[tuple[str | int, ...]], int | None]


class Change(BaseModel):
    """One governance-relevant difference for one agent.

    `subject` names what changed (the tool, the data scope, the new model, the new autonomy level, or the
    agent), so `key` (`tool_added:payments.refund`) is what an approval record names.
    """

    model_config = ConfigDict(frozen=True)

    kind: ChangeKind
    agent: str
    subject: str
    details: dict[str, Any] = Field(default_factory=dict)
    location: Location

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def describe(self) -> str:
        """One line a reviewer reads."""
        d = self.details
        text = {
            "agent_added": f"agent added on {d.get('model')}",
            "agent_removed": f"agent removed (was on {d.get('model')})",
            "model_switch": f"model {d.get('from')} -> {d.get('to')}",
            "tool_added": f"tool added: {self.subject} (risk {d.get('risk')})",
            "tool_removed": f"tool removed: {self.subject}",
            "data_scope_added": f"data scope added: {self.subject} (sensitivity {d.get('sensitivity')})",
            "data_scope_removed": f"data scope removed: {self.subject}",
            "autonomy_changed": f"autonomy {d.get('from')} -> {d.get('to')}",
            "approval_added": f"human approval now required for {self.subject}",
            "approval_removed": f"human approval no longer required for {self.subject}",
        }[self.kind]
        return f"{self.agent}: {text}"


class _Side:
    """One roster plus where its lines are."""

    def __init__(self, roster: Roster, path: str, line_of: LineOf) -> None:
        self.roster, self.path, self.line_of = roster, path, line_of
        self.index = {agent.name: i for i, agent in enumerate(roster.agents)}

    def at(self, agent: str, *fields: str | int) -> Location:
        """The deepest known line of an agent's field (a missing field falls back to the agent's line)."""
        return Location(path=self.path, line=self.line_of(("agents", self.index[agent], *fields)))

    def risk(self, tool: str) -> str:
        entry = self.roster.tools.get(tool)
        return entry.risk if entry is not None else "unknown"

    def tool_details(self, tool: str) -> dict[str, Any]:
        entry = self.roster.tools.get(tool)
        if entry is None:
            return {"tool": tool, "risk": "unknown", "writes": False, "external": False}
        return {"tool": tool, "risk": entry.risk, "writes": entry.writes, "external": entry.external}

    def sensitivity(self, scope: str) -> str:
        entry = self.roster.data_classes.get(scope)
        return entry.sensitivity if entry is not None else "unknown"


def _added(before: list[str], after: list[str]) -> list[tuple[int, str]]:
    old = set(before)
    return [(pos, item) for pos, item in enumerate(after) if item not in old]


def _removed(before: list[str], after: list[str]) -> list[str]:
    new = set(after)
    return [item for item in before if item not in new]


def _agent_changes(old: Agent, new: Agent, base: _Side, head: _Side) -> list[Change]:
    name = new.name
    out: list[Change] = []
    if old.model != new.model:
        out.append(
            Change(
                kind="model_switch",
                agent=name,
                subject=new.model,
                details={"from": old.model, "to": new.model, "suites": list(new.suites), "tier": new.tier},
                location=head.at(name, "model"),
            )
        )
    for pos, tool in _added(old.tools, new.tools):
        details = head.tool_details(tool)
        details["checkpoint"] = tool in new.approval_required_for
        out.append(
            Change(
                kind="tool_added",
                agent=name,
                subject=tool,
                details=details,
                location=head.at(name, "tools", pos),
            )
        )
    for tool in _removed(old.tools, new.tools):
        out.append(
            Change(
                kind="tool_removed",
                agent=name,
                subject=tool,
                details=base.tool_details(tool),
                location=head.at(name, "tools"),
            )
        )
    for pos, scope in _added(old.data_scopes, new.data_scopes):
        out.append(
            Change(
                kind="data_scope_added",
                agent=name,
                subject=scope,
                details={"scope": scope, "sensitivity": head.sensitivity(scope)},
                location=head.at(name, "data_scopes", pos),
            )
        )
    for scope in _removed(old.data_scopes, new.data_scopes):
        out.append(
            Change(
                kind="data_scope_removed",
                agent=name,
                subject=scope,
                details={"scope": scope, "sensitivity": base.sensitivity(scope)},
                location=head.at(name, "data_scopes"),
            )
        )
    if old.autonomy != new.autonomy:
        out.append(
            Change(
                kind="autonomy_changed",
                agent=name,
                subject=str(new.autonomy),
                details={"from": str(old.autonomy), "to": str(new.autonomy)},
                location=head.at(name, "autonomy"),
            )
        )
    for pos, tool in _added(old.approval_required_for, new.approval_required_for):
        out.append(
            Change(
                kind="approval_added",
                agent=name,
                subject=tool,
                details={"tool": tool, "risk": head.risk(tool)},
                location=head.at(name, "approval_required_for", pos),
            )
        )
    for tool in _removed(old.approval_required_for, new.approval_required_for):
        # the checkpoint is gone but the tool may still be held: that is the dangerous case
        out.append(
            Change(
                kind="approval_removed",
                agent=name,
                subject=tool,
                details={"tool": tool, "risk": base.risk(tool), "tool_still_held": tool in new.tools},
                location=head.at(name, "approval_required_for"),
            )
        )
    return out


def diff_rosters(
    base: Roster,
    head: Roster,
    *,
    base_path: str,
    head_path: str,
    base_lines: LineOf,
    head_lines: LineOf,
) -> list[Change]:
    """Changes from `base` to `head` in the head roster's agent order; removed agents last, in base order."""
    old, new = _Side(base, base_path, base_lines), _Side(head, head_path, head_lines)
    before = {agent.name: agent for agent in base.agents}
    changes: list[Change] = []
    for agent in head.agents:
        previous = before.get(agent.name)
        if previous is None:
            changes.append(
                Change(
                    kind="agent_added",
                    agent=agent.name,
                    subject=agent.name,
                    details={
                        "model": agent.model,
                        "tier": agent.tier,
                        "tools": list(agent.tools),
                        "high_risk_tools": [t for t in agent.tools if new.risk(t) == "high"],
                        "autonomy": str(agent.autonomy),
                        "suites": list(agent.suites),
                    },
                    location=new.at(agent.name),
                )
            )
        else:
            changes.extend(_agent_changes(previous, agent, old, new))
    present = {agent.name for agent in head.agents}
    for agent in base.agents:
        if agent.name not in present:
            changes.append(
                Change(
                    kind="agent_removed",
                    agent=agent.name,
                    subject=agent.name,
                    details={"model": agent.model, "tools": list(agent.tools)},
                    location=old.at(agent.name),
                )
            )
    return changes


__all__ = ["CHANGE_KINDS", "Change", "ChangeKind", "LineOf", "diff_rosters"]
