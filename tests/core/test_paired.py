"""Paired comparisons: Tango's score interval, the non-inferiority test, McNemar/Durkalski, Tang's ratio, power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest, t

from guardrail.core import paired
from guardrail.core.paired import PairedTable

Z = 1.959963984540054
HUGE = 10**9  # so many clusters that t is the normal: Tango's own (z-based) interval


def _table(n11: float, n12: float, n21: float, n: float, clusters: int = HUGE) -> PairedTable:
    return PairedTable(n11=n11, n12=n12, n21=n21, n=n, clusters=clusters)


def test_identical_outcomes_leave_room_either_way() -> None:
    # no discordant pair in 20: the interval is +-z^2/(n+z^2), never [0, 0]
    lower, upper = paired.tango_interval(_table(20, 0, 0, 20))
    assert (lower, upper) == pytest.approx((-Z * Z / (20 + Z * Z), Z * Z / (20 + Z * Z)), abs=1e-6)
    test = paired.paired([True] * 20, [True] * 20, margin=0.03)
    assert test is not None and test.diff.lower is not None and test.diff.lower < -0.16  # t with 19 df: wider
    assert test.p_noninferiority is not None and test.p_noninferiority > 0.025  # not non-inferior at 3 points


def test_the_interval_inverts_the_score_test() -> None:
    table = _table(59, 6, 16, 161)
    lower, upper = paired.tango_interval(table)
    assert paired.tango_statistic(table, lower) == pytest.approx(Z, abs=1e-6)
    assert paired.tango_statistic(table, upper) == pytest.approx(-Z, abs=1e-6)
    assert paired.tango_statistic(table, (6 - 16) / 161) == pytest.approx(0.0, abs=1e-12)
    mirrored = paired.tango_interval(_table(59, 16, 6, 161))
    assert mirrored == pytest.approx((-upper, -lower))


def test_large_samples_approach_the_wald_interval() -> None:
    n, b, c = 100_000, 8_000, 6_000
    lower, upper = paired.tango_interval(_table(n - b - c, b, c, n))
    d = (b - c) / n
    se = math.sqrt((b + c) / n - d * d) / math.sqrt(n)
    assert (lower, upper) == pytest.approx((d - Z * se, d + Z * se), abs=2e-5)


def test_noninferiority_p_agrees_with_the_interval() -> None:
    rng = np.random.default_rng(1)
    for _ in range(40):
        base = (rng.random(120) < 0.9).tolist()
        cand = [b if rng.random() < 0.85 else rng.random() < 0.86 for b in base]
        result = paired.paired(cand, base, margin=0.05)
        assert result is not None and result.p_noninferiority is not None and result.diff.lower is not None
        assert (result.p_noninferiority < 0.025) == (result.diff.lower > -0.05)


def test_independent_pairs_use_mcnemars_exact_test() -> None:
    base = [True] * 80 + [False] * 20
    cand = [True] * 70 + [False] * 10 + [True] * 5 + [False] * 15  # 10 worse, 5 better
    result = paired.paired(cand, base, list(range(100)))
    assert result is not None
    assert (result.better, result.worse, result.n_pairs, result.clusters) == (5, 10, 100, 100)
    assert result.diff.point == pytest.approx(-0.05) and result.diff.method == "tango"
    assert result.p_difference == pytest.approx(binomtest(5, 15, 0.5).pvalue)
    assert result.design_effect == 1.0 and result.p_noninferiority is None  # no margin, no test


def test_clustered_pairs_count_their_clusters() -> None:
    rng = np.random.default_rng(2)
    base = (rng.random(150) < 0.85).tolist()
    cand = [b if rng.random() < 0.8 else rng.random() < 0.8 for b in base]
    single = paired.paired(cand, base, margin=0.05)
    tripled = paired.paired([c for c in cand for _ in range(3)], [b for b in base for _ in range(3)],
                            [i // 3 for i in range(450)], margin=0.05)  # fmt: skip
    assert single is not None and tripled is not None
    assert tripled.diff.method == "tango-rao-scott" and tripled.clusters == 150
    assert tripled.design_effect == pytest.approx(3 * 150 / 149, rel=1e-6)  # three copies: three times the variance
    assert tripled.diff.lower == pytest.approx(single.diff.lower, abs=0.003)  # the same evidence, the same interval
    d = [float(c) - float(b) for c, b in zip(cand, base, strict=True)]
    durkalski = 3 * sum(d) / math.sqrt(sum((3 * x) ** 2 for x in d))  # clustered McNemar on the cluster totals
    assert tripled.p_difference == pytest.approx(2 * t.sf(abs(durkalski), 149))


def test_clustered_pairs_without_any_discordance_count_clusters_as_pairs() -> None:
    table = paired.table([True] * 60, [True] * 60, [i // 3 for i in range(60)])
    assert (table.n, table.clusters) == (20, 20)


def test_the_ratio_interval_inverts_tangs_score_test() -> None:
    table = _table(59, 6, 16, 161)
    lower, upper = paired.tang_ratio_interval(table)
    assert upper is not None and lower < 65 / 75 < upper
    assert paired.tang_statistic(table, lower) == pytest.approx(Z, abs=1e-5)
    assert paired.tang_statistic(table, upper) == pytest.approx(-Z, abs=1e-5)
    same, other = paired.tang_ratio_interval(_table(40, 0, 0, 80))
    assert other is not None and same < 1 < other  # equal rates, still an interval
    assert paired.tang_ratio_interval(_table(0, 5, 0, 20)) == (0.0, None)  # the second never succeeds: no ratio


def test_pairs_needed_gives_the_power_it_promises() -> None:
    # perfect agreement: the interval half-width alone must fit inside the margin
    needed = paired.pairs_needed(0.05, 0.0)
    assert needed is not None and 73 <= needed <= 80
    for margin, discordance in ((0.05, 0.1), (0.03, 0.1), (0.1, 0.3)):
        n = paired.pairs_needed(margin, discordance)
        assert n is not None
        assert paired.power(n, margin, discordance) >= 0.8 > paired.power(n - 1, margin, discordance)
    assert paired.pairs_needed(0.05, 0.1, design_effect=2.0) == pytest.approx(2 * paired.pairs_needed(0.05, 0.1), abs=3)  # type: ignore[operator]
    assert paired.pairs_needed(0.05, 0.2, difference=-0.06) is None  # truly worse than the margin: no n is enough
