"""Coverage of every interval the gate reads, measured through the project's own functions (core/stats.py,
core/bias.py): exactly where the sampling distribution can be enumerated (a binomial count), by seeded Monte Carlo
otherwise. Shared by tests/validity/test_measurement_validity.py and scripts/validity_tables.py."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from guardrail.core import stats
from guardrail.core.bias import parity


@dataclass
class Coverage:
    label: str
    covered: float  # share of intervals holding the truth (a missing bound counts as covering on that side)
    bounded: float = 1.0  # share of runs with both bounds
    low_miss: float = 0.0  # lower bound above the truth: a minimum passed wrongly
    high_miss: float = 0.0  # upper bound below the truth: a maximum passed wrongly
    runs: int = 0  # 0: exact

    def row(self) -> str:
        runs = "exact" if self.runs == 0 else str(self.runs)
        return (
            f"| {self.label} | {runs} | {self.covered:.3f} | {self.low_miss:.3f} | {self.high_miss:.3f} "
            f"| {self.bounded:.2f} |"
        )


def proportion_exact(n: int, p: float) -> Coverage:
    """Clopper-Pearson over independent units, summed over every possible count."""
    lows, highs = zip(*(stats.clopper_pearson(x, n) for x in range(n + 1)), strict=True)
    lo, hi, pmf = np.array(lows), np.array(highs), binom.pmf(np.arange(n + 1), n, p)
    return Coverage(
        f"proportion p={p}, n={n}",
        covered=float(pmf[(lo <= p) & (p <= hi)].sum()),
        low_miss=float(pmf[lo > p].sum()),
        high_miss=float(pmf[hi < p].sum()),
    )


def _tally(label: str, truth: float, intervals: list[stats.Interval]) -> Coverage:
    lo = np.array([-np.inf if i.lower is None else i.lower for i in intervals])
    hi = np.array([np.inf if i.upper is None else i.upper for i in intervals])
    bounded = np.mean([i.lower is not None and i.upper is not None for i in intervals])
    return Coverage(
        label,
        covered=float(np.mean((lo <= truth) & (truth <= hi))),
        bounded=float(bounded),
        low_miss=float(np.mean(lo > truth)),
        high_miss=float(np.mean(hi < truth)),
        runs=len(intervals),
    )


def proportion_clustered(clusters: int, size: int, p: float, icc: float, runs: int, seed: int) -> Coverage:
    """Korn-Graubard over clusters whose units share a beta-distributed rate (intra-cluster correlation `icc`)."""
    rng = np.random.default_rng(seed)
    a, b = p * (1 - icc) / icc, (1 - p) * (1 - icc) / icc
    ids = [c for c in range(clusters) for _ in range(size)]
    out = []
    for _ in range(runs):
        rates = rng.beta(a, b, clusters)
        values = (rng.random((clusters, size)) < rates[:, None]).ravel().tolist()
        interval = stats.proportion(values, ids)
        assert interval is not None
        out.append(interval)
    return _tally(f"clustered proportion p={p}, {clusters} clusters x {size}, ICC {icc}", p, out)


def mean_lognormal(n: int, sigma: float, runs: int, seed: int) -> Coverage:
    rng = np.random.default_rng(seed)
    truth = float(np.exp(sigma**2 / 2)) * 0.001
    out = [stats.mean((rng.lognormal(0.0, sigma, n) * 0.001).tolist()) for _ in range(runs)]
    return _tally(f"mean cost, lognormal sigma {sigma}, n={n}", truth, [i for i in out if i is not None])


def p95_lognormal(n: int, runs: int, seed: int, repeats: int = 1, within: float = 0.0) -> Coverage:
    """p95 of latencies; with repeats, a task's repeats share part of their (log) latency."""
    rng = np.random.default_rng(seed)
    sd = 0.5
    truth = float(np.exp(1.6448536269514722 * sd))
    ids = [t for t in range(n) for _ in range(repeats)]
    out = []
    for _ in range(runs):
        task = rng.normal(0, sd * np.sqrt(within), (n, 1))
        logs = task + rng.normal(0, sd * np.sqrt(1 - within), (n, repeats))
        (p95,) = stats.quantiles(np.exp(logs).ravel().tolist(), (0.95,), ids if repeats > 1 else None) or []
        out.append(p95)
    label = f"latency p95, n={n}" + (f" x {repeats} repeats (within {within})" if repeats > 1 else "")
    return _tally(label, truth, out)


def parity_pairs(cases: int, rates: tuple[float, float], agreement: float, runs: int, seed: int) -> list[Coverage]:
    """Parity difference and impact ratio of two attribute values over paired variants of `cases` cases."""
    rng = np.random.default_rng(seed)
    r1, r2 = rates
    gaps, ratios = [], []
    clusters = [f"c{i}" for i in range(cases)]
    for _ in range(runs):
        shared = rng.random(cases)
        u1 = np.where(rng.random(cases) < agreement, shared, rng.random(cases))
        u2 = np.where(rng.random(cases) < agreement, shared, rng.random(cases))
        units = [{"a": bool(x < r1), "b": bool(y < r2)} for x, y in zip(u1, u2, strict=True)]
        result = parity(units, clusters)
        assert result is not None
        gaps.append(result.parity_diff)
        ratios.append(result.impact_ratio)
    tag = f"{cases} cases, rates {r1}/{r2}, agreement {agreement}"
    return [
        _tally(f"parity difference, {tag}", abs(r1 - r2), gaps),
        _tally(f"impact ratio, {tag}", min(r1, r2) / max(r1, r2), ratios),
    ]


__all__ = [
    "Coverage",
    "mean_lognormal",
    "p95_lognormal",
    "parity_pairs",
    "proportion_clustered",
    "proportion_exact",
]
