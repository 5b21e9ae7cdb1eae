"""`guardrail roster check`: which agent breaks which rule, with severity and the controls the rule maps to."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from guardrail.adapters.loading import load_yaml, schema_error
from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, UNDEFINED, PolicyBundle, PolicyEngine
from guardrail.adapters.rego_meta import RuleMeta, parse_metadata
from guardrail.adapters.roster_file import LoadedRoster, load_roster
from guardrail.app.engine import load_policies, open_engine
from guardrail.core.findings import Finding, Waiver, apply_waivers, sort_findings

FINDING_KINDS = {"deny": "deny", "violation": "deny", "warn": "warn"}
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
    loaded = load_roster(roster_path)
    bundle = load_policies(policies_dir)
    metas = parse_metadata(bundle)
    engine = open_engine(bundle, timeout_s=timeout_s, opa_url=opa_url)
    try:
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
    found = evaluate_roster(engine, loaded, metas if metas is not None else parse_metadata(bundle))
    return sort_findings(apply_waivers(found, load_waivers(bundle, policies_dir), today))


def evaluate_roster(engine: PolicyEngine, loaded: LoadedRoster, metas: list[RuleMeta]) -> list[Finding]:
    """Evaluate every `deny`/`warn`/`violation` rule under `data.roster` in one query, then normalise."""
    value = engine.query(f"data.{ROSTER_NAMESPACE}", loaded.roster.policy_input())
    if value is UNDEFINED:
        return []
    findings: list[Finding] = []
    for package, kind, items in _finding_sets(value, f"data.{ROSTER_NAMESPACE}"):
        for item in items:
            findings.append(_normalise(item, package, kind, metas, loaded))
    return findings


def _finding_sets(value: Any, package: str) -> list[tuple[str, str, list[Any]]]:
    out: list[tuple[str, str, list[Any]]] = []
    if not isinstance(value, dict):
        return out
    for key, item in value.items():
        if key in FINDING_KINDS and isinstance(item, list):
            out.append((package, FINDING_KINDS[key], item))
        elif isinstance(item, dict) and not key.endswith("_test"):
            out.extend(_finding_sets(item, f"{package}.{key}"))
    return out


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
        line = loaded.doc.line_of(parse_field(field))
        location = location.model_copy(update={"line": line or location.line})
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


def parse_field(field: Any) -> tuple[str | int, ...]:
    """A finding's `field`: a path list (["tools", "payments.refund"]) or `agents[4].params.api_key`."""
    if isinstance(field, list):
        return tuple(int(p) if isinstance(p, int) else str(p) for p in field)
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", str(field)):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


_WAIVERS = TypeAdapter(list[Waiver])


def load_waivers(bundle: PolicyBundle, policies_dir: Path) -> list[Waiver]:
    """Waivers live in policy data (`data.waivers.waivers`): reason, approver and expiry are required."""
    raw = bundle.data.get("waivers", {})
    items = raw.get("waivers", []) if isinstance(raw, dict) else raw
    try:
        return _WAIVERS.validate_python(items or [])
    except ValidationError as exc:
        source = next(
            (p for p in (policies_dir / "data").glob("waivers.*") if p.suffix in (".yaml", ".yml", ".json")), None
        )
        if source is None:
            raise schema_error(exc, prefix=("data", "waivers")) from None
        doc = load_yaml(source)
        raise schema_error(exc, doc, prefix=("waivers",) if isinstance(doc.data, dict) else ()) from None


def _rule_entry(meta: RuleMeta) -> dict[str, Any]:
    return {
        "id": meta.id or f"{meta.package.removeprefix('data.')}.{meta.rule}",
        "title": meta.title,
        "description": meta.description,
        "severity": meta.severity,
        "controls": list(meta.controls),
        "source": f"{meta.path}:{meta.line}",
    }
