"""Per-candidate statistics from result rows: what counts where, slices, violations, Pareto among the passing."""

from __future__ import annotations

import pytest
from tests.support.rows import Plant, Scenario, make_rows

from guardrail.core.measurement import all_candidate_stats, candidate_stats, mark_pareto_front
from guardrail.core.results import ResultRow


def _row(task: str, candidate: str, status: str, **extra: object) -> ResultRow:
    return ResultRow(run_id="r", task_id=task, suite="s", candidate=candidate, status=status, **extra)  # type: ignore[arg-type]


def test_errors_are_excluded_from_accuracy_and_counted_in_the_error_rate() -> None:
    rows = [_row(f"t{i}", "m", "pass") for i in range(6)] + [
        _row("t6", "m", "fail"),
        _row("t7", "m", "error", error="boom", cost_usd=0.5, latency_s=60.0),
    ]
    s = candidate_stats("m", rows)
    assert (s.rows, s.scored, s.passed, s.errors) == (8, 7, 6, 1)
    assert s.accuracy is not None and s.accuracy.point == pytest.approx(6 / 7)
    assert s.error_rate.point == pytest.approx(1 / 8)
    assert s.cost_per_task is not None and s.cost_per_task.point == pytest.approx(0.5 / 8)  # errors cost money
    assert s.latency_p95 is not None and s.latency_p95.point == 0.0  # an error's timeout is not the model's latency


def test_a_candidate_whose_every_row_errored_has_no_cost_or_accuracy() -> None:
    s = candidate_stats("m", [_row(f"t{i}", "m", "error", error="down") for i in range(5)])
    assert s.accuracy is None and s.cost_per_task is None and s.latency_p95 is None
    assert s.error_rate.point == 1.0


def test_slices_violations_and_bias_are_measured() -> None:
    sc = Scenario(
        [Plant("skewed", 0.9, hard_accuracy=0.6, flip_rate=0.3, violation_rate=0.1)], tasks=200, groups=60, seed=3
    )
    s = candidate_stats("skewed", make_rows(sc))
    slices = {(x.key, x.value): x.accuracy for x in s.slices}
    assert slices[("difficulty", "hard")].point < slices[("difficulty", "easy")].point
    assert s.violations > 0 and s.violations_by_rule == {"approval_required": s.violations}
    assert s.violation_rate is not None and s.violation_rate.point == pytest.approx(s.violations / s.scored)
    assert s.violation_rate.lower is not None and s.violation_rate.lower > 0.03  # a rate with its interval
    (bias,) = s.bias
    assert bias.attribute == "gender" and bias.groups == 60
    assert s.worst_bias() == bias


def test_the_pareto_front_is_drawn_among_the_candidates_that_passed() -> None:
    sc = Scenario(
        [
            Plant("good", 0.95, cost=0.002),
            Plant("cheap-but-failing", 0.99, cost=0.0005),
            Plant("dominated", 0.8, cost=0.003),
        ],
        tasks=200,
    )
    stats = all_candidate_stats(make_rows(sc), ["good", "cheap-but-failing", "dominated"])
    everyone = mark_pareto_front(stats, {"good", "cheap-but-failing", "dominated"})
    assert {s.candidate for s in everyone if s.on_pareto_front} == {"cheap-but-failing"}
    passing = mark_pareto_front(stats, {"good", "dominated"})
    assert {s.candidate for s in passing if s.on_pareto_front} == {"good"}
