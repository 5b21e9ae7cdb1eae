"""Every findings format on one document holding a blocking, a waived and an expired-waiver finding: a waived
finding reads as waived and blocks nothing; one whose waiver expired blocks again and says since when."""

from __future__ import annotations

import json
from datetime import date
from xml.etree import ElementTree as ET

import pytest

from guardrail.core.findings import Finding, FindingsDoc, Location, Waiver
from guardrail.report.findings import FINDINGS
from guardrail.report.formats import Format, Renderers

WAIVER = Waiver(
    rule="GR-008", agent="seo", reason="suite in progress", approver="cao@acme.example", expires=date(2099, 1, 1)
)
OLD = Waiver(rule="GR-002", agent="refunds", reason="pilot", approver="cfo@acme.example", expires=date(2020, 3, 31))
DOC = FindingsDoc(
    title="roster check",
    subject="roster.yaml",
    passed=False,
    findings=[
        Finding(
            rule="GR-002",
            kind="deny",
            msg="refunds holds payments.refund without a human checkpoint",
            agent="refunds",
            severity="high",
            controls=("EU AI Act Art. 14",),
            location=Location(path="roster.yaml", line=12),
            waiver_expired=OLD,
        ),
        Finding(
            rule="GR-008",
            kind="warn",
            msg="seo has no eval suites",
            agent="seo",
            severity="low",
            location=Location(path="roster.yaml", line=20),
            waiver=WAIVER,
        ),
    ],
    rules=[{"id": "GR-002", "title": "High-risk tools need a checkpoint", "severity": "high", "controls": []}],
    subjects=["refunds", "seo", "triage"],
)
EXPIRED = "waiver by cfo@acme.example expired on 2020-03-31"


def _text(out: str) -> None:
    assert "DENY   GR-002 [high]" in out and f"{EXPIRED}: no longer suppresses this" in out
    assert "WAIVED GR-008" in out and "waived by cao@acme.example until 2099-01-01: suite in progress" in out
    assert "FAILED: 1 blocking finding(s) in 1 subject(s), 0 warning(s), 1 waived" in out


def _json(out: str) -> None:
    payload = json.loads(out)
    expired, waived = payload["findings"]
    assert expired["waiver"] is None and expired["waiver_expired"]["expires"] == "2020-03-31"
    assert waived["waiver"]["approver"] == "cao@acme.example"
    assert payload["summary"] == {"blocking": 1, "warnings": 0, "waived": 1, "waivers_expired": 1}


def _junit(out: str) -> None:
    cases = {case.get("name"): case for case in ET.fromstring(out).iter("testcase")}
    failure = cases["refunds: GR-002"].find("failure")
    assert failure is not None and failure.text is not None and EXPIRED in failure.text
    skipped = cases["seo: GR-008"].find("skipped")
    assert skipped is not None and skipped.get("message") == "waived by cao@acme.example until 2099-01-01"
    assert cases["triage"].find("failure") is None


def _sarif(out: str) -> None:
    expired, waived = json.loads(out)["runs"][0]["results"]
    assert expired["level"] == "error" and expired["properties"]["waiver_expired"] == EXPIRED
    assert "suppressions" not in expired
    (suppression,) = waived["suppressions"]
    assert suppression["kind"] == "external" and "suite in progress" in suppression["justification"]


def _github(out: str) -> None:
    lines = out.splitlines()
    assert lines[0].startswith("::error file=roster.yaml,line=12,title=GR-002 (high) refunds::")
    assert f"({EXPIRED})" in lines[0]
    assert not any("GR-008" in line for line in lines)  # a waived finding is not annotated
    assert lines[-1] == "guardrail roster check: FAILED: 1 blocking finding(s) in 1 subject(s), 0 warning(s), 1 waived"


def _markdown(out: str) -> None:
    rows = [line for line in out.splitlines() if line.startswith("| ❌") or line.startswith("| ➖")]
    assert rows[0].startswith("| ❌ | refunds | GR-002 |") and f"({EXPIRED})" in rows[0]
    assert rows[1].startswith("| ➖ | seo | GR-008 |")
    assert out.startswith("### guardrail roster check: ❌ failed")


CHECKS = {
    Format.TEXT: _text,
    Format.JSON: _json,
    Format.JUNIT: _junit,
    Format.SARIF: _sarif,
    Format.GITHUB: _github,
    Format.MARKDOWN: _markdown,
}


@pytest.mark.parametrize("fmt", list(Format))
def test_each_format_shows_waived_and_expired_findings(fmt: Format) -> None:
    CHECKS[fmt](FINDINGS.render(fmt, DOC))


def test_a_registry_needs_a_renderer_for_every_format() -> None:
    with pytest.raises(ValueError, match="no renderer for junit, sarif, github, markdown"):
        Renderers({Format.TEXT: str, Format.JSON: str})


def test_findings_renderers_over_another_record_with_one_replaced() -> None:
    renderers = Renderers.of_findings(lambda subject: DOC, json=lambda subject: f"custom {subject}")
    assert renderers.render(Format.JSON, "x") == "custom x"
    assert renderers.render(Format.SARIF, "x") == FINDINGS.render(Format.SARIF, DOC)
