from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.support.policies import ROSTER, make_policy_dir, make_roster

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


@pytest.mark.parametrize(
    ("agent", "field", "line"),
    [
        ("beta", "model", 12),  # relative to the finding's agent: beta's model, not a top-level `model`
        ("beta", "tools[tickets.route]", 13),  # a list item by value
        ("beta", "tools.tickets.route", 13),  # dots inside a name are fine
        ("beta", "tools[0]", 13),
        ("beta", ["tools", "tickets.route"], 13),
        ("beta", "agents[0].model", 8),  # a path from `agents` is absolute
        (None, "tools[tickets.route]", 4),  # no agent: from the roster's top level
        (None, "tools.tickets.route", 4),  # a key with dots in it
        ("beta", "budget_usd_per_day", 11),  # absent: the agent's own line, never another field's
        ("beta", "params.api_key", 11),
    ],
)
def test_finding_field_format(tmp_path: Path, agent: str | None, field: object, line: int) -> None:
    policies = make_policy_dir(tmp_path)
    finding = {"rule": "T-F", "msg": "m", "field": field} | ({"agent": agent} if agent else {})
    import json

    (policies / "roster" / "field.rego").write_text(
        f"package roster.field\nimport rego.v1\ndeny contains {json.dumps(finding)} if true\n"
    )
    report = check_roster(make_roster(tmp_path), policies)
    [found] = [f for f in report.findings if f.rule == "T-F"]
    assert found.location is not None and found.location.line == line


def test_a_suite_or_an_official_spec_that_does_not_exist_is_bad_input_listing_every_one(tmp_path: Path) -> None:
    """A roster naming a suite no run can replay used to pass, and the gate then asked for impossible evidence."""
    policies = make_policy_dir(tmp_path)
    (tmp_path / "suites/triage").mkdir(parents=True)
    roster = make_roster(
        tmp_path,
        ROSTER.replace("    budget_usd_per_day: 5\n", "    budget_usd_per_day: 5\n    suites: [triage, missing]\n")
        + "    suites: [gone]\n    eval_spec: evals/beta.yaml\n",
    )
    with pytest.raises(ConfigError) as info:
        check_roster(roster, policies)
    error = info.value
    assert error.line == 11 and error.field == "agents[0].suites[1]"
    assert "suite 'missing' not found: no folder suites/missing" in str(error)
    assert "agents[1].eval_spec: the roster names evals/beta.yaml as the official eval spec of beta" in str(error)
    assert "agents[1].suites[0]: suite 'gone' not found" in str(error)
    assert error.exit_code == 2
    (tmp_path / "suites/gone").mkdir()
    (tmp_path / "suites/missing").mkdir()
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals/beta.yaml").write_text("name: b\nagent: alpha\n")
    with pytest.raises(ConfigError, match="but it is for alpha"):
        check_roster(roster, policies)
    (tmp_path / "evals/beta.yaml").write_text("name: b\nagent: beta\n")
    assert not check_roster(roster, policies).passed  # references resolve; beta's missing owner still denies
