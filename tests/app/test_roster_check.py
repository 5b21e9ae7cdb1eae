from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.support.policies import make_policy_dir, make_roster

from guardrail.app.roster_check import check_roster
from guardrail.errors import ConfigError


def test_structured_findings_are_enriched_from_metadata(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    report = check_roster(make_roster(tmp_path), policies, today=date(2026, 1, 1))
    deny = [f for f in report.findings if f.kind == "deny"]
    assert [(f.agent, f.rule) for f in deny] == [("beta", "T-001")]
    finding = deny[0]
    assert finding.severity == "high" and finding.controls == ("ISO/IEC 42001 A.3.2",)
    assert finding.title == "Every agent has an owner" and finding.policy == "roster.owner"
    assert finding.location is not None and finding.location.line == 11
    warn = [f for f in report.findings if f.kind == "warn"]
    assert [(f.agent, f.rule, f.severity) for f in warn] == [("beta", "T-002", "low")]
    assert not report.passed and len(report.blocking) == 1
    assert {r["id"] for r in report.rules} >= {"T-001", "T-002"}


def test_plain_string_findings_are_accepted(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    roster = make_roster(tmp_path, _roster("forbidden"))
    report = check_roster(roster, policies)
    plain = [f for f in report.findings if f.policy == "roster.plain"]
    assert len(plain) == 1
    assert plain[0].msg == "organization may not be called forbidden"
    assert plain[0].rule == "roster.plain.deny" and plain[0].severity == "info"
    assert plain[0].agent is None and plain[0].location is not None and plain[0].location.line == 1


def _roster(org: str) -> str:
    from tests.support.policies import ROSTER

    return ROSTER.replace("organization: Testco", f"organization: {org}")


WAIVERS = """waivers:
  - {rule: T-001, agent: beta, reason: owner being hired, approver: cro@testco.example, expires: 2026-06-30}
"""


def test_live_waiver_suppresses_and_is_still_reported(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path, waivers=WAIVERS)
    report = check_roster(make_roster(tmp_path), policies, today=date(2026, 6, 30))
    waived = [f for f in report.findings if f.rule == "T-001"]
    assert waived[0].waiver is not None and waived[0].waiver.approver == "cro@testco.example"
    assert report.passed


def test_expired_waiver_no_longer_suppresses(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path, waivers=WAIVERS)
    report = check_roster(make_roster(tmp_path), policies, today=date(2026, 7, 1))
    finding = next(f for f in report.findings if f.rule == "T-001")
    assert finding.waiver is None and finding.waiver_expired is not None
    assert not report.passed


def test_waiver_without_approver_is_an_input_error_with_line(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path, waivers="waivers:\n  - {rule: T-001, reason: x, expires: 2026-01-01}\n")
    with pytest.raises(ConfigError, match="approver") as info:
        check_roster(make_roster(tmp_path), policies)
    assert info.value.line == 2 and str(info.value).startswith(str(policies / "data" / "waivers.yaml"))


def test_finding_field_points_at_its_own_line(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "roster" / "field.rego").write_text(
        'package roster.field\nimport rego.v1\ndeny contains {"rule": "T-9", "agent": "alpha", "msg": "m",'
        ' "field": "agents[0].budget_usd_per_day"} if true\n'
        'deny contains {"rule": "T-10", "msg": "m", "field": ["tools", "tickets.route"]} if true\n'
    )
    report = check_roster(make_roster(tmp_path), policies)
    lines = {f.rule: f.location.line for f in report.findings if f.location}
    assert lines["T-9"] == 10 and lines["T-10"] == 4
