"""Proof that the harness measures right: every interval the gate reads covers the truth it was planted with, and a
harm at its limit is passed at most 2.5% of the time when judged on the bound.

Seeds are fixed, so each figure is deterministic; sizes keep the Monte Carlo error of each figure inside its bound.
The tables in docs/statistics.md come from the same functions (tests/validity/coverage.py) with more runs.
"""

from __future__ import annotations

import math

import pytest
from tests.support.rows import Plant, Scenario, make_rows, manifest
from tests.validity import coverage
from tests.validity.runs import engine

from guardrail.app.report import GATE_QUERY, summarise
from guardrail.core.bias import bias_by_attribute

pytestmark = pytest.mark.slow


def _se(p: float, runs: int) -> float:
    return math.sqrt(p * (1 - p) / runs)


@pytest.mark.parametrize("n", [20, 50, 300, 1000])
@pytest.mark.parametrize("p", [0.5, 0.85, 0.95, 0.99, 0.995])
def test_clopper_pearson_errs_on_each_side_at_most_two_and_a_half_percent(n: int, p: float) -> None:
    c = coverage.proportion_exact(n, p)  # exact: summed over every possible count
    assert c.low_miss <= 0.025 and c.high_miss <= 0.025 and c.covered >= 0.95
    if n >= 300 and p <= 0.95:
        assert c.covered <= 0.97  # near 0 or 1 with few failures, discreteness forces more (docs/statistics.md)


@pytest.mark.parametrize("clusters", [20, 60])
def test_korn_graubard_covers_clustered_accuracy(clusters: int) -> None:
    c = coverage.proportion_clustered(clusters, 3, 0.85, 0.3, runs=400, seed=clusters)
    print(f"\n{c.row()}")
    assert 0.93 - 2 * _se(0.95, 400) <= c.covered <= 0.97 + 2 * _se(0.95, 400)


def test_mean_cost_covers_and_says_when_skew_leaves_no_upper_bound() -> None:
    for n in (50, 300):
        c = coverage.mean_lognormal(n, 0.5, runs=600, seed=n)
        print(f"\n{c.row()}")
        assert 0.93 - 2 * _se(0.95, 600) <= c.covered <= 0.97 + 2 * _se(0.95, 600)
    heavy = coverage.mean_lognormal(50, 1.0, runs=300, seed=3)
    assert heavy.bounded < 0.3  # sigma 1: at 50 tasks the upper bound is mostly left out, with the reason


def test_p95_is_bounded_only_from_72_tasks_and_then_covers() -> None:
    small = coverage.p95_lognormal(50, runs=100, seed=1)
    assert small.bounded == 0.0 and small.covered >= 0.95
    c = coverage.p95_lognormal(300, runs=400, seed=2)
    print(f"\n{c.row()}")
    assert c.bounded == 1.0 and 0.93 - 2 * _se(0.95, 400) <= c.covered <= 0.97 + 2 * _se(0.95, 400)
    repeated = coverage.p95_lognormal(100, runs=200, seed=3, repeats=3, within=0.7)
    assert repeated.covered >= 0.93 - 2 * _se(0.95, 200)


def test_parity_intervals_cover_for_a_biased_and_a_fair_noisy_model() -> None:
    for rates, agreement in (((0.6, 0.45), 0.8), ((0.5, 0.5), 0.6)):
        for c in coverage.parity_pairs(85, rates, agreement, runs=300, seed=5):
            print(f"\n{c.row()}")
            assert c.covered >= 0.93 - 2 * _se(0.95, 300)
            assert c.low_miss <= 0.025 + 2 * _se(0.025, 300) or "parity" in c.label  # a ratio's lower bound
            assert c.high_miss <= 0.025 + 2 * _se(0.025, 300) or "impact" in c.label  # a gap's upper bound


def _bias(plant: Plant, seed: int, groups: int = 150):  # type: ignore[no-untyped-def]
    (bias,) = bias_by_attribute(make_rows(Scenario([plant], tasks=0, groups=groups, seed=seed)))
    return bias


def test_a_planted_ten_percent_flip_rate_is_detected_and_covered() -> None:
    seeds = 150
    flagged = covered = 0
    for seed in range(seeds):
        bias = _bias(Plant("skewed", 0.9, flip_rate=0.10), seed)
        flagged += bool(bias.flagged)
        covered += (bias.flip_rate.lower or 0) <= 0.10 <= (bias.flip_rate.upper or 1)
    print(f"\nplanted 10% flips (150 cases): flagged in {flagged / seeds:.2f}, coverage {covered / seeds:.2f}")
    assert flagged / seeds >= 0.95
    assert 0.92 <= covered / seeds <= 0.99


def test_a_fair_model_is_flagged_in_at_most_five_percent_of_seeds() -> None:
    seeds = 150
    flagged = sum(bool(_bias(Plant("fair", 0.9, decision_noise=0.05), seed).flagged) for seed in range(seeds))
    print(f"\nfair model with 5% decision noise: flagged in {flagged / seeds:.3f} of seeds")
    assert flagged / seeds <= 0.05
    consistent = _bias(Plant("fair", 0.9), seed=0)
    assert consistent.flip_rate.point == 0.0 and consistent.flagged is False


def test_a_flip_rate_at_its_limit_is_passed_at_most_two_and_a_half_percent_of_the_time() -> None:
    """Through the gate policy: a harm judged on its upper bound puts the burden of proof on the candidate."""
    runs, limit = 300, 0.1
    thresholds = {"bias_flip_rate": {"max": limit}}
    passed = 0
    for seed in range(runs):
        sc = Scenario([Plant("m", 0.95, flip_rate=limit)], tasks=20, groups=150, seed=seed)
        run = manifest(sc, proposed="m", thresholds=thresholds)
        summary = summarise(run, make_rows(sc), lambda doc: engine().query(GATE_QUERY, doc), gate_policy_hash=None)
        passed += summary.gate.allow
    print(f"\nflip rate planted at the {limit} limit: passed in {passed / runs:.3f} of {runs} runs")
    assert passed / runs <= 0.025 + 2 * _se(0.025, runs)

