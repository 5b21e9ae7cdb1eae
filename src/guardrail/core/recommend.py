"""From result rows to comparison records, the gate's input, and the recommendation.

Python measures; the gate policy (`policies/gate/eval.rego`) decides. This module turns a run's rows
into per-candidate statistics (`CandidateStats`), paired comparisons against the baseline (`Comparison`),
the gate's input document, and, once the policy has answered, the per-candidate evidence
(`CandidateVerdict`, which the CI gate reads) and the recommendation: the cheapest candidate that passed.

Conventions, stated once:
- ERROR rows never count as passes or fails: accuracy is over scored rows, errors get their own rate.
- Cost per task is over every row (an error still costs money); latency is over scored rows, as in the
  runner's counts (an error's latency is a timeout, not the model's).
- Rows that are not independent share a cluster (suite + `ResultRow.cluster`: counterfactual group, else
  template, else task), so repeats of one task and variants of one case are resampled together.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core import stats
from guardrail.core.results import ResultRow
from guardrail.core.stats import DEFAULT_RESAMPLES, Interval, seed_for

NO_DECISION = "(none)"
BIAS_ALPHA = 0.05


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class SliceStat(_Record):
    key: str
    value: str
    accuracy: Interval


class AttributeBias(_Record):
    """Counterfactual consistency and group parity for one attribute (gender, age, name...)."""

    attribute: str
    groups: int  # (group, repeat) units with at least two scored variants
    flip_rate: Interval  # share of units whose variants' decisions differ
    parity: stats.ParityStats | None = None  # favourable-outcome rates per value (decision tasks only)
    toward: int = 0  # flips that favoured the most-favoured value over the least-favoured one
    away: int = 0
    direction_p: float | None = None  # exact test that flips lean one way (Bonferroni over value pairs)
    flagged: bool | None = None  # the attribute moves decisions one way (direction_p < 0.05); None: no label


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
    violations: int
    violations_by_rule: dict[str, int] = Field(default_factory=dict)
    cost_per_task: Interval | None
    total_cost_usd: float
    latency_p50: Interval | None
    latency_p95: Interval | None
    slices: list[SliceStat] = Field(default_factory=list)
    bias: list[AttributeBias] = Field(default_factory=list)
    on_pareto_front: bool = False

    def worst_bias(self) -> AttributeBias | None:
        return max(self.bias, key=lambda b: b.flip_rate.point, default=None)


class Comparison(_Record):
    """One candidate against the baseline on the same (suite, task, repeat) keys."""

    candidate: str
    baseline: str
    n_pairs: int
    dropped_errors: int  # pairs dropped because either side errored
    unmatched: int  # keys present on one side only
    diff: Interval | None  # candidate pass rate minus baseline pass rate
    better: int = 0
    worse: int = 0
    mcnemar_p: float | None = None
    holm_p: float | None = None  # adjusted across the non-baseline candidates
    significant: bool = False  # holm_p < 0.05: the pass rates really differ
    margin: float | None = None
    noninferior: bool | None = None  # diff.lower > -margin; None when there is no margin or no pairs


class GateReason(_Record):
    threshold: str  # the threshold (or rule) that denied: "accuracy", "noninferiority", "errors", ...
    msg: str


class CandidateVerdict(_Record):
    """The evidence for one candidate: the metrics the gate judged (with intervals) and what it said."""

    candidate: str
    simulated: bool = False
    metrics: dict[str, Interval] = Field(default_factory=dict)
    noninferior: bool | None = None
    passed: bool
    reasons: list[GateReason] = Field(default_factory=list)
    mlflow_run_id: str | None = None


class GateDecision(_Record):
    allow: bool
    baseline: str
    proposed: str | None = None
    policy: str = "data.gate.eval.decision"
    verdicts: list[CandidateVerdict] = Field(default_factory=list)

    def verdict(self, candidate: str) -> CandidateVerdict | None:
        return next((v for v in self.verdicts if v.candidate == candidate), None)


class Recommendation(_Record):
    agent: str
    candidate: str | None  # the cheapest candidate the gate passed; None when none passed
    simulated: bool = False
    cost_per_task_usd: float | None = None
    current_model: str | None = None
    current_cost_per_task_usd: float | None = None
    saving_per_1000_tasks_usd: float | None = None  # current minus recommended, per 1,000 tasks
    stopped: dict[str, list[str]] = Field(default_factory=dict)  # failing candidate -> thresholds that stopped it
    message: str


def cluster(row: ResultRow) -> str:
    """The resampling unit of a row; suites are separate namespaces for task ids."""
    return f"{row.suite}/{row.cluster}"


# --- per-candidate statistics ---------------------------------------------------------------------


def _flip_units(rows: Sequence[ResultRow]) -> dict[str, list[list[ResultRow]]]:
    """Scored counterfactual variants grouped into (group, repeat) units, per attribute."""
    units: dict[tuple[str, int], list[ResultRow]] = defaultdict(list)
    for row in rows:
        if row.cf_group and row.status != "error":
            units[(f"{row.suite}/{row.cf_group}", row.repeat)].append(row)
    by_attr: dict[str, list[list[ResultRow]]] = defaultdict(list)
    for variants in units.values():
        if len({r.cf_value for r in variants}) >= 2:
            by_attr[variants[0].cf_attribute or "unknown"].append(variants)
    return by_attr


def _bias(attribute: str, units: list[list[ResultRow]], *, resamples: int, seed: int) -> AttributeBias:
    flips = [len({r.decision or NO_DECISION for r in u}) > 1 for u in units]
    flip_rate = stats.proportion(flips, [cluster(u[0]) for u in units], resamples=resamples, seed=seed)
    assert flip_rate is not None
    labelled = [r for u in units for r in u if r.favourable is not None and r.cf_value is not None]
    if not labelled:
        return AttributeBias(attribute=attribute, groups=len(units), flip_rate=flip_rate)
    parity = stats.parity(
        [r.decision == r.favourable for r in labelled],
        [r.cf_value or "" for r in labelled],
        [cluster(r) for r in labelled],
        resamples=resamples,
        seed=seed,
    )
    if parity is None:
        return AttributeBias(attribute=attribute, groups=len(units), flip_rate=flip_rate)
    toward = away = 0
    for unit in units:
        fav = {r.cf_value: r.decision == r.favourable for r in unit if r.favourable is not None}
        hi, lo = fav.get(parity.highest), fav.get(parity.lowest)
        if hi is None or lo is None or hi == lo:
            continue
        toward, away = toward + hi, away + lo
    pairs = max(1, len(list(combinations(parity.rates, 2))))
    p = min(1.0, stats.direction_test(toward, away) * pairs)
    return AttributeBias(
        attribute=attribute,
        groups=len(units),
        flip_rate=flip_rate,
        parity=parity,
        toward=toward,
        away=away,
        direction_p=p,
        flagged=p < BIAS_ALPHA,
    )


def bias_by_attribute(
    rows: Sequence[ResultRow], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> list[AttributeBias]:
    """Flip rate, parity and the direction test for every counterfactual attribute in one candidate's rows."""
    return [
        _bias(attr, units, resamples=resamples, seed=seed + i)
        for i, (attr, units) in enumerate(sorted(_flip_units(rows).items()))
    ]


def candidate_stats(candidate: str, rows: Sequence[ResultRow], *, resamples: int = DEFAULT_RESAMPLES) -> CandidateStats:
    """Every per-candidate metric with its interval. Seeds derive from the candidate and metric names."""
    if not rows:
        raise ValueError(f"no rows for candidate {candidate!r}")
    scored = [r for r in rows if r.status != "error"]
    errors = len(rows) - len(scored)

    def seed(*parts: str) -> int:
        return seed_for(candidate, *parts)

    accuracy = stats.proportion(
        [r.passed for r in scored], [cluster(r) for r in scored], resamples=resamples, seed=seed("acc")
    )
    error_rate = stats.proportion(
        [r.status == "error" for r in rows], [cluster(r) for r in rows], resamples=resamples, seed=seed("err")
    )
    assert error_rate is not None
    violation_rate = stats.proportion(
        [bool(r.violations) for r in scored],
        [cluster(r) for r in scored],
        resamples=resamples,
        seed=seed("vio"),
    )
    by_rule = Counter(v.rule for r in rows for v in r.violations)
    costs = [r.cost_usd for r in rows]
    latencies = [r.latency_s for r in scored]
    latency = stats.quantiles(latencies, (0.5, 0.95), resamples=resamples, seed=seed("latency"))
    slices: list[SliceStat] = []
    keys = sorted({k for r in scored for k in r.slice})
    for key in keys:
        for value in sorted({r.slice[key] for r in scored if key in r.slice}):
            part = [r for r in scored if r.slice.get(key) == value]
            acc = stats.proportion(
                [r.passed for r in part],
                [cluster(r) for r in part],
                resamples=resamples,
                seed=seed(key, value),
            )
            if acc is not None:
                slices.append(SliceStat(key=key, value=value, accuracy=acc))
    bias = bias_by_attribute(rows, resamples=resamples, seed=seed("bias"))
    return CandidateStats(
        candidate=candidate,
        simulated=any(r.simulated for r in rows),
        rows=len(rows),
        scored=len(scored),
        passed=sum(r.passed for r in scored),
        errors=errors,
        accuracy=accuracy,
        error_rate=error_rate,
        violation_rate=violation_rate,
        violations=sum(by_rule.values()),
        violations_by_rule=dict(sorted(by_rule.items())),
        # a candidate that never answered has no cost per task to compare (not "$0.00 [0.00, 0.00]")
        cost_per_task=stats.mean(costs, [cluster(r) for r in rows], resamples=resamples, seed=seed("cost"))
        if scored
        else None,
        total_cost_usd=sum(costs),
        latency_p50=latency[0] if latency else None,
        latency_p95=latency[1] if latency else None,
        slices=slices,
        bias=bias,
    )


def all_candidate_stats(
    rows: Iterable[ResultRow], candidates: Sequence[str], *, resamples: int = DEFAULT_RESAMPLES
) -> list[CandidateStats]:
    """Statistics for every candidate that has rows, marking the cost-vs-accuracy Pareto front."""
    grouped: dict[str, list[ResultRow]] = defaultdict(list)
    for row in rows:
        grouped[row.candidate].append(row)
    order = [c for c in candidates if c in grouped] + sorted(set(grouped) - set(candidates))
    out = [candidate_stats(c, grouped[c], resamples=resamples) for c in order]
    points = {
        s.candidate: (s.cost_per_task.point, s.accuracy.point)
        for s in out
        if s.cost_per_task is not None and s.accuracy is not None
    }
    front = stats.pareto_front(points)
    return [s.model_copy(update={"on_pareto_front": s.candidate in front}) for s in out]


# --- paired comparisons ---------------------------------------------------------------------------


def compare(
    rows: Iterable[ResultRow],
    baseline: str,
    candidates: Sequence[str],
    *,
    margin: float | None,
    resamples: int = DEFAULT_RESAMPLES,
) -> list[Comparison]:
    """Each candidate vs the baseline on shared (suite, task, repeat) keys; Holm across McNemar tests."""
    table: dict[str, dict[tuple[str, str, int], ResultRow]] = defaultdict(dict)
    for row in rows:
        table[row.candidate][(row.suite, row.task_id, row.repeat)] = row
    base = table.get(baseline, {})
    raw: list[Comparison] = []
    for cand in candidates:
        if cand == baseline or cand not in table:
            continue
        mine = table[cand]
        shared = sorted(set(mine) & set(base))
        unmatched = len(set(mine) ^ set(base))
        usable = [k for k in shared if mine[k].status != "error" and base[k].status != "error"]
        test = stats.paired(
            [mine[k].passed for k in usable],
            [base[k].passed for k in usable],
            [cluster(base[k]) for k in usable],
            resamples=resamples,
            seed=seed_for(cand, baseline, "paired"),
        )
        noninferior = None
        if test is not None and margin is not None:
            noninferior = test.diff.lower > -margin
        raw.append(
            Comparison(
                candidate=cand,
                baseline=baseline,
                n_pairs=len(usable),
                dropped_errors=len(shared) - len(usable),
                unmatched=unmatched,
                diff=test.diff if test else None,
                better=test.better if test else 0,
                worse=test.worse if test else 0,
                mcnemar_p=test.mcnemar_p if test else None,
                margin=margin,
                noninferior=noninferior,
            )
        )
    adjusted = stats.holm({c.candidate: c.mcnemar_p for c in raw if c.mcnemar_p is not None})
    return [
        c.model_copy(
            update={
                "holm_p": adjusted.get(c.candidate),
                "significant": adjusted.get(c.candidate, 1.0) < 0.05,
            }
        )
        for c in raw
    ]


# --- the gate's input and its answer --------------------------------------------------------------


def gate_metrics(s: CandidateStats) -> dict[str, Interval]:
    """The metrics the gate judges, named as the thresholds are; one that cannot be computed is absent."""
    metrics: dict[str, Interval] = {
        "error_rate": s.error_rate,
        "policy_violations": stats.exact(float(s.violations), s.rows),
    }
    if s.accuracy is not None:
        metrics["accuracy"] = s.accuracy
    if s.cost_per_task is not None:
        metrics["cost_per_task_usd"] = s.cost_per_task
    if s.latency_p95 is not None:
        metrics["latency_p95_s"] = s.latency_p95
    worst = s.worst_bias()
    if worst is not None:
        metrics["bias_flip_rate"] = worst.flip_rate
    parities = [b.parity for b in s.bias if b.parity is not None]
    if parities:
        metrics["demographic_parity_diff"] = max((p.parity_diff for p in parities), key=lambda i: i.point)
        metrics["disparate_impact"] = min((p.impact_ratio for p in parities), key=lambda i: i.point)
    return metrics


def gate_input(
    candidate_stats: Sequence[CandidateStats],
    comparisons: Sequence[Comparison],
    *,
    thresholds: dict[str, Any],
    baseline: str,
    proposed: str | None,
    max_error_rate: float | None,
) -> dict[str, Any]:
    """The document `data.gate.eval.decision` judges (see policies/gate/eval.rego for the contract)."""
    ni = {c.candidate: c for c in comparisons}
    candidates: dict[str, Any] = {}
    for s in candidate_stats:
        comp = ni.get(s.candidate)
        candidates[s.candidate] = {
            "simulated": s.simulated,
            "metrics": {name: i.as_gate() for name, i in gate_metrics(s).items()},
            "noninferior": comp.noninferior if comp else None,
            "paired_diff": comp.diff.as_gate() if comp and comp.diff else None,
            "errors": {"count": s.errors, "rows": s.rows, "rate": s.error_rate.point},
        }
    return {
        "candidates": candidates,
        "thresholds": thresholds,
        "baseline": baseline,
        "proposed": proposed,
        "max_error_rate": max_error_rate,
    }


def read_decision(
    answer: Any,
    candidate_stats: Sequence[CandidateStats],
    comparisons: Sequence[Comparison],
    *,
    baseline: str,
    proposed: str | None,
) -> GateDecision:
    """Turn the policy's answer into records. An answer of the wrong shape denies (fail closed)."""
    ni = {c.candidate: c.noninferior for c in comparisons}
    answered = answer.get("candidates") if isinstance(answer, dict) else None
    verdicts = []
    for s in candidate_stats:
        entry = answered.get(s.candidate) if isinstance(answered, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("pass"), bool):
            reasons = [
                GateReason(threshold=str(r.get("threshold", "policy")), msg=str(r.get("msg", r)))
                if isinstance(r, dict)
                else GateReason(threshold="policy", msg=str(r))
                for r in entry.get("reasons") or []
            ]
            passed = entry["pass"]
        else:
            passed, reasons = False, [GateReason(threshold="policy", msg="the gate policy gave no verdict")]
        verdicts.append(
            CandidateVerdict(
                candidate=s.candidate,
                simulated=s.simulated,
                metrics=gate_metrics(s),
                noninferior=ni.get(s.candidate),
                passed=passed,
                reasons=reasons,
            )
        )
    allow = isinstance(answer, dict) and answer.get("allow") is True
    return GateDecision(allow=allow, baseline=baseline, proposed=proposed, verdicts=verdicts)


# --- the recommendation ---------------------------------------------------------------------------


def recommend(
    agent: str,
    candidate_stats: Sequence[CandidateStats],
    decision: GateDecision,
    *,
    current_model: str | None,
) -> Recommendation:
    """The cheapest candidate the gate passed, and what it saves against the roster's current model."""
    by_name = {s.candidate: s for s in candidate_stats}
    passing = [
        by_name[v.candidate] for v in decision.verdicts if v.passed and by_name[v.candidate].cost_per_task is not None
    ]
    stopped = {v.candidate: sorted({r.threshold for r in v.reasons}) for v in decision.verdicts if not v.passed}
    current = by_name.get(current_model) if current_model else None
    current_cost = current.cost_per_task.point if current and current.cost_per_task else None
    if not passing:
        detail = "; ".join(f"{c}: {', '.join(t) or 'denied'}" for c, t in stopped.items())
        return Recommendation(
            agent=agent,
            candidate=None,
            current_model=current_model,
            current_cost_per_task_usd=current_cost,
            stopped=stopped,
            message=f"no candidate passed every threshold ({detail})",
        )
    best = min(passing, key=lambda s: (s.cost_per_task.point if s.cost_per_task else 0.0, s.candidate))
    cost = best.cost_per_task.point if best.cost_per_task else None
    saving = (current_cost - cost) * 1000 if current_cost is not None and cost is not None else None
    label = f"{best.candidate} (simulated)" if best.simulated else best.candidate
    if best.candidate == current_model:
        message = f"keep {agent} on {label}: the current model is the cheapest candidate that passed every threshold"
    else:
        if saving is None:
            tail = (
                f"; the current model {current_model} was not among the candidates, so no saving is computed"
                if current_model
                else ""
            )
        else:
            verb = "saves" if saving >= 0 else "costs"
            tail = f"; it {verb} ${abs(saving):.4f} per 1,000 tasks against the current model {current_model}"
        message = f"switch {agent} to {label}: the cheapest candidate that passed every threshold{tail}"
    return Recommendation(
        agent=agent,
        candidate=best.candidate,
        simulated=best.simulated,
        cost_per_task_usd=cost,
        current_model=current_model,
        current_cost_per_task_usd=current_cost,
        saving_per_1000_tasks_usd=saving,
        stopped=stopped,
        message=message,
    )


__all__ = [
    "AttributeBias",
    "CandidateStats",
    "CandidateVerdict",
    "Comparison",
    "GateDecision",
    "GateReason",
    "Recommendation",
    "SliceStat",
    "all_candidate_stats",
    "bias_by_attribute",
    "candidate_stats",
    "compare",
    "gate_input",
    "gate_metrics",
    "read_decision",
    "recommend",
]
