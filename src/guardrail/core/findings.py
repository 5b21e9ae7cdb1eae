"""Format-neutral results that every outputter renders: policy findings and policy test outcomes.

Exit codes are computed from these records, never by a formatter (Conftest's rule).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


class Location(BaseModel):
    """Where a reviewer must look: a file and a 1-based line (column when known)."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


class Waiver(BaseModel):
    """An accepted risk, in policy data: which rule for which agent, why, who approved, until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    agent: str | None = None  # None waives the rule for every agent
    reason: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    expires: date

    def covers(self, finding: Finding) -> bool:
        return self.rule == finding.rule and (self.agent is None or self.agent == finding.agent)


class Finding(BaseModel):
    """One rule broken by one subject (an agent, or the roster as a whole)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    kind: Literal["deny", "warn"]
    msg: str
    agent: str | None = None
    severity: Severity = "medium"
    controls: tuple[str, ...] = ()
    title: str | None = None
    policy: str | None = None  # the Rego package that produced it
    location: Location | None = None
    waiver: Waiver | None = None
    waiver_expired: Waiver | None = None  # a waiver existed but no longer suppresses the finding

    @property
    def blocking(self) -> bool:
        return self.kind == "deny" and self.waiver is None


class TestOutcome(BaseModel):
    """One Rego unit test: `test_*` rule in a `*_test.rego` file."""

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class

    name: str
    package: str
    location: Location
    status: Literal["pass", "fail", "error"]
    duration_ms: float
    message: str | None = None
    prints: tuple[str, ...] = ()


class FileCoverage(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    covered: int
    not_covered: int
    uncovered_lines: tuple[int, ...] = ()

    @property
    def percent(self) -> float:
        total = self.covered + self.not_covered
        return 100.0 if total == 0 else 100.0 * self.covered / total


def coverage_percent(files: list[FileCoverage]) -> float:
    covered = sum(f.covered for f in files)
    total = covered + sum(f.not_covered for f in files)
    return 100.0 if total == 0 else 100.0 * covered / total


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: date) -> list[Finding]:
    """Mark findings covered by a live waiver; an expired waiver is reported but suppresses nothing."""
    out: list[Finding] = []
    for finding in findings:
        matching = [w for w in waivers if w.covers(finding)]
        live = next((w for w in matching if w.expires >= today), None)
        if live is not None:
            out.append(finding.model_copy(update={"waiver": live}))
        elif matching:
            out.append(finding.model_copy(update={"waiver_expired": max(matching, key=lambda w: w.expires)}))
        else:
            out.append(finding)
    return out


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.agent or "", SEVERITY_ORDER.get(f.severity, 9), f.rule, f.msg))


class FindingsDoc(BaseModel):
    """What every findings outputter renders (roster check, the CI gate): one neutral record, many formats."""

    tool: str = "guardrail"
    title: str  # "roster check", "gate"
    subject: str  # the file judged, e.g. the roster path
    passed: bool
    findings: list[Finding] = Field(default_factory=list)
    rules: list[dict[str, object]] = Field(default_factory=list)  # id, title, description, severity, controls
    subjects: list[str] = Field(default_factory=list)  # e.g. every agent, so passing ones show too
    notes: list[str] = Field(default_factory=list)  # extra lines for the summary


FINDING_KINDS = {"deny": "deny", "violation": "deny", "warn": "warn"}  # a policy rule's name -> the finding's kind


def finding_sets(value: Any, package: str, *, skip: Collection[str] = ()) -> list[tuple[str, str, list[Any]]]:
    """(package, kind, items) for every deny/violation/warn set in a namespace's answer (`data.roster`,
    `data.audit`), walking sub-packages except test packages and those named in `skip`."""
    out: list[tuple[str, str, list[Any]]] = []
    if not isinstance(value, dict):
        return out
    for key, item in value.items():
        if key in FINDING_KINDS and isinstance(item, list):
            out.append((package, FINDING_KINDS[key], item))
        elif isinstance(item, dict) and not key.endswith("_test") and key not in skip:
            out.extend(finding_sets(item, f"{package}.{key}", skip=skip))
    return out
