"""`guardrail gate` from the command line: exit codes, every output format, the job summary, a light import set."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from tests.support.cli import run_cli
from tests.support.schemas import junit_errors, sarif_errors

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("litellm", "mlflow", "deepeval", "pandas")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The bundled policies and the demo roster; `roster.yaml` switches support-triage to a model with no evidence."""
    for folder in ("policies", "suites", "evals"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    base = (REPO / "examples/roster.yaml").read_text(encoding="utf-8")
    (tmp_path / "base.yaml").write_text(base, encoding="utf-8")
    agent = base.index("- name: support-triage")
    at = base.index("model: ", agent)
    end = base.index("\n", at)
    (tmp_path / "roster.yaml").write_text(base[:at] + "model: sim/budget" + base[end:], encoding="utf-8")
    (tmp_path / "same.yaml").write_text(base, encoding="utf-8")
    return tmp_path


def model_line(root: Path) -> int:
    text = (root / "roster.yaml").read_text()
    at = text.index("model: sim/budget", text.index("- name: support-triage"))
    return text.count("\n", 0, at) + 1


def gate(root: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("gate", "--roster", "roster.yaml", "--base", "base.yaml", *args, cwd=root)
    return result.code, result.out, result.err


def test_unchanged_roster_exits_0(project: Path) -> None:
    result = run_cli("gate", "--roster", "same.yaml", "--base", "base.yaml", cwd=project)
    assert result.code == 0, result.text
    assert "PASSED" in result.out and "changes against base.yaml: 0" in result.out


def test_switch_without_evidence_exits_1_with_the_fix(project: Path) -> None:
    code, out, _ = gate(project)
    assert code == 1
    assert "gate.evidence_missing" in out
    assert f"roster.yaml:{model_line(project)}" in out
    assert "FAILED" in out


def test_bad_input_exits_2(project: Path) -> None:
    assert run_cli("gate", "--roster", "roster.yaml", cwd=project).code == 2  # no base: never pass by default
    assert gate(project, "--format", "yaml")[0] == 2
    code, _, err = gate(project, "--policies", "missing")
    assert code == 2 and "policy directory not found" in err
    (project / "base.yaml").write_text("version: 1\norganization: [\n")
    code, _, err = gate(project)
    assert code == 2 and "base.yaml:" in err and "Traceback" not in err


def test_an_undecidable_gate_exits_3(project: Path) -> None:
    (project / "policies/gate/change.rego").write_text('package gate.change\n\ndecision := {"allow": "maybe"}\n')
    (project / "policies/gate/change_test.rego").unlink()
    code, out, err = gate(project)
    assert code == 3 and "could not finish" in err and out == ""


def test_json_carries_the_changes_and_the_decision(project: Path) -> None:
    code, out, _ = gate(project, "--format", "json")
    assert code == 1
    payload = json.loads(out)
    assert payload["passed"] is False and payload["summary"]["blocking"] == 1
    assert payload["gate"]["changes"][0]["kind"] == "model_switch"
    assert payload["gate"]["blocking"][0]["rule"] == "evidence_missing"
    assert payload["findings"][0]["location"]["line"] == model_line(project)


def test_junit_conforms_to_the_schema(project: Path) -> None:
    code, out, _ = gate(project, "--format", "junit")
    assert code == 1
    assert junit_errors(out) == []
    suite = ET.fromstring(out.encode()).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failing = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("line") for case in failing] == [str(model_line(project))]


def test_sarif_conforms_to_the_schema_and_points_at_the_roster_line(project: Path) -> None:
    code, out, _ = gate(project, "--format", "sarif", "--output", "gate.sarif")
    assert code == 1 and out == ""
    sarif = json.loads((project / "gate.sarif").read_text())
    assert sarif_errors(sarif) == []
    [result] = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "roster.yaml"
    assert location["region"]["startLine"] == model_line(project)
    assert result["level"] == "error" and result["ruleId"] == "gate.evidence_missing"


def test_github_annotations_and_the_job_summary(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = project / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = gate(project, "--format", "github")
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(annotations) == 1
    # --base FILE has no ref to read trusted policies from, and the gate says so
    assert any(line.startswith("::warning") and "untrusted_policies" in line for line in out.splitlines())
    assert re.match(
        rf"::error file=roster.yaml,line={model_line(project)},title=gate.evidence_missing \(high\)", annotations[0]
    )
    written = summary.read_text()
    assert written.startswith("earlier step\n")  # appended, as GitHub expects
    assert "### guardrail gate: ❌ failed" in written and "gate.evidence_missing" in written


def test_markdown_for_a_pull_request_comment(project: Path) -> None:
    code, out, _ = gate(project, "--format", "markdown")
    assert code == 1
    assert out.startswith("### guardrail gate: ❌ failed")
    assert "| ❌ | support-triage | gate.evidence_missing |" in out


@pytest.mark.integration
def test_gate_does_not_import_heavy_sdks(project: Path) -> None:
    """A cold `guardrail gate` stays fast: no litellm, mlflow, deepeval or pandas in the process."""
    code = (
        "import json, sys\n"
        "from guardrail.cli.main import main\n"
        "rc = main(['gate', '--roster', 'roster.yaml', '--base', 'base.yaml', '--format', 'json'])\n"
        f"print('HEAVY=' + json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert proc.returncode == 1, proc.stderr
    heavy = json.loads(proc.stdout.rsplit("HEAVY=", 1)[1])
    assert heavy == []
