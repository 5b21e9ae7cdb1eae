"""Candidate vs baseline: the analysis set, errors as failures, both analyses, Holm, warnings."""

from __future__ import annotations

import pytest
from tests.support.rows import Plant, Scenario, make_rows

from guardrail.core.comparison import MIN_CLUSTERS, AnalysisSet, compare, completeness
from guardrail.core.results import ResultRow


def _row(task: str, candidate: str, status: str, **extra: object) -> ResultRow:
    return ResultRow(run_id="r", task_id=task, suite="s", candidate=candidate, status=status, **extra)  # type: ignore[arg-type]


def test_errors_count_as_failures_first_and_are_left_out_second() -> None:
    rows = []
    for i in range(30):
        rows.append(_row(f"t{i}", "base", "error" if i == 0 else "pass"))
        rows.append(_row(f"t{i}", "cand", "error" if i in (1, 2) else ("fail" if i < 8 else "pass")))
    (c,) = compare(rows, "base", ["base", "cand"], margin=0.05, analysis=AnalysisSet(tasks=30))
    primary, secondary = c.errors_as_failures, c.errors_excluded
    assert (primary.pairs, primary.better, primary.worse) == (30, 0, 7)  # the candidate's errors are failures
    assert (secondary.pairs, secondary.better, secondary.worse, c.dropped_errors) == (27, 0, 5, 3)
    assert primary.diff is not None and primary.diff.point == pytest.approx(-7 / 30)
    assert c.complete and c.family == 1
    assert primary.p_noninferiority_adjusted == primary.p_noninferiority  # a family of one: Holm changes nothing


def test_a_candidate_that_errors_where_it_would_fail_is_not_flattered() -> None:
    sc = Scenario([Plant("base", 0.9), Plant("cand", 0.9)], tasks=300, coupling=0.95, seed=4)
    rows = make_rows(sc)
    # the candidate "errors" on every task it failed: excluding errors would make it look perfect
    rows = [
        r.model_copy(update={"status": "error"}) if r.candidate == "cand" and r.status == "fail" else r for r in rows
    ]
    (c,) = compare(rows, "base", ["base", "cand"], margin=0.03, analysis=AnalysisSet(tasks=300))
    assert c.errors_excluded.diff is not None and c.errors_excluded.diff.point > 0
    assert c.errors_as_failures.diff is not None and c.errors_as_failures.diff.point <= 0.01
    assert c.errors_as_failures.p_noninferiority is not None and c.errors_as_failures.p_noninferiority > 0.025


def test_missing_tasks_and_unfinished_runs_are_incomplete() -> None:
    rows = make_rows(Scenario([Plant("base", 0.9), Plant("cand", 0.9)], tasks=50, seed=1))
    partial = [r for r in rows if r.candidate == "base" or int(r.task_id[-4:]) < 40]
    (c,) = compare(partial, "base", ["base", "cand"], margin=0.05, analysis=AnalysisSet(tasks=50))
    assert not c.complete and c.incomplete == ["40 of 50 task results"]
    assert c.errors_as_failures.pairs == 40  # still compared on what it has, for the report
    (c,) = compare(rows, "base", ["base", "cand"], margin=0.05, analysis=AnalysisSet(tasks=50, status="interrupted"))
    assert not c.complete and "the run is interrupted, not finished" in c.incomplete
    no_base = [r for r in rows if r.candidate == "cand" or int(r.task_id[-4:]) < 45]
    (c,) = compare(no_base, "base", ["base", "cand"], margin=0.05, analysis=AnalysisSet(tasks=50))
    assert c.incomplete == ["baseline base: 45 of 50 task results"]
    assert completeness(rows, ["base", "cand", "ghost"], AnalysisSet(tasks=50)) == {
        "base": [], "cand": [], "ghost": ["0 of 50 task results"]
    }  # fmt: skip


def test_several_candidates_are_one_family_under_holm() -> None:
    sc = Scenario([Plant("base", 0.9), Plant("a", 0.8), Plant("b", 0.88), Plant("c", 0.9)], tasks=300, seed=1)
    comps = compare(make_rows(sc), "base", ["base", "a", "b", "c"], margin=0.03)
    assert [c.candidate for c in comps] == ["a", "b", "c"] and {c.family for c in comps} == {3}
    raw = {c.candidate: c.errors_as_failures.p_noninferiority for c in comps}
    smallest = min(comps, key=lambda c: raw[c.candidate] or 1)
    assert smallest.errors_as_failures.p_noninferiority_adjusted == pytest.approx(min(1.0, 3 * raw[smallest.candidate]))  # type: ignore[operator]
    worst = next(c for c in comps if c.candidate == "a")
    assert worst.significantly_worse and not worst.significantly_better


def test_no_margin_means_no_noninferiority_test() -> None:
    sc = Scenario([Plant("base", 0.9), Plant("a", 0.9)], tasks=50)
    (c,) = compare(make_rows(sc), "base", ["base", "a"], margin=None)
    assert c.errors_as_failures.p_noninferiority is None and c.diff is not None and c.pairs_needed is None


def test_an_inconclusive_small_run_is_called_underpowered() -> None:
    sc = Scenario([Plant("base", 0.85), Plant("a", 0.85)], tasks=40, coupling=0.5, seed=2)
    (c,) = compare(make_rows(sc), "base", ["base", "a"], margin=0.05)
    assert c.pairs_needed is not None and c.pairs_needed > 40
    assert any(w.startswith("underpowered:") and "this run has 40" in w for w in c.warnings)
    decisive = Scenario([Plant("base", 0.9), Plant("a", 0.9)], tasks=600, coupling=0.95, seed=2)
    (c,) = compare(make_rows(decisive), "base", ["base", "a"], margin=0.05)
    assert not any(w.startswith("underpowered") for w in c.warnings)


def test_few_clusters_are_warned_about() -> None:
    sc = Scenario([Plant("base", 0.8), Plant("a", 0.8)], tasks=MIN_CLUSTERS - 5, repeats=4, seed=3)
    (c,) = compare(make_rows(sc), "base", ["base", "a"], margin=0.1)
    assert c.errors_as_failures.clusters == MIN_CLUSTERS - 5
    assert any(f"only {MIN_CLUSTERS - 5} independent clusters" in w for w in c.warnings)
