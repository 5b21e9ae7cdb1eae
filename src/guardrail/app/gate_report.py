"""The CI gate's result: what changed, what the policy said, on which line, and the neutral findings record every
outputter renders (text, JSON, JUnit, SARIF, GitHub, markdown; `GATE_RENDERERS`)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from guardrail.app.gate_evidence import EvidenceView
from guardrail.app.trusted import FileChange
from guardrail.core.diff import Change
from guardrail.core.findings import Finding, FindingsDoc, Location
from guardrail.report.findings import findings_payload
from guardrail.report.formats import Renderers


class GateItem(BaseModel):
    """A blocking reason or a warning from the policy, placed on a roster (or policy file) line."""

    rule: str
    msg: str
    fix: str | None = None
    agent: str | None = None
    change_index: int | None = None
    location: Location | None = None
    finding: Finding | None = None  # the roster finding behind a `roster_deny`


class GateReport(BaseModel):
    roster: str
    base: str
    policies: str
    policy_source: str  # the base ref the policies came from, or "working tree"
    now: str
    changes: list[Change]
    policy_changes: list[FileChange] = Field(default_factory=list)
    governance_changes: list[FileChange] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)  # roster policy findings on the new roster
    evidence: dict[str, EvidenceView] = Field(default_factory=dict)
    unreadable_evidence: list[str] = Field(default_factory=list)
    allow: bool
    blocking: list[GateItem] = Field(default_factory=list)
    warnings: list[GateItem] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.allow and not self.blocking

    def findings_doc(self) -> FindingsDoc:
        """The neutral record the shared outputters render."""
        out: list[Finding] = []
        pairs: list[tuple[GateItem, Literal["deny", "warn"]]] = [
            *((b, "deny") for b in self.blocking),
            *((w, "warn") for w in self.warnings),
        ]
        for item, kind in pairs:
            msg = f"{item.msg}. Fix: {item.fix}" if item.fix and kind == "deny" else item.msg
            source = item.finding
            out.append(
                Finding(
                    rule=f"gate.{item.rule}",
                    kind=kind,
                    msg=msg,
                    agent=item.agent,
                    severity=source.severity if source else ("high" if kind == "deny" else "medium"),
                    controls=source.controls if source else (),
                    title=source.title if source else None,
                    policy="gate.change",
                    location=item.location,
                    # a roster finding's waiver, in force or expired, reads in every format as in `roster check`
                    waiver=source.waiver if source else None,
                    waiver_expired=source.waiver_expired if source else None,
                )
            )
        agents = list(dict.fromkeys(c.agent for c in self.changes))
        return FindingsDoc(
            title="gate",
            subject=f"{self.roster} (base {self.base})",
            passed=self.passed,
            findings=out,
            subjects=agents,
            notes=self.notes(),
        )

    def notes(self) -> list[str]:
        lines = [f"policies: {self.policies} from {self.policy_source}"]
        lines += [f"policy file {c.status}: {c.path}" for c in self.policy_changes]
        lines += [f"governance record {c.status} (takes effect once merged): {c.path}" for c in self.governance_changes]
        lines.append(f"changes against {self.base}: {len(self.changes)}")
        lines += [f"  - {c.describe()}  ({c.location})" for c in self.changes]
        for key, view in sorted(self.evidence.items()):
            c = view.checks
            verdict = "pass" if view.verdict.get("passed") is True else "fail"
            lines.append(
                f"evidence {key}: {view.file} run {view.run_id} verdict {verdict}, age {c.age_days:.2f}d, "
                f"hashes {'match' if c.hash_match else 'differ: ' + ', '.join(c.mismatched)}, "
                f"address {'ok' if c.address_ok else 'BROKEN'}, signature {c.signature}, "
                f"spec {view.spec_path} ({'official' if c.official else 'not official'})"
            )
            lines += [f"  passed over {p.file} (run {p.run_id}): {p.why}" for p in view.passed_over]
        lines += [f"unreadable evidence file skipped: {path}" for path in self.unreadable_evidence]
        return lines


def render_gate_json(report: GateReport) -> str:
    """The findings document plus the whole decision (`gate`: changes, evidence checks, blocking reasons)."""
    payload = findings_payload(report.findings_doc())
    payload["gate"] = report.model_dump(mode="json", exclude={"findings"})
    return json.dumps(payload, indent=2) + "\n"


GATE_RENDERERS: Renderers[GateReport] = Renderers.of_findings(GateReport.findings_doc, json=render_gate_json)


def place(raw: dict[str, Any], changes: list[Change], deny: list[Finding]) -> GateItem:
    """Attach the line: the change's for change rules, the finding's for roster denies, the file for a policy file."""
    index = raw.get("change_index")
    finding_index = raw.get("finding_index")
    location, agent, finding = None, None, None
    if isinstance(index, int) and 0 <= index < len(changes):
        location, agent = changes[index].location, changes[index].agent
    elif isinstance(finding_index, int) and 0 <= finding_index < len(deny):
        finding = deny[finding_index]
        location, agent = finding.location, finding.agent
    elif isinstance(raw.get("path"), str):
        location = Location(path=raw["path"], line=1)
    fix = raw.get("fix")
    return GateItem(
        rule=str(raw.get("rule", "gate")),
        msg=raw["msg"],
        fix=fix if isinstance(fix, str) and fix else None,
        agent=agent,
        change_index=index if isinstance(index, int) else None,
        location=location,
        finding=finding,
    )


__all__ = ["GATE_RENDERERS", "GateItem", "GateReport", "place", "render_gate_json"]
