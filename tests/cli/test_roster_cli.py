from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from tests.support.cli import run_cli
from tests.support.policies import ROSTER, make_policy_dir, make_roster


def test_failing_roster_exits_1_and_names_agent_and_rule(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    result = run_cli("roster", "check", make_roster(tmp_path), "--policies", policies, cwd=tmp_path)
    assert result.code == 1
    assert " x beta  (roster.yaml:11)" in result.out
    assert "DENY   T-001 [high] beta has no owner" in result.out
    assert "controls: ISO/IEC 42001 A.3.2" in result.out
    assert "FAILED: 1 blocking finding(s)" in result.out


def test_passing_roster_exits_0(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    fixed = ROSTER.replace("    tools: [tickets.route]", "    tools: [tickets.route]\n    owner: b@testco.example")
    result = run_cli("roster", "check", make_roster(tmp_path, fixed), "--policies", policies)
    assert result.code == 0, result.text
    assert "PASSED" in result.out


def test_bad_roster_exits_2_with_file_line_field(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    roster = make_roster(tmp_path, ROSTER.replace("model: sim/balanced\n    tools", "model: 7\n    tools"))
    result = run_cli("roster", "check", roster, "--policies", policies)
    assert result.code == 2
    assert "roster.yaml:12: agents[1].model: Input should be a valid string" in result.err
    assert "Traceback" not in result.text
    assert run_cli("roster", "check", tmp_path / "missing.yaml", "--policies", policies).code == 2
    assert run_cli("roster", "check", roster, "--policies", tmp_path / "none").code == 2
    assert run_cli("roster", "check", roster, "--policies", policies, "--today", "soon").code == 2


def test_engine_error_exits_3(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "roster" / "boom.rego").write_text(
        "package roster.boom\nimport rego.v1\ndeny contains x if { x := 1 / count(input.tools) }\n"
    )
    roster = make_roster(
        tmp_path,
        ROSTER.replace("tools:\n  tickets.route: {risk: low}", "tools: {}").replace("    tools: [tickets.route]\n", ""),
    )
    result = run_cli("roster", "check", roster, "--policies", policies)
    assert result.code == 3, result.text
    assert "could not finish" in result.err


def test_machine_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policies = make_policy_dir(tmp_path)
    roster = make_roster(tmp_path)
    as_json = json.loads(run_cli("roster", "check", roster, "--policies", policies, "-f", "json").out)
    summary = {"blocking": 1, "warnings": 1, "waived": 0, "waivers_expired": 0}
    assert as_json["passed"] is False and as_json["summary"] == summary
    junit = ET.fromstring(run_cli("roster", "check", roster, "--policies", policies, "-f", "junit").out)
    assert junit.get("failures") == "1" and junit.find(".//testcase[@name='alpha']") is not None
    sarif = json.loads(run_cli("roster", "check", roster, "--policies", policies, "-f", "sarif").out)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "T-001")
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 11
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    github = run_cli("roster", "check", roster, "--policies", policies, "-f", "github", cwd=tmp_path).out
    assert "::error file=roster.yaml,line=11,title=T-001 (high) beta::beta has no owner" in github
    assert "::warning file=roster.yaml,line=11" in github
    assert (tmp_path / "step-summary.md").read_text().startswith("### guardrail roster check: ❌ failed")
    markdown = run_cli("roster", "check", roster, "--policies", policies, "-f", "markdown").out
    assert "| ❌ | beta | T-001 | high |" in markdown


def test_output_file_and_schema(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    out = tmp_path / "out" / "r.sarif"
    assert run_cli("roster", "check", make_roster(tmp_path), "--policies", policies, "-f", "sarif", "-o", out).code == 1
    assert json.loads(out.read_text())["version"] == "2.1.0"
    schema = json.loads(run_cli("roster", "schema").out)
    assert schema["title"] == "Roster" and "agents" in schema["properties"]


def test_the_project_is_found_from_the_roster_not_the_working_directory(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    make_policy_dir(project)
    (tmp_path / "elsewhere").mkdir()
    result = run_cli("roster", "check", make_roster(project).resolve(), cwd=tmp_path / "elsewhere")
    assert result.code == 1, result.text  # judged by the project's policies: beta has no owner
    assert "T-001" in result.out


def test_a_tool_is_declared_once_in_the_catalog_and_an_unknown_one_names_the_catalog_file(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "data" / "catalog.yaml").write_text("tools:\n  tickets.route: {risk: low}\n  crm.lookup: {risk: low}\n")
    catalog_only = ROSTER.replace("tools:\n  tickets.route: {risk: low}\n", "").replace(
        "tools: [tickets.route]", "tools: [tickets.route, crm.lookup]\n    owner: b@testco.example"
    )
    result = run_cli("roster", "check", make_roster(tmp_path, catalog_only), cwd=tmp_path)
    assert result.code == 0, result.text  # the roster names catalog tools without declaring them again
    typo = catalog_only.replace("crm.lookup]", "crm.lokup]")
    result = run_cli("roster", "check", make_roster(tmp_path, typo), cwd=tmp_path)
    assert result.code == 2
    assert (
        "roster.yaml:11: agents[1].tools[1]: unknown tool 'crm.lokup': add it to the governance tool catalog "
        "(policies/data/catalog.yaml)" in result.err
    )
