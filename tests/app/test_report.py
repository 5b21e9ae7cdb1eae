"""build_reports and `guardrail report`: files, the gate policy's decision, exit codes, no litellm."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.support.rows import Plant, Scenario, write_run

from guardrail.adapters.rego import RegoEngine, load_bundle
from guardrail.app.report import build_reports
from guardrail.core.summary import SUMMARY_SCHEMA_VERSION, Summary
from guardrail.errors import ConfigError, CouldNotFinish, PolicyError
from guardrail.project import Project

REPO = Path(__file__).resolve().parents[2]

PLANTS = [
    Plant("sim/frontier", 0.95, cost=0.003, latency=2.0),
    Plant("sim/balanced", 0.95, cost=0.0008),
    Plant("sim/budget", 0.80, hard_accuracy=0.5, cost=0.0002, latency=0.5),
    Plant("sim/reckless", 0.93, violation_rate=0.05, cost=0.0004),
    Plant("sim/skewed", 0.94, flip_rate=0.25, cost=0.0005),
]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "policies" / "gate").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "gate" / "eval.rego", tmp_path / "policies" / "gate" / "eval.rego")
    (tmp_path / "reports").mkdir()
    return Project(tmp_path)


def _run(project: Project, *, proposed: str | None = "sim/balanced", **kw: object) -> Path:
    plants = list(kw.pop("plants", PLANTS))  # type: ignore[call-overload]
    sc = Scenario(plants, tasks=int(kw.pop("tasks", 200)), groups=40, coupling=0.9, seed=11)  # type: ignore[call-overload]
    return write_run(project.reports, sc, proposed=proposed, current_model="sim/frontier", **kw)


def test_build_reports_writes_every_file_and_the_gate_decides(project: Project) -> None:
    run_dir = _run(project)
    outcome = build_reports(run_dir, track=False, tracking_uri=None, project=project)
    assert set(outcome.files) == {"csv", "summary", "markdown", "html"}
    summary = Summary.model_validate_json((run_dir / "summary.json").read_text())
    assert summary.v == SUMMARY_SCHEMA_VERSION and summary.tracking is None
    assert summary.counts.of("sim/balanced").tasks == 280  # the runner's counts travel along
    verdicts = {v.candidate: v for v in summary.gate.verdicts}
    assert verdicts["sim/balanced"].passed and summary.gate.allow
    assert {r.threshold for r in verdicts["sim/budget"].reasons} >= {"accuracy", "noninferiority"}
    assert "policy_violations" in {r.threshold for r in verdicts["sim/reckless"].reasons}
    assert "bias_flip_rate" in {r.threshold for r in verdicts["sim/skewed"].reasons}
    assert "cost_per_task_usd" in {r.threshold for r in verdicts["sim/frontier"].reasons}  # 0.003 > 0.002
    assert summary.recommendation.candidate == "sim/balanced"
    assert summary.recommendation.saving_per_1000_tasks_usd is not None
    assert summary.recommendation.saving_per_1000_tasks_usd > 1.5
    assert summary.provenance.hashes["spec"] == "a" * 64 and summary.provenance.gate_policy_hash
    with (run_dir / "results.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 5 * 280 and {"slice.difficulty", "slice.channel"} <= set(table[0])
    md = (run_dir / "report.md").read_text()
    assert "**Gate: ALLOW** for `sim/balanced`" in md and "sim/budget (simulated)" in md
    html = (run_dir / "report.html").read_text()
    for chart in ("chart-accuracy", "chart-paired", "chart-pareto", "chart-slices", "chart-bias"):
        assert f'id="{chart}"' in html
    assert (
        "<script src" not in html
        and "<link" not in html
        and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    )  # one self-contained file: nothing fetched
    assert "approval_required" in html  # the reckless model's violations, with their transcripts
    assert html.count("<details>") == summary.stats_of("sim/reckless").violations  # type: ignore[union-attr]


def test_rebuilding_gives_the_same_statistics(project: Project) -> None:
    run_dir = _run(project)
    first = build_reports(run_dir, track=False, tracking_uri=None, project=project).summary
    second = build_reports(run_dir, track=False, tracking_uri=None, project=project).summary
    assert first.candidates == second.candidates and first.comparisons == second.comparisons


def test_proposed_candidate_denied_exits_1(project: Project) -> None:
    run_dir = _run(project, proposed="sim/budget")
    result = run_cli("report", run_dir.name, "--reports", project.reports, "--no-track")
    assert result.code == 1, result.text
    assert "gate: DENY for sim/budget" in result.out
    assert "denied the proposed candidate sim/budget" in result.err
    assert "recommendation: switch support-triage to sim/balanced" in result.out


def test_allowed_run_exits_0_and_prints_the_ranked_table(project: Project) -> None:
    run_dir = _run(project)
    result = run_cli("report", str(run_dir), "--no-track")
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    ranked = [line for line in lines if re.match(r"^│ \d ", line)]
    assert "sim/balanced (sim)" in ranked[0] and "PASS" in ranked[0]  # cheapest passing first
    assert re.search(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", ranked[0])  # an interval, not a bare number


def test_without_a_proposal_the_gate_allows_when_any_candidate_passes(project: Project) -> None:
    outcome = build_reports(_run(project, proposed=None), track=False, tracking_uri=None, project=project)
    assert outcome.allowed and outcome.summary.gate.proposed is None


def test_every_candidate_failing_denies(project: Project) -> None:
    plants = [Plant("a", 0.7), Plant("b", 0.6)]
    outcome = build_reports(
        _run(project, proposed=None, plants=plants), track=False, tracking_uri=None, project=project
    )
    assert not outcome.allowed and outcome.summary.recommendation.candidate is None
    assert outcome.summary.recommendation.stopped["a"] == ["accuracy"]


def test_a_project_without_the_gate_policy_is_an_input_error(project: Project) -> None:
    run_dir = _run(project)
    (project.policies / "gate" / "eval.rego").rename(project.policies / "gate" / "other.rego.txt")
    (project.policies / "gate" / "x.rego").write_text("package gate.other\n\nallow := true\n")
    with pytest.raises(PolicyError, match="no gate policy"):
        build_reports(run_dir, track=False, tracking_uri=None, project=project)
    assert run_cli("report", str(run_dir), "--no-track", cwd=project.root).code == 2


def test_unknown_run_and_empty_run_are_reported_clearly(project: Project) -> None:
    result = run_cli("report", "nope", "--reports", project.reports, "--no-track")
    assert result.code == 2 and "run 'nope' not found" in result.err and "Traceback" not in result.text
    run_dir = _run(project)
    (run_dir / "results.jsonl").write_text("")
    with pytest.raises(CouldNotFinish, match="no results"):
        build_reports(run_dir, track=False, tracking_uri=None, project=project)
    (run_dir / "run.json").write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(ConfigError, match="run.json"):
        build_reports(run_dir, track=False, tracking_uri=None, project=project)


def test_the_gate_policy_unit_tests_pass_with_full_coverage() -> None:
    bundle = load_bundle(REPO / "policies" / "gate", display_root=REPO)
    engine = RegoEngine(bundle, coverage=True)
    source = dict(bundle.modules)["policies/gate/eval_test.rego"]
    tests = re.findall(r"^(test_\w+) if", source, re.MULTILINE)
    assert len(tests) >= 15
    failing = [name for name in tests if engine.query(f"data.gate.eval_test.{name}") is not True]
    assert failing == []
    (report,) = [f for f in engine.coverage()["files"] if f["path"] == "policies/gate/eval.rego"]
    covered, missed = len(report["covered"]), len(report["not_covered"])
    assert covered / (covered + missed) >= 0.9, report["not_covered"]


def test_the_repository_policies_answer_the_gate_query() -> None:
    from guardrail.app.report import GATE_QUERY

    engine = RegoEngine(load_bundle(REPO / "policies", include_tests=False))
    answer = engine.query(GATE_QUERY, {"candidates": {}, "thresholds": {}, "baseline": "x", "proposed": None})
    assert answer == {"allow": False, "candidates": {}}


@pytest.mark.integration
def test_guardrail_report_does_not_import_litellm(project: Project) -> None:
    run_dir = _run(project)
    probe = (
        "import sys\n"
        "from guardrail.cli.main import main\n"
        f"code = main(['report', {str(run_dir)!r}, '--no-track'])\n"
        "print('LITELLM', 'litellm' in sys.modules, 'CODE', code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=project.root, env=env, capture_output=True, text=True, timeout=120
    )
    assert "LITELLM False CODE 0" in done.stdout, done.stdout + done.stderr
