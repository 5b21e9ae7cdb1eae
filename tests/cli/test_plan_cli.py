"""`guardrail plan`: exit 0 with the table, exit 2 on bad input."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli
from tests.support.run_project import make_project


def test_plan_prints_the_tasks_needed_and_exits_0(tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    result = run_cli("plan", spec, "--agreement", "0.95", cwd=tmp_path)
    assert result.code == 0, result.text
    assert "any candidate" in result.out and "assumed" in result.out
    assert "too small for every line: the suites hold 6 tasks x 1 repeat(s)" in result.out


def test_plan_refuses_bad_input_with_exit_2(tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    missing = run_cli("plan", tmp_path / "evals" / "nope.yaml", cwd=tmp_path)
    assert missing.code == 2 and "Traceback" not in missing.text
    unknown = run_cli("plan", spec, "--run", "no-such-run", cwd=tmp_path)
    assert unknown.code == 2 and "run 'no-such-run' not found" in unknown.err
    spec.write_text(spec.read_text().replace('"noninferiority_margin": 0.05', '"accuracy": {"min": 0.5}'))
    no_margin = run_cli("plan", spec, cwd=tmp_path)
    assert no_margin.code == 2 and "thresholds.noninferiority_margin: required" in no_margin.err
