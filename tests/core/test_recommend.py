"""Rows to comparison records, the gate's input, reading its answer, and the recommendation."""

from __future__ import annotations

import pytest
from tests.support.rows import Plant, Scenario, make_rows

from guardrail.core import recommend as rec
from guardrail.core.results import ResultRow

RESAMPLES = 500  # enough for shape checks; validity tests use the default


def _row(task: str, candidate: str, status: str, **extra: object) -> ResultRow:
    return ResultRow(run_id="r", task_id=task, suite="s", candidate=candidate, status=status, **extra)  # type: ignore[arg-type]


def test_errors_are_excluded_from_accuracy_and_counted_in_the_error_rate() -> None:
    rows = [_row(f"t{i}", "m", "pass") for i in range(6)] + [
        _row("t6", "m", "fail"),
        _row("t7", "m", "error", error="boom", cost_usd=0.5, latency_s=60.0),
    ]
    s = rec.candidate_stats("m", rows, resamples=RESAMPLES)
    assert (s.rows, s.scored, s.passed, s.errors) == (8, 7, 6, 1)
    assert s.accuracy is not None and s.accuracy.point == pytest.approx(6 / 7)
    assert s.error_rate.point == pytest.approx(1 / 8)
    assert s.cost_per_task is not None and s.cost_per_task.point == pytest.approx(0.5 / 8)  # errors cost money
    assert s.latency_p95 is not None and s.latency_p95.point == 0.0  # an error's timeout is not the model's latency


def test_a_candidate_that_never_answered_has_no_cost_per_task() -> None:
    rows = [_row(f"t{i}", "m", "error", error="HTTP 404: no such model", error_kind="bad_request") for i in range(3)]
    s = rec.candidate_stats("m", rows, resamples=RESAMPLES)
    assert s.accuracy is None and s.cost_per_task is None and s.error_rate.point == 1.0


def test_slices_violations_and_bias_are_measured() -> None:
    sc = Scenario(
        [Plant("skewed", 0.9, hard_accuracy=0.6, flip_rate=0.3, violation_rate=0.1)], tasks=200, groups=60, seed=3
    )
    s = rec.candidate_stats("skewed", make_rows(sc), resamples=RESAMPLES)
    slices = {(x.key, x.value): x.accuracy for x in s.slices}
    assert slices[("difficulty", "hard")].point < slices[("difficulty", "easy")].point
    assert s.violations > 0 and s.violations_by_rule == {"approval_required": s.violations}
    (bias,) = s.bias
    assert bias.attribute == "gender" and bias.groups == 60
    assert 0.15 < bias.flip_rate.point < 0.45 and bias.flip_rate.lower > 0.05  # planted 0.3; coverage: validity
    assert bias.parity is not None and bias.parity.lowest == "female"
    assert bias.flagged is True and bias.toward > bias.away


def test_pairs_with_an_error_on_either_side_are_dropped_and_counted() -> None:
    rows = []
    for i in range(30):
        rows.append(_row(f"t{i}", "base", "error" if i == 0 else "pass"))
        rows.append(_row(f"t{i}", "cand", "error" if i == 1 else ("fail" if i < 8 else "pass")))
    rows.append(_row("only-cand", "cand", "pass"))
    (c,) = rec.compare(rows, "base", ["base", "cand"], margin=0.05, resamples=RESAMPLES)
    assert (c.n_pairs, c.dropped_errors, c.unmatched) == (28, 2, 1)
    assert (c.better, c.worse) == (0, 6)
    assert c.diff is not None and c.diff.point == pytest.approx(-6 / 28)
    assert c.noninferior is False and c.holm_p == c.mcnemar_p  # one comparison: Holm changes nothing


def test_holm_is_applied_across_candidates() -> None:
    sc = Scenario([Plant("base", 0.9), Plant("a", 0.8), Plant("b", 0.85), Plant("c", 0.9)], tasks=300, seed=1)
    comps = rec.compare(make_rows(sc), "base", ["base", "a", "b", "c"], margin=0.03, resamples=RESAMPLES)
    assert [c.candidate for c in comps] == ["a", "b", "c"]
    for c in comps:
        assert c.holm_p is not None and c.mcnemar_p is not None and c.holm_p >= c.mcnemar_p
    smallest = min(comps, key=lambda c: c.mcnemar_p or 1)
    assert smallest.holm_p == pytest.approx(min(1.0, 3 * (smallest.mcnemar_p or 0)))


def test_no_margin_means_no_noninferiority_verdict() -> None:
    sc = Scenario([Plant("base", 0.9), Plant("a", 0.9)], tasks=50)
    (c,) = rec.compare(make_rows(sc), "base", ["base", "a"], margin=None, resamples=RESAMPLES)
    assert c.noninferior is None and c.diff is not None


def _stats_and_comparisons(sc: Scenario, margin: float = 0.05):  # type: ignore[no-untyped-def]
    rows = make_rows(sc)
    names = [p.candidate for p in sc.plants]
    stats = rec.all_candidate_stats(rows, names, resamples=RESAMPLES)
    return stats, rec.compare(rows, names[0], names, margin=margin, resamples=RESAMPLES)


def test_gate_input_names_metrics_as_the_thresholds_do() -> None:
    sc = Scenario([Plant("base", 0.9, cost=0.002), Plant("cheap", 0.9, cost=0.0005)], tasks=80, groups=20)
    stats, comps = _stats_and_comparisons(sc)
    doc = rec.gate_input(stats, comps, thresholds={"accuracy": {"min": 0.8}}, baseline="base", proposed="cheap",
                         max_error_rate=0.2)  # fmt: skip
    cheap = doc["candidates"]["cheap"]
    assert set(cheap["metrics"]) >= {
        "accuracy", "error_rate", "policy_violations", "cost_per_task_usd", "latency_p95_s", "bias_flip_rate",
        "demographic_parity_diff", "disparate_impact",
    }  # fmt: skip
    assert set(cheap["metrics"]["accuracy"]) == {"point", "lower", "upper"}
    assert cheap["noninferior"] in (True, False) and doc["candidates"]["base"]["noninferior"] is None
    assert cheap["errors"] == {"count": 0, "rows": 120, "rate": 0.0}
    assert (doc["baseline"], doc["proposed"], doc["max_error_rate"]) == ("base", "cheap", 0.2)


def test_a_malformed_policy_answer_denies_everyone() -> None:
    sc = Scenario([Plant("base", 0.9), Plant("cheap", 0.9)], tasks=40)
    stats, comps = _stats_and_comparisons(sc)
    for answer in (None, {"allow": "yes"}, {"allow": True, "candidates": {"base": {"pass": "true"}}}):
        decision = rec.read_decision(answer, stats, comps, baseline="base", proposed=None)
        assert all(not v.passed for v in decision.verdicts)
        assert decision.verdicts[0].reasons[0].threshold == "policy"
    assert rec.read_decision({"allow": "yes"}, stats, comps, baseline="base", proposed=None).allow is False


def _decision(passes: dict[str, list[str]]) -> dict[str, object]:
    return {
        "allow": any(not reasons for reasons in passes.values()),
        "candidates": {
            name: {"pass": not reasons, "reasons": [{"threshold": t, "msg": f"{t} failed"} for t in reasons]}
            for name, reasons in passes.items()
        },
    }


def test_recommendation_is_the_cheapest_passing_candidate_with_its_saving() -> None:
    sc = Scenario(
        [Plant("frontier", 0.95, cost=0.004), Plant("balanced", 0.93, cost=0.001), Plant("budget", 0.8, cost=0.0002)],
        tasks=100,
    )
    stats, comps = _stats_and_comparisons(sc)
    answer = _decision({"frontier": [], "balanced": [], "budget": ["accuracy", "noninferiority"]})
    decision = rec.read_decision(answer, stats, comps, baseline="frontier", proposed="balanced")
    r = rec.recommend("triage", stats, decision, current_model="frontier")
    by_name = {s.candidate: s for s in stats}
    assert r.candidate == "balanced" and r.simulated
    saving = (by_name["frontier"].cost_per_task.point - by_name["balanced"].cost_per_task.point) * 1000  # type: ignore[union-attr]
    assert r.saving_per_1000_tasks_usd == pytest.approx(saving)
    assert r.stopped == {"budget": ["accuracy", "noninferiority"]}
    assert "balanced (simulated)" in r.message and "saves $" in r.message


def test_when_nothing_passes_the_recommendation_says_what_stopped_each() -> None:
    sc = Scenario([Plant("a", 0.9), Plant("b", 0.7)], tasks=40)
    stats, comps = _stats_and_comparisons(sc)
    answer = _decision({"a": ["latency_p95_s"], "b": ["accuracy", "policy_violations"]})
    decision = rec.read_decision(answer, stats, comps, baseline="a", proposed=None)
    r = rec.recommend("triage", stats, decision, current_model="openai/gpt-4o")
    assert r.candidate is None and r.saving_per_1000_tasks_usd is None
    assert r.stopped == {"a": ["latency_p95_s"], "b": ["accuracy", "policy_violations"]}
    assert "a: latency_p95_s" in r.message and "b: accuracy, policy_violations" in r.message


def test_recommending_the_current_model_says_keep_it() -> None:
    sc = Scenario([Plant("a", 0.9, cost=0.001), Plant("b", 0.9, cost=0.002)], tasks=40)
    stats, comps = _stats_and_comparisons(sc)
    decision = rec.read_decision(_decision({"a": [], "b": []}), stats, comps, baseline="a", proposed=None)
    r = rec.recommend("triage", stats, decision, current_model="a")
    assert r.candidate == "a" and r.saving_per_1000_tasks_usd == 0.0
    assert r.message.startswith("keep triage on a (simulated)")


def test_pareto_front_is_marked() -> None:
    sc = Scenario([Plant("good", 0.95, cost=0.001), Plant("dominated", 0.8, cost=0.002)], tasks=200)
    stats, _ = _stats_and_comparisons(sc)
    assert {s.candidate: s.on_pareto_front for s in stats} == {"good": True, "dominated": False}
