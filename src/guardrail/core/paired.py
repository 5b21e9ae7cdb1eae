"""Paired comparisons of pass rates: one candidate against the baseline on the same tasks (and, for bias, one
attribute value against another within the same counterfactual cases).

Why these methods (tables and citations in docs/statistics.md):
- Interval: Tango's (1998) score interval for a difference of paired proportions, found by inverting the score
  test. It stays honest with few or no discordant pairs: 20 identical tasks give about [-0.16, +0.16], never the
  [0, 0] that lets a bootstrap or Wald interval pass non-inferiority at any margin.
- Clustered pairs (repeats, templates, counterfactual groups): the counts are divided by the design effect of the
  paired difference (Rao & Scott 1992), estimated from cluster totals as in Obuchowski (1998), never below 1;
  with no discordant pair to estimate it from, the clusters count as the pairs. Critical values and p-values come
  from Student's t with (clusters - 1) degrees of freedom, which also holds the unclustered test's size at or
  below 2.5% down to 10 pairs.
- Non-inferiority: the same score statistic at -margin, one-sided (p < 0.025 exactly when the 95% interval's
  lower bound is above -margin).
- Do the pass rates differ? McNemar's exact test for independent pairs; Durkalski et al.'s (2003) clustered
  McNemar statistic otherwise.
- Ratio (disparate impact): Tang, Tang & Chan's (2003) score interval for a ratio of paired proportions.
- Tasks needed: the score test's asymptotic power (Nam 1997), with the observed discordance and design effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

from pydantic import BaseModel, ConfigDict

from guardrail.core.stats import CONFIDENCE, Clustered, Interval, binomial_two_sided, special, t_critical

POWER = 0.8
_EPS = 1e-12


class PairedTable(BaseModel):
    """Counts of one paired comparison, already divided by the design effect when clustered."""

    model_config = ConfigDict(frozen=True)

    n11: float  # both pass
    n12: float  # first passes, second fails ("better" for a candidate against the baseline)
    n21: float  # first fails, second passes ("worse")
    n: float
    clusters: int  # independent clusters behind the pairs (the pairs themselves when unclustered)

    @property
    def df(self) -> float:
        """Degrees of freedom of the critical value: clusters - 1."""
        return float(max(1, self.clusters - 1))

    def critical(self, confidence: float = CONFIDENCE) -> float:
        return t_critical(self.df, confidence)


class PairedTest(BaseModel):
    """First (candidate) minus second (baseline) on the same units."""

    model_config = ConfigDict(frozen=True)

    diff: Interval
    n_pairs: int
    clusters: int
    better: int  # first passed where the second failed
    worse: int  # first failed where the second passed
    design_effect: float  # 1.0 for independent pairs
    p_difference: float  # two-sided: the pass rates differ
    p_noninferiority: float | None = None  # one-sided: H0 "first is worse by the margin or more"; None: no margin


def table(first: Sequence[bool], second: Sequence[bool], clusters: Sequence[Hashable] | None = None) -> PairedTable:
    """The 2x2 counts, scaled by the design effect of the difference when the pairs are clustered."""
    diffs = [float(a) - float(b) for a, b in zip(first, second, strict=True)]
    n = len(diffs)
    n12 = sum(d > 0 for d in diffs)
    n21 = sum(d < 0 for d in diffs)
    n11 = sum(bool(a) and bool(b) for a, b in zip(first, second, strict=True))
    data = Clustered(diffs, clusters)
    de = design_effect(data, n12, n21)
    return PairedTable(n11=n11 / de, n12=n12 / de, n21=n21 / de, n=n / de, clusters=data.k)


def design_effect(data: Clustered, n12: int, n21: int) -> float:
    """Variance of the mean paired difference over clusters / its variance if every pair were independent."""
    if data.independent or data.k < 2:
        return 1.0
    n = data.n
    d = (n12 - n21) / n
    independent = ((n12 + n21) / n - d * d) / n
    if independent <= 0:
        return n / data.k  # nothing discordant to estimate it from: the clusters are the pairs
    return max(1.0, data.ratio_variance(d) / independent)


# --- the difference: Tango's score statistic ------------------------------------------------------------------


def tango_statistic(t: PairedTable, delta: float) -> float:
    """Score statistic for H0: p(first) - p(second) = delta (positive: the data say the difference is larger)."""
    a = 2 * t.n
    b = -t.n12 - t.n21 + (2 * t.n - t.n12 + t.n21) * delta
    c = -t.n21 * delta * (1 - delta)
    q21 = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)  # restricted MLE of P(first fails, second passes)
    variance = t.n * (2 * q21 + delta * (1 - delta))
    numerator = t.n12 - t.n21 - t.n * delta
    if variance <= 0:
        return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def _root(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Bisection for a decreasing f with f(lo) >= 0 >= f(hi)."""
    for _ in range(80):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def tango_interval(t: PairedTable, confidence: float = CONFIDENCE) -> tuple[float, float]:
    point = (t.n12 - t.n21) / t.n
    z = t.critical(confidence)
    lower = -1.0 if point <= -1 + _EPS else _root(lambda d: tango_statistic(t, d) - z, -1 + _EPS, point)
    upper = 1.0 if point >= 1 - _EPS else _root(lambda d: tango_statistic(t, d) + z, point, 1 - _EPS)
    return lower, upper


def noninferiority_p(t: PairedTable, margin: float) -> float:
    """One-sided p-value of H0: difference <= -margin (small: the first is not worse by the margin)."""
    return float(1 - special().stdtr(t.df, tango_statistic(t, -margin)))


def paired(
    first: Sequence[bool],
    second: Sequence[bool],
    clusters: Sequence[Hashable] | None = None,
    *,
    margin: float | None = None,
) -> PairedTest | None:
    """Difference in pass rate with its interval, the test that the rates differ, and non-inferiority at margin."""
    if not first:
        return None
    t = table(first, second, clusters)
    better = sum(bool(a) and not bool(b) for a, b in zip(first, second, strict=True))
    worse = sum(bool(b) and not bool(a) for a, b in zip(first, second, strict=True))
    n = len(first)
    de = n / t.n
    lower, upper = tango_interval(t)
    clustered = t.clusters < n
    if clustered:
        chi = _durkalski(first, second, clusters)
        p_diff = float(2 * (1 - special().stdtr(t.df, abs(chi)))) if math.isfinite(chi) else 1.0
    else:
        p_diff = binomial_two_sided(better, better + worse)
    diff = Interval(
        point=(better - worse) / n,
        lower=lower,
        upper=upper,
        n=n,
        method="tango-rao-scott" if clustered else "tango",
        clusters=t.clusters if clustered else None,
    )
    return PairedTest(
        diff=diff,
        n_pairs=n,
        clusters=t.clusters,
        better=better,
        worse=worse,
        design_effect=de,
        p_difference=min(1.0, p_diff),
        p_noninferiority=noninferiority_p(t, margin) if margin is not None else None,
    )


def _durkalski(first: Sequence[bool], second: Sequence[bool], clusters: Sequence[Hashable] | None) -> float:
    """Durkalski's clustered McNemar statistic, as a signed z: sum of per-cluster (better - worse) over the
    square root of the sum of their squares; 0 when nothing is discordant."""
    data = Clustered([float(a) - float(b) for a, b in zip(first, second, strict=True)], clusters)
    total = float(data.sums.sum())
    spread = float((data.sums**2).sum())
    return 0.0 if spread == 0 else total / math.sqrt(spread)


# --- the ratio: Tang, Tang & Chan's score statistic -----------------------------------------------------------


def tang_statistic(t: PairedTable, ratio: float) -> float:
    """Score statistic for H0: p(first) / p(second) = ratio (positive: the data say the ratio is larger)."""
    n1p, np1 = t.n11 + t.n12, t.n11 + t.n21
    a = t.n * (1 + ratio)
    b = np1 * ratio * ratio - (t.n11 + t.n12 + 2 * t.n21)
    c = t.n21 * (1 - ratio) * (t.n11 + t.n12 + t.n21) / t.n
    q21 = (-b + math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
    variance = t.n * (1 + ratio) * q21 + (t.n11 + t.n12 + t.n21) * (ratio - 1)
    numerator = n1p - np1 * ratio
    if variance <= 0:
        return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def tang_ratio_interval(t: PairedTable, confidence: float = CONFIDENCE) -> tuple[float, float | None]:
    """Interval for p(first) / p(second); the upper bound is None when the second never succeeds."""
    n1p, np1 = t.n11 + t.n12, t.n11 + t.n21
    if np1 <= 0:
        return 0.0, None
    point = n1p / np1
    z = t.critical(confidence)

    def log_stat(shift: float) -> Callable[[float], float]:
        return lambda u: tang_statistic(t, math.exp(u)) - shift

    lower = 0.0 if n1p <= 0 else math.exp(_root(log_stat(z), -30.0, math.log(point)))
    upper = math.exp(_root(log_stat(-z), math.log(max(point, 1e-12)), 30.0))
    return lower, upper


# --- power and size -------------------------------------------------------------------------------------------


def _null_variance(margin: float, discordance: float, difference: float) -> float:
    """Per-pair variance of the score statistic's numerator at delta = -margin, in the large-sample limit."""
    q12, q21 = (discordance + difference) / 2, (discordance - difference) / 2
    delta = -margin
    a, b, c = 2.0, -q12 - q21 + (2 - q12 + q21) * delta, -q21 * delta * (1 - delta)
    restricted = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)
    return 2 * restricted + delta * (1 - delta)


def power(
    pairs: float,
    margin: float,
    discordance: float,
    *,
    difference: float = 0.0,
    design_effect: float = 1.0,
    confidence: float = CONFIDENCE,
) -> float:
    """Chance that the non-inferiority test passes with this many pairs, when the true difference is
    `difference` and a share `discordance` of pairs disagree (asymptotic, as in Nam 1997)."""
    n = pairs / design_effect
    if n < 2:
        return 0.0
    crit = t_critical(n - 1, confidence)
    w = math.sqrt(max(_null_variance(margin, discordance, difference), 0.0))
    sigma = math.sqrt(max(discordance - difference * difference, 0.0))
    gap = (difference + margin) * math.sqrt(n) - crit * w
    if sigma == 0:
        return 1.0 if gap > 0 else 0.0
    return float(special().ndtr(gap / sigma))


def pairs_needed(
    margin: float,
    discordance: float,
    *,
    difference: float = 0.0,
    target: float = POWER,
    design_effect: float = 1.0,
    confidence: float = CONFIDENCE,
) -> int | None:
    """Fewest pairs for `target` power (None: not reachable, e.g. the expected difference is beyond the margin)."""
    if difference <= -margin or not 0 <= discordance <= 1 or abs(difference) > discordance:
        return None
    w = math.sqrt(max(_null_variance(margin, discordance, difference), 0.0))
    sigma = math.sqrt(max(discordance - difference * difference, 0.0))
    z_power = float(special().ndtri(target))
    n = 2.0
    for _ in range(20):  # the t critical value depends on n: iterate to its fixed point
        crit = t_critical(max(n - 1, 1.0), confidence)
        n = max(2.0, ((crit * w + z_power * sigma) / (difference + margin)) ** 2)
    pairs = math.ceil(n * design_effect)
    while power(pairs, margin, discordance, difference=difference, design_effect=design_effect) < target:
        pairs += 1
    return pairs


__all__ = [
    "POWER",
    "PairedTable",
    "PairedTest",
    "design_effect",
    "noninferiority_p",
    "paired",
    "pairs_needed",
    "power",
    "table",
    "tang_ratio_interval",
    "tang_statistic",
    "tango_interval",
    "tango_statistic",
]
