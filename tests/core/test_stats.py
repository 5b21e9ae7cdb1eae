"""Single-quantity statistics: known values, the right interval for the sampling design, agreement with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest, t

from guardrail.core import stats


def test_clopper_pearson_matches_scipy_and_the_closed_forms_at_the_ends() -> None:
    for x, n in ((81, 263), (0, 20), (20, 20), (1, 50), (49, 50)):
        expected = binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
        lo, hi = stats.clopper_pearson(x, n)
        assert (lo, hi) == pytest.approx((expected.low, expected.high), abs=1e-9)
    assert stats.clopper_pearson(0, 20)[1] == pytest.approx(1 - 0.025 ** (1 / 20))  # zero events still leave room
    assert stats.clopper_pearson(20, 20)[0] == pytest.approx(0.025 ** (1 / 20))
    with pytest.raises(ValueError):
        stats.clopper_pearson(0, 0)


def test_independent_units_get_clopper_pearson_and_clustered_units_korn_graubard() -> None:
    values = [True] * 70 + [False] * 30
    independent = stats.proportion(values, [f"t{i}" for i in range(100)])
    assert independent is not None and independent.method == "clopper-pearson" and independent.clusters is None
    clusters = [i // 10 for i in range(100)]  # ten clusters that agree within: ten units of evidence, not 100
    clustered = stats.proportion(values, clusters)
    assert clustered is not None and clustered.method == "korn-graubard" and clustered.clusters == 10
    assert clustered.point == pytest.approx(0.7)
    assert clustered.lower is not None and independent.lower is not None
    assert (clustered.upper - clustered.lower) > 1.5 * (independent.upper - independent.lower)  # type: ignore[operator]


def test_korn_graubard_is_clopper_pearson_on_the_effective_size() -> None:
    rng = np.random.default_rng(4)
    values = (rng.random(300) < 0.8).tolist()
    clusters = [i // 3 for i in range(300)]
    interval = stats.proportion(values, clusters)
    assert interval is not None
    data = stats.Clustered(values, clusters)
    p = interval.point
    n_eff = min(300, p * (1 - p) / data.ratio_variance(p)) * (stats.Z95 / t.ppf(0.975, 99)) ** 2
    assert (interval.lower, interval.upper) == pytest.approx(stats.clopper_pearson(p * n_eff, n_eff))


def test_clusters_that_all_agree_count_as_clusters() -> None:
    interval = stats.proportion([True] * 40, [i // 2 for i in range(40)])
    assert interval is not None
    assert interval.method == "clopper-pearson-clusters" and interval.point == 1.0 and interval.clusters == 20
    assert interval.lower == pytest.approx(stats.clopper_pearson(20, 20)[0])


def test_empty_inputs_give_no_interval() -> None:
    assert stats.proportion([]) is None
    assert stats.mean([]) is None
    assert stats.quantiles([], (0.5,)) is None


def test_mean_is_the_t_interval_and_clusters_widen_it() -> None:
    rng = np.random.default_rng(0)
    costs = rng.normal(0.002, 0.0002, size=60).tolist()
    mean = stats.mean(costs)
    assert mean is not None and mean.method == "t" and mean.note is None
    expected = t.interval(0.95, 59, loc=np.mean(costs), scale=np.std(costs, ddof=1) / math.sqrt(60))
    assert (mean.lower, mean.upper) == pytest.approx(expected)
    repeated = [c for c in costs for _ in range(3)]  # the same cost three times per task: still 60 units
    clustered = stats.mean(repeated, [i // 3 for i in range(180)])
    assert clustered is not None and clustered.method == "cluster-t" and clustered.clusters == 60
    assert (clustered.lower, clustered.upper) == pytest.approx(expected)


def test_a_skewed_sample_too_small_for_its_skew_has_no_upper_bound() -> None:
    costs = [0.001] * 29 + [0.05]  # one very expensive task in thirty
    mean = stats.mean(costs)
    assert mean is not None and mean.upper is None and mean.lower is not None
    assert mean.note is not None and "Cochran" in mean.note and "30 here" in mean.note


def test_quantile_bounds_are_the_exact_order_statistics() -> None:
    rng = np.random.default_rng(3)
    latencies = np.sort(rng.lognormal(0.0, 0.5, size=300))
    p50, p95 = stats.quantiles(latencies.tolist(), (0.5, 0.95)) or []
    assert p95.point == pytest.approx(np.quantile(latencies, 0.95)) and p95.method == "order-statistics"
    r = int(binom.ppf(0.025, 300, 0.95))  # P(Bin <= r - 1) <= 0.025 < P(Bin <= r)
    while binom.cdf(r - 1, 300, 0.95) > 0.025:
        r -= 1
    s = int(binom.ppf(0.975, 300, 0.95)) + 1  # P(Bin <= s - 1) >= 0.975
    assert p95.lower == latencies[r - 1] and p95.upper == latencies[s - 1]
    assert p50.upper is not None and p95.lower is not None and p50.upper < p95.lower


def test_a_p95_needs_72_independent_tasks_for_an_upper_bound() -> None:
    (small,) = stats.quantiles(list(np.linspace(1, 2, 50)), (0.95,)) or []
    assert small.upper is None and small.lower is not None
    assert small.note is not None and "72 independent tasks needed, 50 here" in small.note
    (enough,) = stats.quantiles(list(np.linspace(1, 2, 72)), (0.95,)) or []
    assert enough.upper == 2.0  # the largest of 72 bounds the 95th percentile with 97.5% confidence


def test_repeats_of_a_task_count_once_for_a_quantile() -> None:
    rng = np.random.default_rng(5)
    per_task = rng.lognormal(0.0, 0.5, size=60)
    repeated = np.repeat(per_task, 3).tolist()  # three identical repeats: 60 units of evidence, not 180
    (p95,) = stats.quantiles(repeated, (0.95,), [i // 3 for i in range(180)]) or []
    assert p95.upper is None  # 60 < 72
    (naive,) = stats.quantiles(repeated, (0.95,)) or []
    assert naive.upper is not None  # as if independent: a bound it has not earned


def test_binomial_two_sided_agrees_with_scipy() -> None:
    for n in range(0, 60):
        for k in range(0, n + 1):
            expected = binomtest(k, n, 0.5).pvalue if n else 1.0
            assert stats.binomial_two_sided(k, n) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert stats.binomial_two_sided(600, 1500) == pytest.approx(binomtest(600, 1500).pvalue, rel=1e-9)


def test_holm_step_down() -> None:
    adjusted = stats.holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted["a"] == pytest.approx(0.03)  # 3 x 0.01
    assert adjusted["c"] == pytest.approx(0.06)  # 2 x 0.03
    assert adjusted["b"] == pytest.approx(0.06)  # max(1 x 0.04, previous): monotone
    assert stats.holm({}) == {}
    assert stats.holm({"x": 0.9, "y": 0.8}) == {"x": 1.0, "y": 1.0}


def test_direction_test_is_symmetric() -> None:
    assert stats.direction_test(10, 10) == 1.0
    assert stats.direction_test(15, 1) == stats.direction_test(1, 15) < 0.001
    assert stats.direction_test(0, 0) == 1.0


def test_pareto_front() -> None:
    points = {"cheap": (0.1, 0.80), "mid": (0.5, 0.90), "pricey": (1.0, 0.95), "worse": (0.6, 0.85), "tie": (0.5, 0.90)}
    assert stats.pareto_front(points) == {"cheap", "mid", "pricey", "tie"}


def test_large_inputs_are_fast() -> None:
    values = [i % 5 != 0 for i in range(50_000)]
    clusters = [i // 2 for i in range(50_000)]
    interval = stats.proportion(values, clusters)
    assert interval is not None and interval.lower is not None and interval.lower < 0.8 < (interval.upper or 0)
