"""`plan_eval`: tasks needed from an assumed agreement, or from the agreement a stored run showed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.rows import Plant, Scenario, write_run
from tests.support.run_project import make_project

from guardrail.app.plan import ASSUMED_AGREEMENT, plan_eval
from guardrail.core.paired import pairs_needed
from guardrail.errors import ConfigError


def _stored_run(root: Path, run_id: str, coupling: float) -> Path:
    sc = Scenario([Plant("openai/good", 0.9), Plant("openai/reckless", 0.9)], tasks=120, coupling=coupling,
                  run_id=run_id)  # fmt: skip
    run_dir = write_run(root / "reports", sc)
    manifest = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**manifest, "eval_name": "triage-choice"}))
    return run_dir


def test_without_a_run_the_plan_assumes_an_agreement_and_says_so(tmp_path: Path) -> None:
    plan = plan_eval(make_project(tmp_path))
    (line,) = plan.lines
    assert (line.candidate, line.source, line.agreement) == ("any candidate", "assumed", ASSUMED_AGREEMENT)
    assert line.pairs_needed == pairs_needed(0.05, 1 - ASSUMED_AGREEMENT) and line.tasks_needed == line.pairs_needed
    assert plan.margin == 0.05 and plan.family == 1 and plan.tasks == 6 and not plan.enough(line)


def test_the_newest_run_of_the_eval_gives_the_observed_agreement(tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    _stored_run(tmp_path, "20260101T000000Z-aaaa", coupling=0.2)
    _stored_run(tmp_path, "20260102T000000Z-bbbb", coupling=0.95)
    (line,) = plan_eval(spec).lines
    assert line.candidate == "openai/reckless" and line.source == "run 20260102T000000Z-bbbb"
    assert line.agreement > 0.9
    (older,) = plan_eval(spec, run_id="20260101T000000Z-aaaa").lines
    assert older.agreement < line.agreement and (older.pairs_needed or 0) > (line.pairs_needed or 0)
    (assumed,) = plan_eval(spec, agreement=0.99).lines  # an explicit assumption wins over the stored runs
    assert assumed.source == "assumed"


def test_more_candidates_need_more_tasks_and_repeats_divide_them(tmp_path: Path) -> None:
    one = plan_eval(make_project(tmp_path / "one")).lines[0]
    three = plan_eval(make_project(tmp_path / "three", candidates=["openai/good", "openai/a", "openai/b", "openai/c"],
                                   repeats=4))  # fmt: skip
    assert three.family == 3 and (three.lines[0].pairs_needed or 0) > (one.pairs_needed or 0)
    assert three.lines[0].tasks_needed == -(-(three.lines[0].pairs_needed or 0) // 4)


def test_an_expected_loss_beyond_the_margin_is_unreachable(tmp_path: Path) -> None:
    (line,) = plan_eval(make_project(tmp_path), difference=-0.06).lines
    assert line.pairs_needed is None and line.tasks_needed is None


def test_a_run_of_another_eval_is_refused(tmp_path: Path) -> None:
    spec = make_project(tmp_path)
    run_dir = write_run(tmp_path / "reports", Scenario([Plant("openai/good", 0.9)], tasks=5, run_id="other"))
    with pytest.raises(ConfigError, match="not triage-choice"):
        plan_eval(spec, run_id=run_dir.name)
