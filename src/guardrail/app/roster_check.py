"""`guardrail roster check`: which agent breaks which rule, with severity and the controls the rule maps to."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from guardrail.adapters.loading import Loc
from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, UNDEFINED, PolicyBundle, PolicyEngine
from guardrail.adapters.rego_meta import RuleMeta, parse_metadata
from guardrail.adapters.roster_file import LoadedRoster, load_roster
from guardrail.app.engine import load_policies, open_engine
from guardrail.app.eval_specs import EvalSpecs
from guardrail.app.governance import load_waivers
from guardrail.core.findings import FINDING_KINDS, Finding, apply_waivers, finding_sets, sort_findings
from guardrail.errors import ConfigError
from guardrail.project import Project

ROSTER_NAMESPACE = "roster"


class RosterReport(BaseModel):
    """The format-neutral result every outputter renders; the exit code is derived from it alone."""

    roster: str
    organization: str
    agents: list[str]
    policies: str
    findings: list[Finding] = Field(default_factory=list)
    rules: list[dict[str, Any]] = Field(default_factory=list)  # rule catalog for SARIF/docs

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def passed(self) -> bool:
        return not self.blocking


def check_roster(
    roster_path: Path,
    policies_dir: Path,
    *,
    today: date | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    opa_url: str | None = None,
) -> RosterReport:
    bundle = load_policies(policies_dir)
    # the engine loads the policies in its own process while this one reads and checks the roster
    engine = open_engine(bundle, timeout_s=timeout_s, opa_url=opa_url, wait=False)
    try:
        loaded = load_roster(roster_path)
        project = Project.find(roster_path)
        check_references(loaded, EvalSpecs(project.root), project)
        metas = parse_metadata(bundle)
        findings = roster_findings(engine, bundle, loaded, policies_dir, today or date.today(), metas)
    finally:
        engine.close()
    return RosterReport(
        roster=loaded.path,
        organization=loaded.roster.organization,
        agents=[a.name for a in loaded.roster.agents],
        policies=str(policies_dir),
        findings=findings,
        rules=[_rule_entry(m) for m in metas if m.package.startswith(f"data.{ROSTER_NAMESPACE}")],
    )


def roster_findings(
    engine: PolicyEngine,
    bundle: PolicyBundle,
    loaded: LoadedRoster,
    policies_dir: Path,
    today: date,
    metas: list[RuleMeta] | None = None,
) -> list[Finding]:
    """The roster's findings as every command reports them: evaluated, waivers applied, sorted by agent."""
    found = [*loaded.findings, *evaluate_roster(engine, loaded, metas if metas is not None else parse_metadata(bundle))]
    return sort_findings(apply_waivers(found, load_waivers(bundle, policies_dir), today))


def evaluate_roster(engine: PolicyEngine, loaded: LoadedRoster, metas: list[RuleMeta]) -> list[Finding]:
    """Evaluate every `deny`/`warn`/`violation` rule under `data.roster` in one query, then normalise."""
    value = engine.query(f"data.{ROSTER_NAMESPACE}", loaded.roster.policy_input())
    if value is UNDEFINED:
        return []
    findings: list[Finding] = []
    for package, kind, items in finding_sets(value, f"data.{ROSTER_NAMESPACE}"):
        for item in items:
            findings.append(_normalise(item, package, kind, metas, loaded))
    return findings


def _normalise(item: Any, package: str, kind: str, metas: list[RuleMeta], loaded: LoadedRoster) -> Finding:
    """Structured findings keep their fields; plain strings (conftest style) become findings of their rule."""
    meta_for_rule = next((m for m in metas if m.package == package and FINDING_KINDS.get(m.rule) == kind), None)
    if isinstance(item, dict):
        rule = str(item.get("rule") or (meta_for_rule.id if meta_for_rule and meta_for_rule.id else package))
        meta = next((m for m in metas if m.id == rule), meta_for_rule)
        msg = str(item.get("msg") or item.get("message") or rule)
        agent = item.get("agent")
        severity = item.get("severity") or (meta.severity if meta else None)
        controls = item.get("controls") or (list(meta.controls) if meta else [])
    else:
        meta = meta_for_rule
        rule = meta.id if meta and meta.id else f"{package.removeprefix('data.')}.{kind}"
        msg, agent = str(item), None
        severity = meta.severity if meta else None
        controls = list(meta.controls) if meta else []
    location = loaded.agent_location(str(agent) if agent is not None else None)
    field = item.get("field") if isinstance(item, dict) else None
    if field:
        at = loaded.location_of(field_path(loaded, str(agent) if agent is not None else None, field))
        location = at if at.line else location
    return Finding(
        rule=rule,
        kind=kind,
        msg=msg,
        agent=str(agent) if agent is not None else None,
        severity=severity if severity in ("critical", "high", "medium", "low", "info") else "medium",
        controls=tuple(str(c) for c in controls),
        title=meta.title if meta else None,
        policy=package.removeprefix("data."),
        location=location,
    )


def parse_field(field: Any) -> Loc:
    """A finding's `field` as path parts: a list (`["tools", "payments.refund"]`) or a string of dotted keys,
    `[n]` indexes and `[name]` list items by value (`agents[4].params.api_key`, `tools[payments.refund]`)."""
    if isinstance(field, list):
        return tuple(p if isinstance(p, int) else str(p) for p in field)
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[[^\]]*\]", str(field)):
        inner = token[1:-1] if token.startswith("[") else token
        parts.append(int(inner) if token.startswith("[") and inner.isdigit() else inner)
    return tuple(parts)


def field_path(loaded: LoadedRoster, agent: str | None, field: Any) -> Loc:
    """Where a finding's `field` is in the roster. A path that does not start at `agents` is relative to the
    finding's agent when it names one (`model` is that agent's model line), else to the roster's top level
    (`tools[payments.refund]`); a list item named by value becomes its index. A path that does not exist resolves
    to its deepest existing part (at worst the agent's own line), never to another field's line."""
    parts = parse_field(field)
    index = next((i for i, a in enumerate(loaded.roster.agents) if a.name == agent), None)
    if parts[:1] != ("agents",) and index is not None:
        parts = ("agents", index, *parts)
    node: Any = loaded.doc.data
    out: list[str | int] = []
    at = 0
    while at < len(parts):
        part, step = parts[at], 1
        names = list(node) if isinstance(node, dict) else [str(i) for i in node] if isinstance(node, list) else []
        if isinstance(part, str) and part not in names:  # names hold dots (`payments.refund`): join parts
            for end in range(at + 2, len(parts) + 1):
                joined = ".".join(str(p) for p in parts[at:end])
                if joined in names:
                    part, step = joined, end - at
                    break
        if isinstance(node, list) and isinstance(part, str):
            part = next((i for i, item in enumerate(node) if str(item) == part), part)
        out.append(part)
        at += step
        found = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not found:
            break
        node = node[part]
    return tuple(out)


def check_references(
    loaded: LoadedRoster, specs: EvalSpecs, project: Project, agents: Collection[str] | None = None
) -> None:
    """Every suite an agent names exists in the project, and an official eval spec the roster names exists and is
    for that agent: otherwise the gate would ask for evidence no run can produce. Every problem is listed.
    `agents` limits the check (the gate checks the agents a change touches; `roster check` checks them all)."""
    problems: list[tuple[Loc, str]] = []
    for index, agent in enumerate(loaded.roster.agents):
        if (agent.eval_spec is None and not agent.suites) or (agents is not None and agent.name not in agents):
            continue
        official, problem = specs.official(agent.name, agent.eval_spec)
        if agent.eval_spec is not None and official is None:
            problems.append((("agents", index, "eval_spec"), str(problem)))
        for pos, name in enumerate(agent.suites):
            folder = specs.suite_dir(name, official)
            if not folder.is_dir():
                problems.append(
                    (("agents", index, "suites", pos), f"suite {name!r} not found: no folder {project.display(folder)}")
                )
    if problems:
        first, *rest = [loaded.doc.error(message, loc) for loc, message in problems]
        raise ConfigError(
            first.message_only,
            path=first.path,
            line=first.line,
            field=first.field,
            hint="fix the names, or add the suites and specs",
            also=rest,
        )


def _rule_entry(meta: RuleMeta) -> dict[str, Any]:
    return {
        "id": meta.id or f"{meta.package.removeprefix('data.')}.{meta.rule}",
        "title": meta.title,
        "description": meta.description,
        "severity": meta.severity,
        "controls": list(meta.controls),
        "source": f"{meta.path}:{meta.line}",
    }
