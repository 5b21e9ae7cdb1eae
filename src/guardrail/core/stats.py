"""The statistics behind an honest comparison: intervals, paired tests, multiplicity, bias metrics, Pareto.

Every number that drives a decision comes with a 95% interval, chosen for how the data were sampled:

- proportions over independent units: Wilson (keeps its coverage near 0 and 1, where the normal
  interval collapses);
- proportions over units that are not independent (variants of one counterfactual case, tasks expanded
  from one template, repeats of one task): a cluster bootstrap that resamples whole clusters;
- means (cost) and quantiles (latency p50/p95): a bootstrap;
- paired differences vs the baseline: a paired cluster bootstrap on the per-key differences, McNemar's
  exact test on the discordant pairs (exact binomial, computed with integers), Holm's step-down across candidates.

numpy is imported inside the functions (they are heavy and this module sits in the pure core);
every bootstrap is vectorised (a resample-by-cluster weight matrix) and seeded, so a report rebuilds to
the same figures.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

Z95 = 1.959963984540054
DEFAULT_RESAMPLES = 2000
_CHUNK_CELLS = 4_000_000  # resamples x clusters per chunk: bounds memory for very large runs


class Interval(BaseModel):
    """A point estimate with its 95% interval; `method` says how the interval was made (for the report)."""

    model_config = ConfigDict(frozen=True)

    point: float
    lower: float
    upper: float
    n: int  # units behind the estimate (tasks, pairs, groups)
    method: str  # "wilson", "cluster-bootstrap", "bootstrap", "exact"

    def as_gate(self) -> dict[str, float]:
        return {"point": self.point, "lower": self.lower, "upper": self.upper}

    def excludes(self, value: float) -> bool:
        return self.lower > value or self.upper < value


def exact(value: float, n: int) -> Interval:
    """A quantity that is counted, not estimated (e.g. the number of violations seen)."""
    return Interval(point=value, lower=value, upper=value, n=n, method="exact")


def seed_for(*parts: Hashable) -> int:
    """A stable seed from names (Python's hash() is salted per process; crc32 is not)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


# --- proportions ------------------------------------------------------------------------------------------


def wilson(successes: float, n: int, z: float = Z95) -> Interval:
    """Wilson score interval for a proportion of independent units."""
    if n <= 0:
        raise ValueError("wilson needs at least one unit")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lower = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact ends: no 1e-18 float residue
    upper = 1.0 if successes >= n else min(1.0, centre + half)
    return Interval(point=p, lower=lower, upper=upper, n=n, method="wilson")


def _cluster_index(clusters: Sequence[Hashable]) -> tuple[Any, int]:
    import numpy as np

    index: dict[Hashable, int] = {}
    ids = np.fromiter((index.setdefault(c, len(index)) for c in clusters), np.int64, count=len(clusters))
    return ids, len(index)


def _draws(rng: np.random.Generator, k: int, resamples: int) -> Any:
    """Which clusters each resample draws: a (resamples x k) index matrix (int32 keeps it fast)."""
    import numpy as np

    return rng.integers(0, k, size=(resamples, k), dtype=np.int32)


def _ratio_bootstrap(numer: Any, denom: Any, *, resamples: int, seed: int) -> Any:
    """Bootstrap replicates of sum(numer)/sum(denom), resampling clusters (entries of numer/denom)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    k = numer.shape[0]
    out = np.empty(resamples)
    step = max(1, _CHUNK_CELLS // max(k, 1))
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        draws = _draws(rng, k, size)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + size] = numer[draws].sum(axis=1) / denom[draws].sum(axis=1)
    return out


def _percentile(replicates: Any, point: float, n: int, method: str) -> Interval:
    import numpy as np

    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return Interval(point=point, lower=point, upper=point, n=n, method=method)
    lo, hi = np.quantile(finite, [0.025, 0.975])
    return Interval(point=point, lower=float(min(lo, point)), upper=float(max(hi, point)), n=n, method=method)


def proportion(
    values: Sequence[bool | int | float],
    clusters: Sequence[Hashable] | None = None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval | None:
    """The share of successes with an interval that respects the sampling design.

    Independent units (every cluster holds one value) get Wilson. Clustered units get a cluster
    bootstrap; when it degenerates (every cluster at 0, or every one at 1, so all replicates are equal)
    we fall back to Wilson over the number of clusters: conservative instead of pretending certainty.
    """
    import numpy as np

    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    if clusters is None:
        return wilson(float(arr.sum()), int(arr.size))
    ids, k = _cluster_index(clusters)
    if k == arr.size:
        return wilson(float(arr.sum()), int(arr.size))
    sums = np.bincount(ids, weights=arr, minlength=k)
    counts = np.bincount(ids, minlength=k).astype(float)
    point = float(arr.mean())
    if point in (0.0, 1.0):
        fallback = wilson(point * k, k)
        return fallback.model_copy(update={"point": point, "method": "wilson-clusters"})
    reps = _ratio_bootstrap(sums, counts, resamples=resamples, seed=seed)
    return _percentile(reps, point, k, "cluster-bootstrap")


def mean(
    values: Sequence[float],
    clusters: Sequence[Hashable] | None = None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval | None:
    """A mean (cost per task) with a (cluster) bootstrap interval."""
    import numpy as np

    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    ids, k = _cluster_index(clusters if clusters is not None else range(arr.size))
    sums = np.bincount(ids, weights=arr, minlength=k)
    counts = np.bincount(ids, minlength=k).astype(float)
    reps = _ratio_bootstrap(sums, counts, resamples=resamples, seed=seed)
    method = "bootstrap" if k == arr.size else "cluster-bootstrap"
    return _percentile(reps, float(arr.mean()), k, method)


def quantiles(
    values: Sequence[float], qs: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> list[Interval] | None:
    """Quantiles (latency p50/p95) with percentile bootstrap intervals; one resample set serves every q."""
    import numpy as np

    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    n = arr.size
    rng = np.random.default_rng(seed)
    out = np.empty((len(qs), resamples))
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        draws = arr[_draws(rng, n, size)]
        out[:, start : start + size] = np.quantile(draws, qs, axis=1)
    points = np.quantile(arr, qs)
    return [_percentile(out[i], float(points[i]), n, "bootstrap") for i in range(len(qs))]


# --- paired comparison ------------------------------------------------------------------------------------


class PairedTest(BaseModel):
    """Candidate minus baseline on the same (task, repeat) keys."""

    model_config = ConfigDict(frozen=True)

    diff: Interval  # difference in pass rate, paired (cluster) bootstrap
    n_pairs: int
    better: int  # candidate passed where the baseline failed
    worse: int  # candidate failed where the baseline passed
    mcnemar_p: float  # exact two-sided binomial test on the discordant pairs


def paired(
    candidate: Sequence[bool],
    baseline: Sequence[bool],
    clusters: Sequence[Hashable],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> PairedTest | None:
    """Paired difference with a cluster bootstrap interval and McNemar's exact test.

    Resampling clusters of pairs keeps the pairing and the dependence between variants of one case.
    """
    import numpy as np

    if not candidate:
        return None
    c = np.asarray(candidate, dtype=float)
    b = np.asarray(baseline, dtype=float)
    d = c - b
    better, worse = int((d > 0).sum()), int((d < 0).sum())
    p = binomial_two_sided(better, better + worse)
    ids, k = _cluster_index(clusters)
    point = float(d.mean())
    if better + worse == 0:
        diff = Interval(point=0.0, lower=0.0, upper=0.0, n=k, method="exact")
    else:
        sums = np.bincount(ids, weights=d, minlength=k)
        counts = np.bincount(ids, minlength=k).astype(float)
        reps = _ratio_bootstrap(sums, counts, resamples=resamples, seed=seed)
        method = "paired-bootstrap" if k == d.size else "paired-cluster-bootstrap"
        diff = _percentile(reps, point, k, method)
    return PairedTest(diff=diff, n_pairs=int(d.size), better=better, worse=worse, mcnemar_p=p)


def holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values (family-wise error control across candidates)."""
    order = sorted(pvalues, key=lambda key: pvalues[key])
    m = len(order)
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, key in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[key]))
        adjusted[key] = running
    return adjusted


# --- bias -------------------------------------------------------------------------------------------------


class ParityStats(BaseModel):
    """Favourable-outcome rates per attribute value, and the gaps between them."""

    model_config = ConfigDict(frozen=True)

    rates: dict[str, Interval]
    parity_diff: Interval  # max rate - min rate
    impact_ratio: Interval  # min rate / max rate (four-fifths rule: >= 0.8)
    lowest: str
    highest: str


def parity(
    favourable: Sequence[bool],
    values: Sequence[str],
    clusters: Sequence[Hashable],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> ParityStats | None:
    """Demographic parity difference and disparate-impact ratio across the values of one attribute.

    The bootstrap resamples counterfactual groups (clusters) so variants of one case move together; the
    statistic is recomputed on every replicate (the max/min value may change), keeping the interval honest.
    """
    import numpy as np

    labels = sorted(set(values))
    if len(labels) < 2:
        return None
    fav = np.asarray(favourable, dtype=float)
    ids, k = _cluster_index(clusters)
    col = {label: i for i, label in enumerate(labels)}
    vidx = np.fromiter((col[v] for v in values), dtype=np.int64, count=len(values))
    flat = ids * len(labels) + vidx
    fav_m = np.bincount(flat, weights=fav, minlength=k * len(labels)).reshape(k, len(labels))
    n_m = np.bincount(flat, minlength=k * len(labels)).reshape(k, len(labels)).astype(float)
    totals = n_m.sum(axis=0)
    if (totals == 0).any():
        return None
    rates_point = fav_m.sum(axis=0) / totals

    rng = np.random.default_rng(seed)
    diffs, ratios = np.empty(resamples), np.empty(resamples)
    step = max(1, _CHUNK_CELLS // max(k, 1))
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        draws = _draws(rng, k, size)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = fav_m[draws].sum(axis=1) / n_m[draws].sum(axis=1)
            hi, lo = np.nanmax(r, axis=1), np.nanmin(r, axis=1)
            diffs[start : start + size] = hi - lo
            ratios[start : start + size] = np.where(hi > 0, lo / hi, 1.0)
    hi_p, lo_p = float(rates_point.max()), float(rates_point.min())
    rate_intervals = {}
    for label, i in col.items():
        mask = vidx == i
        rate_intervals[label] = proportion(
            fav[mask].tolist(),
            [c for c, m in zip(clusters, mask, strict=True) if m],
            resamples=resamples,
            seed=seed,
        ) or exact(0.0, 0)
    return ParityStats(
        rates=rate_intervals,
        parity_diff=_percentile(diffs, hi_p - lo_p, k, "cluster-bootstrap"),
        impact_ratio=_percentile(ratios, lo_p / hi_p if hi_p > 0 else 1.0, k, "cluster-bootstrap"),
        lowest=labels[int(rates_point.argmin())],
        highest=labels[int(rates_point.argmax())],
    )


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided binomial test against p = 0.5: what scipy.stats.binomtest(k, n).pvalue returns.

    With p = 0.5 the distribution is symmetric, so the two-sided p-value is twice the smaller tail. Computed with
    exact integers: importing scipy.stats costs 3-4 s, more than all of a report's statistics.
    """
    if n <= 0:
        return 1.0
    m = min(k, n - k)
    if 2 * m == n:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(m + 1))
    return min(1.0, 2 * tail / 2**n)


def direction_test(toward: int, away: int) -> float:
    """Exact two-sided p-value that flips lean one way (a fair model's noise flips both ways)."""
    return binomial_two_sided(toward, toward + away)


# --- cost vs accuracy -------------------------------------------------------------------------------------


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
    "DEFAULT_RESAMPLES",
    "Interval",
    "PairedTest",
    "ParityStats",
    "binomial_two_sided",
    "direction_test",
    "exact",
    "holm",
    "mean",
    "paired",
    "pareto_front",
    "parity",
    "proportion",
    "quantiles",
    "seed_for",
    "wilson",
]
