"""The renderer registry: a renderer for every format or none, one replaced over the shared findings renderers. Each
format on waived and expired-waiver findings, for every command, is tests/report/test_command_formats.py."""

from __future__ import annotations

from datetime import date

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


def test_a_registry_needs_a_renderer_for_every_format() -> None:
    with pytest.raises(ValueError, match="no renderer for junit, sarif, github, markdown"):
        Renderers({Format.TEXT: str, Format.JSON: str})


def test_findings_renderers_over_another_record_with_one_replaced() -> None:
    renderers = Renderers.of_findings(lambda subject: DOC, json=lambda subject: f"custom {subject}")
    assert renderers.render(Format.JSON, "x") == "custom x"
    assert renderers.render(Format.SARIF, "x") == FINDINGS.render(Format.SARIF, DOC)
