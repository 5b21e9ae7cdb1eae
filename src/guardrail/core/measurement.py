"""What one candidate did, measured: every per-candidate metric with its 95% interval (`CandidateStats`).

Conventions, stated once:
- Accuracy is over scored rows (an ERROR is neither a pass nor a fail here; the comparison with the baseline
  counts it as a failure, see core/comparison.py); errors get their own rate over every row.
- Cost per task is over every row (an error still costs money); latency over scored rows (an error's latency is
  a timeout, not the model's).
- A violation rate is the share of scored rows with at least one denied tool call; the count of denied calls is
  reported beside it.
- Rows that are not independent share a cluster (suite + `ResultRow.cluster`: counterfactual group, else
  template, else task), so repeats of one task and variants of one case count as one unit of evidence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core import stats
from guardrail.core.bias import AttributeBias, bias_by_attribute
from guardrail.core.results import ResultRow
from guardrail.core.stats import Interval


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class SliceStat(_Record):
    key: str
    value: str
    accuracy: Interval


class CandidateStats(_Record):
    candidate: str
    simulated: bool = False
    rows: int
    scored: int
    passed: int
    errors: int
    accuracy: Interval | None
    error_rate: Interval
    violation_rate: Interval | None  # share of scored rows with at least one denied tool call
    violations: int  # denied tool calls
    violations_by_rule: dict[str, int] = Field(default_factory=dict)
    cost_per_task: Interval | None  # None when every row errored: nothing was measured
    total_cost_usd: float
    latency_p50: Interval | None
    latency_p95: Interval | None
    slices: list[SliceStat] = Field(default_factory=list)
    bias: list[AttributeBias] = Field(default_factory=list)
    on_pareto_front: bool = False  # among candidates the gate passed: no other is cheaper and as accurate

    def worst_bias(self) -> AttributeBias | None:
        """The attribute with the highest flip-rate bound (the one a bound-judged threshold must clear)."""
        return max(self.bias, key=lambda b: (_bound(b.flip_rate), b.flip_rate.point), default=None)


def _bound(i: Interval) -> float:
    return float("inf") if i.upper is None else i.upper


def cluster(row: ResultRow) -> str:
    """The unit of evidence of a row; suites are separate namespaces for task ids."""
    return f"{row.suite}/{row.cluster}"


def candidate_stats(candidate: str, rows: Sequence[ResultRow]) -> CandidateStats:
    """Every per-candidate metric with its interval."""
    if not rows:
        raise ValueError(f"no rows for candidate {candidate!r}")
    scored = [r for r in rows if r.status != "error"]
    clusters = [cluster(r) for r in scored]
    accuracy = stats.proportion([r.passed for r in scored], clusters)
    error_rate = stats.proportion([r.status == "error" for r in rows], [cluster(r) for r in rows])
    assert error_rate is not None
    violation_rate = stats.proportion([bool(r.violations) for r in scored], clusters)
    by_rule = Counter(v.rule for r in rows for v in r.violations)
    costs = [r.cost_usd for r in rows]
    latency = stats.quantiles([r.latency_s for r in scored], (0.5, 0.95), clusters)
    slices: list[SliceStat] = []
    for key in sorted({k for r in scored for k in r.slice}):
        for value in sorted({r.slice[key] for r in scored if key in r.slice}):
            part = [r for r in scored if r.slice.get(key) == value]
            acc = stats.proportion([r.passed for r in part], [cluster(r) for r in part])
            if acc is not None:
                slices.append(SliceStat(key=key, value=value, accuracy=acc))
    return CandidateStats(
        candidate=candidate,
        simulated=any(r.simulated for r in rows),
        rows=len(rows),
        scored=len(scored),
        passed=sum(r.passed for r in scored),
        errors=len(rows) - len(scored),
        accuracy=accuracy,
        error_rate=error_rate,
        violation_rate=violation_rate,
        violations=sum(by_rule.values()),
        violations_by_rule=dict(sorted(by_rule.items())),
        cost_per_task=stats.mean(costs, [cluster(r) for r in rows]) if scored else None,
        total_cost_usd=sum(costs),
        latency_p50=latency[0] if latency else None,
        latency_p95=latency[1] if latency else None,
        slices=slices,
        bias=bias_by_attribute(rows),
    )


def all_candidate_stats(rows: Iterable[ResultRow], candidates: Sequence[str]) -> list[CandidateStats]:
    """Statistics for every candidate that has rows, in the spec's order."""
    grouped: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        grouped[row.candidate].append(row)
    order = [c for c in candidates if c in grouped] + sorted(set(grouped) - set(candidates))
    return [candidate_stats(c, grouped[c]) for c in order]


def mark_pareto_front(candidates: Sequence[CandidateStats], eligible: set[str]) -> list[CandidateStats]:
    """Mark the cost/accuracy Pareto front among the `eligible` candidates (those the gate passed: a candidate
    that fails a threshold is not a trade-off anyone may choose, so it is never drawn on the frontier)."""
    points = {
        s.candidate: (s.cost_per_task.point, s.accuracy.point)
        for s in candidates
        if s.candidate in eligible and s.cost_per_task is not None and s.accuracy is not None
    }
    front = stats.pareto_front(points)
    return [s.model_copy(update={"on_pareto_front": s.candidate in front}) for s in candidates]


__all__ = [
    "AttributeBias",
    "CandidateStats",
    "SliceStat",
    "all_candidate_stats",
    "candidate_stats",
    "cluster",
    "mark_pareto_front",
]
