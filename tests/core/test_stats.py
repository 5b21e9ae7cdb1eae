"""The statistics: known values, the right interval for the sampling design, agreement with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from guardrail.core import stats


def test_wilson_matches_the_textbook_value() -> None:
    # 81 of 263 (Newcombe 1998, example): 0.2553 to 0.3662
    interval = stats.wilson(81, 263)
    assert interval.method == "wilson"
    assert interval.point == pytest.approx(81 / 263)
    assert interval.lower == pytest.approx(0.2553, abs=5e-4)
    assert interval.upper == pytest.approx(0.3662, abs=5e-4)


def test_wilson_ends_are_exact_and_not_degenerate() -> None:
    none, every = stats.wilson(0, 50), stats.wilson(50, 50)
    assert none.lower == 0.0 and 0.05 < none.upper < 0.09  # zero successes still leaves room
    assert every.upper == 1.0 and 0.91 < every.lower < 0.95
    with pytest.raises(ValueError):
        stats.wilson(0, 0)


def test_independent_units_get_wilson_and_clustered_units_a_cluster_bootstrap() -> None:
    values = [True] * 70 + [False] * 30
    independent = stats.proportion(values, [f"t{i}" for i in range(100)])
    assert independent is not None and independent.method == "wilson" and independent.n == 100
    clusters = [f"g{i // 4}" for i in range(100)]  # 25 clusters of four rows
    clustered = stats.proportion(values, clusters, seed=1)
    assert clustered is not None and clustered.method == "cluster-bootstrap" and clustered.n == 25
    assert clustered.point == pytest.approx(0.7)
    # rows in a cluster agree completely here, so the honest interval is much wider than pretending independence
    assert (clustered.upper - clustered.lower) > 1.5 * (independent.upper - independent.lower)


def test_cluster_bootstrap_is_seeded_and_reproducible() -> None:
    values = [i % 3 == 0 for i in range(90)]
    clusters = [i // 3 for i in range(90)]
    assert stats.proportion(values, clusters, seed=5) == stats.proportion(values, clusters, seed=5)


def test_a_degenerate_cluster_bootstrap_falls_back_to_wilson_over_clusters() -> None:
    interval = stats.proportion([True] * 40, [i // 2 for i in range(40)])
    assert interval is not None
    assert interval.method == "wilson-clusters" and interval.point == 1.0 and interval.n == 20
    assert interval.lower == pytest.approx(stats.wilson(20, 20).lower)


def test_empty_inputs_give_no_interval() -> None:
    assert stats.proportion([]) is None
    assert stats.mean([]) is None
    assert stats.quantiles([], (0.5,)) is None


def test_mean_and_quantile_intervals_bracket_known_values() -> None:
    rng = np.random.default_rng(0)
    costs = rng.exponential(0.001, size=400).tolist()
    mean = stats.mean(costs, seed=2)
    assert mean is not None and mean.method == "bootstrap"
    assert mean.lower < np.mean(costs) < mean.upper
    latencies = rng.lognormal(0.0, 0.5, size=500).tolist()
    p50, p95 = stats.quantiles(latencies, (0.5, 0.95), seed=3) or []
    assert p50.point == pytest.approx(np.quantile(latencies, 0.5))
    assert p95.lower <= np.quantile(latencies, 0.95) <= p95.upper
    assert p50.upper < p95.lower


def test_binomial_two_sided_agrees_with_scipy() -> None:
    for n in range(0, 60):
        for k in range(0, n + 1):
            expected = binomtest(k, n, 0.5).pvalue if n else 1.0
            assert stats.binomial_two_sided(k, n) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert stats.binomial_two_sided(600, 1500) == pytest.approx(binomtest(600, 1500).pvalue, rel=1e-9)


def test_paired_counts_discordant_pairs_and_runs_mcnemar() -> None:
    base = [True] * 80 + [False] * 20
    cand = [True] * 70 + [False] * 10 + [True] * 5 + [False] * 15  # 10 worse, 5 better
    result = stats.paired(cand, base, list(range(100)), seed=4)
    assert result is not None
    assert (result.better, result.worse, result.n_pairs) == (5, 10, 100)
    assert result.diff.point == pytest.approx(-0.05)
    assert result.mcnemar_p == pytest.approx(binomtest(5, 15, 0.5).pvalue)
    assert result.diff.lower < -0.05 < result.diff.upper
    assert result.diff.method == "paired-bootstrap"


def test_identical_outcomes_are_an_exact_zero_difference() -> None:
    same = [True, False, True, True]
    result = stats.paired(same, same, [1, 2, 3, 4])
    assert result is not None
    assert (result.diff.lower, result.diff.upper, result.mcnemar_p) == (0.0, 0.0, 1.0)


def test_holm_step_down() -> None:
    adjusted = stats.holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted["a"] == pytest.approx(0.03)  # 3 x 0.01
    assert adjusted["c"] == pytest.approx(0.06)  # 2 x 0.03
    assert adjusted["b"] == pytest.approx(0.06)  # max(1 x 0.04, previous): monotone
    assert stats.holm({}) == {}
    assert stats.holm({"x": 0.9, "y": 0.8}) == {"x": 1.0, "y": 1.0}


def test_parity_difference_and_impact_ratio() -> None:
    # 40 groups, two variants each: women favoured in 12, men in 24 (men's rate 0.6, women's 0.3)
    favourable, values, clusters = [], [], []
    for g in range(40):
        favourable += [g < 12, g < 24]
        values += ["female", "male"]
        clusters += [g, g]
    result = stats.parity(favourable, values, clusters, seed=6)
    assert result is not None
    assert result.rates["female"].point == pytest.approx(0.3)
    assert result.rates["male"].point == pytest.approx(0.6)
    assert result.parity_diff.point == pytest.approx(0.3)
    assert result.impact_ratio.point == pytest.approx(0.5)  # fails the four-fifths rule
    assert result.impact_ratio.upper < 0.8
    assert (result.lowest, result.highest) == ("female", "male")
    assert stats.parity([True, False], ["a", "a"], [1, 2]) is None  # one value: nothing to compare


def test_direction_test_is_symmetric() -> None:
    assert stats.direction_test(10, 10) == 1.0
    assert stats.direction_test(15, 1) == stats.direction_test(1, 15) < 0.001
    assert stats.direction_test(0, 0) == 1.0


def test_pareto_front() -> None:
    points = {"cheap": (0.1, 0.80), "mid": (0.5, 0.90), "pricey": (1.0, 0.95), "worse": (0.6, 0.85), "tie": (0.5, 0.90)}
    assert stats.pareto_front(points) == {"cheap", "mid", "pricey", "tie"}


def test_large_inputs_are_chunked_not_materialised() -> None:
    values = [i % 5 != 0 for i in range(50_000)]
    clusters = [i // 2 for i in range(50_000)]
    interval = stats.proportion(values, clusters, resamples=2000, seed=0)
    assert interval is not None and interval.lower < 0.8 < interval.upper
