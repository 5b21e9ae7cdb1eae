"""`guardrail init`, as a new user meets it: the project passes its checks and runs offline before the first edit."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli


def test_a_new_project_passes_policy_test_and_roster_check_and_runs_offline(tmp_path: Path) -> None:
    made = run_cli("init", "agency", cwd=tmp_path)
    assert made.code == 0, made.text
    assert "cd agency" in made.out and "guardrail run evals/copywriting.yaml" in made.out
    project = tmp_path / "agency"
    tests = run_cli("policy", "test", cwd=project)
    assert tests.code == 0 and " 0 failed" in tests.out, tests.text
    check = run_cli("roster", "check", "roster.yaml", cwd=project)
    assert check.code == 0 and "PASSED" in check.out, check.text
    run = run_cli("run", "evals/copywriting.yaml", "--quiet", "--no-track", cwd=project)
    assert run.code == 0, run.text
    assert "sim/balanced (simulated)" in run.out and "gate: ALLOW" in run.out
    assert len(list((project / "evidence").glob("*.json"))) == 3
    again = run_cli("init", "agency", cwd=tmp_path)
    assert again.code == 2 and "would overwrite" in again.err


def test_an_empty_folder_is_pointed_at_init(tmp_path: Path) -> None:
    result = run_cli("policy", "test", cwd=tmp_path)
    assert result.code == 2 and "run `guardrail init`" in result.err
