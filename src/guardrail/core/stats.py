"""Intervals for single quantities: proportions, means, quantiles; plus Holm, exact binomial tests and Pareto.

Every number that drives a decision carries a 95% interval chosen for how the data were sampled, and every method
here is one whose coverage `tests/validity/` measures (tables and citations: docs/statistics.md):

- proportions over independent units: Clopper-Pearson (exact; never below 95%, so a bound the gate reads errs on
  the candidate's side at most 2.5% of the time, also near 0 and 1 where Wilson dips to 90%);
- proportions over clustered units (repeats of one task, variants of one counterfactual case, tasks from one
  template): Korn & Graubard's effective-sample-size Clopper-Pearson, with the degrees of freedom of the number of
  clusters; when every unit agrees (no variance to estimate), Clopper-Pearson over the clusters themselves;
- means (cost): the (cluster) t interval, and no upper bound when Cochran's rule (n >= 25 x skewness^2) says the
  sample is too small for the skew;
- quantiles (latency p95): distribution-free order-statistic bounds (Woodruff's method with the effective size
  when clustered); a bound that needs more tasks than the run has is absent, not guessed.

Paired comparisons live in `core/paired.py`. scipy.special (0.3 s) and numpy are imported inside the functions:
this module sits in the pure core, and `guardrail gate` never computes statistics.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

ALPHA = 0.05
CONFIDENCE = 0.95  # 1 - ALPHA
Z95 = 1.959963984540054
COCHRAN_FACTOR = 25  # Cochran (1977): a mean's normal interval needs n >= 25 x skewness^2


class Interval(BaseModel):
    """A point estimate with its 95% interval. A bound is None when the data cannot support one (too few units);
    `method` names how it was made and `note` says why a bound is missing or what to be careful about."""

    model_config = ConfigDict(frozen=True)

    point: float
    lower: float | None
    upper: float | None
    n: int  # units behind the estimate (tasks, rows, pairs, groups)
    method: str  # "clopper-pearson", "korn-graubard", "tango", "t", "order-statistics", "exact", ...
    clusters: int | None = None  # independent clusters behind it, when the units were clustered
    note: str | None = None

    def as_gate(self) -> dict[str, float | None]:
        return {"point": self.point, "lower": self.lower, "upper": self.upper}


def exact(value: float, n: int) -> Interval:
    """A quantity that is counted, not estimated (e.g. the number of violations seen)."""
    return Interval(point=value, lower=value, upper=value, n=n, method="exact")


def special() -> Any:
    """scipy.special, imported on first use (see the module docstring)."""
    import scipy.special

    return scipy.special


def t_critical(df: float, confidence: float = CONFIDENCE) -> float:
    """Two-sided critical value of Student's t (the normal one for infinite df)."""
    q = 1 - (1 - confidence) / 2
    if not math.isfinite(df):
        return float(special().ndtri(q))
    return float(special().stdtrit(max(df, 1.0), q))


# --- clusters ------------------------------------------------------------------------------------------------


class Clustered:
    """Values summed per cluster: the unit of resampling-free, design-based variance estimates."""

    def __init__(self, values: Sequence[float] | Any, clusters: Sequence[Hashable] | None) -> None:
        import numpy as np

        self.values = np.asarray(values, dtype=float)
        if clusters is None:
            ids = np.arange(self.values.size)
            self.k = int(self.values.size)
        else:
            index: dict[Hashable, int] = {}
            ids = np.fromiter((index.setdefault(c, len(index)) for c in clusters), np.int64, count=len(clusters))
            self.k = len(index)
        self.ids = ids
        self.sums = np.bincount(ids, weights=self.values, minlength=self.k)
        self.sizes = np.bincount(ids, minlength=self.k).astype(float)

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def independent(self) -> bool:
        return self.k == self.n

    def ratio_variance(self, estimate: float) -> float:
        """Linearised variance of sum(values)/n over clusters (the ratio estimator), with the k/(k-1) factor."""
        if self.k < 2:
            return math.nan
        resid = self.sums - estimate * self.sizes
        return float(self.k / (self.k - 1) * (resid**2).sum() / self.sizes.sum() ** 2)

    def residual_skewness(self, estimate: float) -> float:
        """Sample skewness of the cluster residuals (Cochran's rule reads it)."""
        resid = self.sums - estimate * self.sizes
        sd = float(resid.std())
        return 0.0 if sd == 0 else float(((resid - resid.mean()) ** 3).mean() / sd**3)


# --- proportions ---------------------------------------------------------------------------------------------


def clopper_pearson(x: float, n: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (beta) interval for x successes in n; x and n may be effective, non-integer counts."""
    if n <= 0:
        raise ValueError("an interval needs at least one unit")
    a = (1 - confidence) / 2
    sp = special()
    lower = 0.0 if x <= 0 else float(sp.betaincinv(x, n - x + 1, a))
    upper = 1.0 if x >= n else float(sp.betaincinv(x + 1, n - x, 1 - a))
    return lower, upper


def binomial(successes: int, n: int) -> Interval:
    """A count of successes among n independent units, with its Clopper-Pearson interval."""
    lo, hi = clopper_pearson(successes, n)
    return Interval(point=successes / n, lower=lo, upper=hi, n=n, method="clopper-pearson")


def effective_size(data: Clustered, estimate: float, variance: float) -> float:
    """Korn & Graubard's effective n: the independent sample with this variance, df-adjusted to k - 1, capped
    at n (a design effect below 1 is not credited)."""
    if not (variance > 0):
        return float(data.k)  # every cluster agrees: count clusters, not rows (conservative)
    n_eff = min(float(data.n), estimate * (1 - estimate) / variance)
    return n_eff * (Z95 / t_critical(data.k - 1)) ** 2


def proportion(values: Sequence[bool | int | float], clusters: Sequence[Hashable] | None = None) -> Interval | None:
    """The share of successes with an interval that respects the sampling design (see the module docstring)."""
    if not values:
        return None
    data = Clustered(values, clusters)
    x, n = float(data.values.sum()), data.n
    point = x / n
    if data.independent:
        return binomial(int(x), n)
    if data.k < 2:
        return Interval(point=point, lower=None, upper=None, n=n, method="korn-graubard", clusters=1,
                        note="one cluster: no interval")  # fmt: skip
    n_eff = effective_size(data, point, data.ratio_variance(point))
    lo, hi = clopper_pearson(point * n_eff, n_eff)
    method = "korn-graubard" if 0 < point < 1 else "clopper-pearson-clusters"
    return Interval(point=point, lower=lo, upper=hi, n=n, method=method, clusters=data.k)


# --- means ---------------------------------------------------------------------------------------------------


def mean(values: Sequence[float], clusters: Sequence[Hashable] | None = None) -> Interval | None:
    """A mean (cost per task) with the (cluster) t interval, df = clusters - 1.

    A right-skewed sample (a few very expensive tasks) makes the upper bound too low at small n; when Cochran's
    rule (n >= 25 x skewness^2, skewness of the cluster residuals) fails, that bound is left out and `note` says
    how many tasks it would need. Left skew drops the lower bound the same way.
    """
    if not values:
        return None
    data = Clustered(values, clusters)
    point = float(data.values.mean())
    method = "t" if data.independent else "cluster-t"
    if data.k < 2:
        return Interval(point=point, lower=None, upper=None, n=data.n, method=method, clusters=data.k,
                        note="one unit: no interval")  # fmt: skip
    variance = data.ratio_variance(point)
    half = t_critical(data.k - 1) * math.sqrt(variance)
    lower: float | None = point - half
    upper: float | None = point + half
    skew = data.residual_skewness(point)
    needed = math.ceil(COCHRAN_FACTOR * skew * skew)
    note = None
    if data.k < needed:
        side = "upper" if skew > 0 else "lower"
        note = f"too few tasks for a {side} bound with this skew (Cochran's rule: {needed} needed, {data.k} here)"
        upper, lower = (None, lower) if skew > 0 else (upper, None)
    return Interval(point=point, lower=lower, upper=upper, n=data.n, method=method,
                    clusters=None if data.independent else data.k, note=note)  # fmt: skip


# --- quantiles -----------------------------------------------------------------------------------------------


def _order_ranks(size: int, q: float, confidence: float) -> tuple[int | None, int | None]:
    """Ranks (1-based) of the order statistics bounding the q-quantile of `size` independent units, or None.

    The upper rank s is the smallest with P(Binomial(size, q) <= s - 1) >= 1 - a/2; the lower rank r the largest
    with P(Binomial(size, q) <= r - 1) <= a/2. Exact and distribution-free (e.g. Hahn & Meeker 1991, ch. 5)."""
    import numpy as np

    a = (1 - confidence) / 2
    j = np.arange(size)  # P(Bin <= j) for j < size; P(Bin <= size) = 1
    cdf = np.append(special().bdtr(j, size, q), 1.0)
    below = np.flatnonzero(cdf <= a)
    lower = int(below[-1]) + 1 if below.size else None  # rank r: P(Bin <= r - 1) <= a
    above = np.flatnonzero(cdf[:size] >= 1 - a)
    upper = int(above[0]) + 1 if above.size else None  # rank s: P(Bin <= s - 1) >= 1 - a
    return lower, upper


def quantiles(
    values: Sequence[float], qs: Sequence[float], clusters: Sequence[Hashable] | None = None
) -> list[Interval] | None:
    """Quantiles (latency p50/p95) with order-statistic intervals; a bound needing more units than exist is None.

    Clustered rows (repeats of a task) use Woodruff's method: the ranks come from the effective number of
    independent units behind the share of rows below the estimate, then scale back to the rows.
    """
    import numpy as np

    if not values:
        return None
    raw = np.asarray(values, dtype=float)
    arr = np.sort(raw)
    n = arr.size
    out = []
    for q in qs:
        point = float(np.quantile(arr, q))
        size = n
        if clusters is not None:
            data = Clustered(raw <= point, clusters)
            share = float(data.values.mean())
            if not data.independent and 0 < share < 1:
                size = max(1, min(n, math.floor(effective_size(data, share, data.ratio_variance(share)))))
            elif not data.independent:
                size = data.k
        r, s = _order_ranks(size, q, CONFIDENCE)
        lo = None if r is None else float(arr[max(0, math.floor(r * n / size) - 1)])
        hi = None if s is None else float(arr[min(n, math.ceil(s * n / size)) - 1])
        note = None
        if hi is None or lo is None:
            side = "upper" if hi is None else "lower"
            note = f"too few tasks to bound the {q:.0%} quantile from {'above' if side == 'upper' else 'below'}"
            note += f" ({_units_needed(q, side)} independent tasks needed, {size} here)"
        out.append(Interval(point=point, lower=lo, upper=hi, n=n, method="order-statistics",
                            clusters=size if size != n else None, note=note))  # fmt: skip
    return out


def _units_needed(q: float, side: str, confidence: float = CONFIDENCE) -> int:
    """Fewest independent units with an order statistic that bounds the q-quantile on that side."""
    a = (1 - confidence) / 2
    tail = q if side == "upper" else 1 - q  # P(every unit below the quantile) must be <= a
    return math.ceil(math.log(a) / math.log(tail))


# --- tests and multiplicity ----------------------------------------------------------------------------------


def holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values: family-wise error control across candidates, any dependence."""
    order = sorted(pvalues, key=lambda key: pvalues[key])
    m = len(order)
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, key in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[key]))
        adjusted[key] = running
    return adjusted


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided binomial test against p = 0.5: what scipy.stats.binomtest(k, n).pvalue returns.

    With p = 0.5 the distribution is symmetric, so the two-sided p-value is twice the smaller tail. Computed with
    exact integers (scipy.stats costs seconds to import; this is McNemar's exact test and the sign test).
    """
    if n <= 0:
        return 1.0
    m = min(k, n - k)
    if 2 * m == n:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(m + 1))
    return min(1.0, 2 * tail / 2**n)


def direction_test(toward: int, away: int) -> float:
    """Exact two-sided sign test that flips lean one way (a fair model's noise flips both ways)."""
    return binomial_two_sided(toward, toward + away)


# --- cost vs accuracy ----------------------------------------------------------------------------------------


def pareto_front(points: dict[str, tuple[float, float]]) -> set[str]:
    """Names of the (cost, accuracy) points no other point beats (cheaper-or-equal and as accurate)."""
    front: set[str] = set()
    for name, (cost, acc) in points.items():
        dominated = any(
            other != name and c <= cost and a >= acc and (c < cost or a > acc) for other, (c, a) in points.items()
        )
        if not dominated:
            front.add(name)
    return front


__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "Clustered",
    "Interval",
    "binomial",
    "binomial_two_sided",
    "clopper_pearson",
    "direction_test",
    "effective_size",
    "exact",
    "holm",
    "mean",
    "pareto_front",
    "proportion",
    "quantiles",
    "t_critical",
]
