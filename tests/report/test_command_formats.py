"""Every output format of each findings command (`roster check`, `gate`, `audit`), through the renderer registry the
command itself uses, on a record holding a finding whose waiver expired and a waived one: the expired one blocks
and says since when, the waived one reads as waived and blocks nothing, in text, JSON, JUnit, SARIF, GitHub
annotations and Markdown alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from guardrail.app.audit_output import renderers as audit_renderers
from guardrail.app.gate_report import GATE_RENDERERS, GateItem, GateReport
from guardrail.core.audit import AuditFinding, AuditReport
from guardrail.core.findings import Finding, FindingsDoc, Location, Waiver
from guardrail.report.findings import FINDINGS
from guardrail.report.formats import Format

WAIVER = Waiver(
    rule="GR-008", agent="seo", reason="suite in progress", approver="cao@acme.example", expires=date(2099, 1, 1)
)
OLD = Waiver(rule="GR-002", agent="refunds", reason="pilot", approver="cfo@acme.example", expires=date(2020, 3, 31))
EXPIRED = "waiver by cfo@acme.example expired on 2020-03-31"
WAIVED = "waived by cao@acme.example until 2099-01-01"
AT = {"expired": Location(path="roster.yaml", line=12), "waived": Location(path="roster.yaml", line=20)}


def _roster_findings() -> tuple[Finding, Finding]:
    expired = Finding(rule="GR-002", kind="deny", msg="refunds holds payments.refund without a checkpoint",
                      agent="refunds", severity="high", location=AT["expired"], waiver_expired=OLD)  # fmt: skip
    waived = Finding(rule="GR-008", kind="deny", msg="seo has no eval suites", agent="seo", severity="low",
                     location=AT["waived"], waiver=WAIVER)  # fmt: skip
    return expired, waived


def _roster_check() -> tuple[Callable[[Format], str], str, str]:
    doc = FindingsDoc(
        title="roster check",
        subject="roster.yaml",
        passed=False,
        findings=list(_roster_findings()),
        subjects=["refunds", "seo", "triage"],  # triage broke nothing: it shows as passing
    )
    return lambda fmt: FINDINGS.render(fmt, doc), "GR-002", "GR-008"


def _gate() -> tuple[Callable[[Format], str], str, str]:
    expired, waived = _roster_findings()
    report = GateReport(
        roster="roster.yaml",
        base="main",
        policies="policies",
        policy_source="main",
        now="2026-11-30T00:00:00Z",
        changes=[],
        findings=[expired, waived],
        allow=False,
        blocking=[
            GateItem(
                rule="roster_deny",
                msg=f"roster policy GR-002 for refunds: {expired.msg}",
                agent="refunds",
                location=AT["expired"],
                finding=expired,
            )
        ],
        warnings=[
            GateItem(
                rule="roster_waived",
                msg=f"roster policy GR-008 for seo is waived: {waived.msg}",
                agent="seo",
                location=AT["waived"],
                finding=waived,
            )
        ],
    )
    return lambda fmt: GATE_RENDERERS.render(fmt, report), "gate.roster_deny", "gate.roster_waived"


def _audit() -> tuple[Callable[[Format], str], str, str]:
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    expired, waived = (f.model_dump() for f in _roster_findings())
    report = AuditReport(
        id="audit-1",
        created=when,
        inputs=["traces.jsonl"],
        roster="roster.yaml",
        policies="policies",
        policy_hash="sha256:0",
        guardrail_version="0.1.0",
        engine="local",
        findings=[
            AuditFinding(**{**expired, "rule": "ACT-002"}, trace_id="t1", span_id="s1", time=when),
            AuditFinding(**{**waived, "rule": "AUD-003"}, trace_id="t2", span_id="s2", time=when),
        ],
    )
    return lambda fmt: audit_renderers().render(fmt, report), "ACT-002", "AUD-003"


COMMANDS = {"roster check": _roster_check, "gate": _gate, "audit": _audit}


@dataclass
class Rendered:
    out: str
    expired: str  # the rule of the finding whose waiver expired
    waived: str  # the rule of the waived one


def _text(r: Rendered) -> None:
    assert f"DENY   {r.expired} [high]" in r.out and f"{EXPIRED}: no longer suppresses this" in r.out
    assert f"WAIVED {r.waived}" in r.out and WAIVED in r.out
    assert "FAILED: 1 blocking finding(s)" in r.out and "1 waived" in r.out


def _json(r: Rendered) -> None:
    payload = json.loads(r.out)
    by_rule: dict[str, Any] = {f["rule"]: f for f in payload["findings"]}
    expired, waived = by_rule[r.expired], by_rule[r.waived]
    assert expired["waiver"] is None and expired["waiver_expired"]["expires"] == "2020-03-31"
    assert waived["waiver"]["approver"] == "cao@acme.example" and waived["waiver_expired"] is None
    summary = payload["summary"]
    assert (summary["blocking"], summary["waived"], summary["waivers_expired"]) == (1, 1, 1)
    assert payload["passed"] is False


def _junit(r: Rendered) -> None:
    cases = list(ET.fromstring(r.out).iter("testcase"))
    failures = [c.find("failure") for c in cases if c.find("failure") is not None]
    assert len(failures) == 1 and EXPIRED in (failures[0].text or "")  # type: ignore[union-attr]
    skipped = [c.find("skipped") for c in cases if c.find("skipped") is not None]
    assert [s.get("message") for s in skipped] == [WAIVED]  # type: ignore[union-attr]
    if r.expired == "GR-002":  # roster check: every agent is a case, a clean one passes
        (clean,) = [c for c in cases if c.get("name") == "triage"]
        assert clean.find("failure") is None and clean.find("skipped") is None


def _sarif(r: Rendered) -> None:
    results = {x["ruleId"]: x for x in json.loads(r.out)["runs"][0]["results"]}
    expired, waived = results[r.expired], results[r.waived]
    assert expired["level"] == "error" and expired["properties"]["waiver_expired"] == EXPIRED
    assert "suppressions" not in expired
    (suppression,) = waived["suppressions"]
    assert suppression["kind"] == "external" and "suite in progress" in suppression["justification"]


def _github(r: Rendered) -> None:
    annotations = [line for line in r.out.splitlines() if line.startswith("::")]
    assert len(annotations) == 1  # the waived finding is not annotated
    assert annotations[0].startswith(f"::error file=roster.yaml,line=12,title={r.expired} (high) refunds::")
    assert f"({EXPIRED})" in annotations[0]
    assert r.out.splitlines()[-1].endswith("1 waived")


def _markdown(r: Rendered) -> None:
    rows = [line for line in r.out.splitlines() if line.startswith(("| ❌", "| ➖"))]
    (failed,) = [row for row in rows if row.startswith("| ❌")]
    assert failed.startswith(f"| ❌ | refunds | {r.expired} |") and f"({EXPIRED})" in failed
    (waived,) = [row for row in rows if row.startswith("| ➖")]
    assert waived.startswith(f"| ➖ | seo | {r.waived} |")
    assert "❌ failed" in r.out.splitlines()[0]


CHECKS = {
    Format.TEXT: _text,
    Format.JSON: _json,
    Format.JUNIT: _junit,
    Format.SARIF: _sarif,
    Format.GITHUB: _github,
    Format.MARKDOWN: _markdown,
}


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_shows_waived_and_expired_findings_in_each_format(command: str, fmt: Format) -> None:
    render, expired, waived = COMMANDS[command]()
    CHECKS[fmt](Rendered(render(fmt), expired, waived))
