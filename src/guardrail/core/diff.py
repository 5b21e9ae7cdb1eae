"""What a roster change does, as records the gate policy can judge: the roster diff.

Pure: two validated rosters in, a list of `Change` out. Each change carries the roster line a reviewer must
look at (the new roster's line of the agent or the changed field; for a removed agent, its line in the base),
so CI annotations land on the right line. Lines come in through `LineOf` callables so this module stays free
of file I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    "eval_spec_changed",
]
CHANGE_KINDS: tuple[str, ...] = ChangeKind.__args__  # type: ignore[attr-defined]

LineOf = Callable[[tuple[str | int, ...]], int | None]
PathOf = Callable[[tuple[str | int, ...]], str]  # for a roster read from several files (Claude Code subagents)


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
            "eval_spec_changed": f"official eval spec {d.get('from')} -> {d.get('to')}",
        }[self.kind]
        return f"{self.agent}: {text}"


RISKS = ("low", "medium", "high")


class _Side:
    """One roster plus where its lines are, judged against the governance catalog (`data.catalog.tools`): the
    catalog is the one source of tool risk, and a roster entry can only raise it, never lower it."""

    def __init__(
        self, roster: Roster, path: str, line_of: LineOf, catalog: Mapping[str, Any], path_of: PathOf | None = None
    ) -> None:
        self.roster, self.path, self.line_of, self.catalog, self.path_of = roster, path, line_of, catalog, path_of
        self.index = {agent.name: i for i, agent in enumerate(roster.agents)}

    def at(self, agent: str, *fields: str | int) -> Location:
        """The deepest known line of an agent's field (a missing field falls back to the agent's line)."""
        loc = ("agents", self.index[agent], *fields)
        return Location(path=self.path_of(loc) if self.path_of else self.path, line=self.line_of(loc))

    def _entries(self, tool: str) -> list[Mapping[str, Any]]:
        declared = self.roster.tools.get(tool)
        listed = self.catalog.get(tool)
        out: list[Mapping[str, Any]] = [declared.model_dump()] if declared is not None else []
        return out + ([listed] if isinstance(listed, Mapping) else [])

    def risk(self, tool: str) -> str:
        """The higher of the roster's and the catalog's risk; `unknown` when neither knows the tool."""
        risks = [str(e.get("risk", "low")) for e in self._entries(tool)]
        known = [r for r in risks if r in RISKS]
        return max(known, key=RISKS.index) if known else "unknown"

    def tool_details(self, tool: str) -> dict[str, Any]:
        entries = self._entries(tool)
        declared = self.roster.tools.get(tool)
        listed = self.catalog.get(tool)
        return {
            "tool": tool,
            "risk": self.risk(tool),
            "declared_risk": declared.risk if declared is not None else None,
            "catalog_risk": listed.get("risk") if isinstance(listed, Mapping) else None,
            "writes": any(e.get("writes") is True for e in entries),
            "external": any(e.get("external") is True for e in entries),
        }

    def sensitivity(self, scope: str) -> str:
        entry = self.roster.data_classes.get(scope)
        return entry.sensitivity if entry is not None else "unknown"


Details = Callable[[Agent, Agent], dict[str, Any]]
ItemDetails = Callable[[_Side, Agent, str], dict[str, Any]]


@dataclass(frozen=True)
class _Scalar:
    """An agent field whose new value is the change (`model_switch`, `autonomy_changed`)."""

    field: str
    kind: ChangeKind
    details: Details

    def changes(self, old: Agent, new: Agent, base: _Side, head: _Side) -> list[Change]:
        before, after = getattr(old, self.field), getattr(new, self.field)
        if before == after:
            return []
        subject = "none" if after is None else str(after)
        at = head.at(new.name, self.field)
        return [Change(kind=self.kind, agent=new.name, subject=subject, details=self.details(old, new), location=at)]


@dataclass(frozen=True)
class _List:
    """An agent's list field: each item added (at its own line) and each item removed (at the field's line).
    Details of an added item come from the new roster, of a removed one from the base."""

    field: str
    added: ChangeKind
    removed: ChangeKind
    details: ItemDetails

    def changes(self, old: Agent, new: Agent, base: _Side, head: _Side) -> list[Change]:
        before, after = getattr(old, self.field), getattr(new, self.field)
        still, known = set(after), set(before)
        out = [
            Change(
                kind=self.added,
                agent=new.name,
                subject=item,
                details=self.details(head, new, item),
                location=head.at(new.name, self.field, pos),
            )
            for pos, item in enumerate(after)
            if item not in known
        ]
        out += [
            Change(
                kind=self.removed,
                agent=new.name,
                subject=item,
                details=self.details(base, new, item),
                location=head.at(new.name, self.field),
            )
            for item in before
            if item not in still
        ]
        return out


# What the diff compares, in the order changes are reported. A new governance-relevant field is one entry here.
AGENT_FIELDS: tuple[_Scalar | _List, ...] = (
    _Scalar(
        "model",
        "model_switch",
        lambda old, new: {"from": old.model, "to": new.model, "suites": list(new.suites), "tier": new.tier},
    ),
    _List(
        "tools",
        "tool_added",
        "tool_removed",
        lambda side, agent, tool: {**side.tool_details(tool), "checkpoint": tool in agent.approval_required_for},
    ),
    _List(
        "data_scopes",
        "data_scope_added",
        "data_scope_removed",
        lambda side, agent, scope: {"scope": scope, "sensitivity": side.sensitivity(scope)},
    ),
    _Scalar("autonomy", "autonomy_changed", lambda old, new: {"from": str(old.autonomy), "to": str(new.autonomy)}),
    _List(
        "approval_required_for",
        "approval_added",
        "approval_removed",
        # a removed checkpoint on a tool still held is the dangerous case
        lambda side, agent, tool: {"tool": tool, "risk": side.risk(tool), "tool_still_held": tool in agent.tools},
    ),
    _Scalar("eval_spec", "eval_spec_changed", lambda old, new: {"from": old.eval_spec, "to": new.eval_spec}),
)


def diff_rosters(
    base: Roster,
    head: Roster,
    *,
    base_path: str,
    head_path: str,
    base_lines: LineOf,
    head_lines: LineOf,
    catalog: Mapping[str, Any] | None = None,
    base_paths: PathOf | None = None,
    head_paths: PathOf | None = None,
) -> list[Change]:
    """Changes from `base` to `head` in the head roster's agent order; removed agents last, in base order.

    `catalog` is the governance catalog's `tools` (trusted policy data): tool risk is the higher of it and the
    roster's own declaration, so a roster cannot talk a high-risk tool down to low. `*_paths` name the file of
    each field when a roster spans several files (Claude Code subagents; else `*_path` for all).
    """
    tools = catalog or {}
    old = _Side(base, base_path, base_lines, tools, base_paths)
    new = _Side(head, head_path, head_lines, tools, head_paths)
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
                        "eval_spec": agent.eval_spec,
                    },
                    location=new.at(agent.name),
                )
            )
        else:
            changes.extend(c for entry in AGENT_FIELDS for c in entry.changes(previous, agent, old, new))
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


__all__ = ["CHANGE_KINDS", "Change", "ChangeKind", "LineOf", "PathOf", "diff_rosters"]
