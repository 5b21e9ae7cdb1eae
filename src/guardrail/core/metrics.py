"""The gated metrics, declared once: what each is, how it is read from a candidate's statistics, and which side of
its interval a threshold is judged on by default.

Adding a gated metric is one entry in `GATED`: the eval spec's `thresholds` (and its JSON Schema), the gate
input, the reports' threshold table and their explanations all come from it. The gate policy
(`policies/gate/eval.rego`) is generic over the names.

Judging ("judge" in a threshold): "bound" compares the 95% interval's bound that puts the burden of proof on the
candidate (the lower bound against a `min`, the upper bound against a `max`); "estimate" compares the point
estimate. Harms (error, violation and flip rates, parity) and accuracy default to "bound": a candidate passes
only when the data show, with 95% confidence, that it is on the right side. Cost and latency default to
"estimate": they are budgets, and the interval is reported beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from guardrail.core.measurement import CandidateStats
from guardrail.core.stats import Interval, exact

Judge = Literal["estimate", "bound"]
JUDGES: tuple[Judge, ...] = ("estimate", "bound")


@dataclass(frozen=True)
class GatedMetric:
    name: str  # the threshold's key in the eval spec, and the metric's name at the gate
    label: str  # a short heading for tables
    explains: str  # one sentence for the reports: what the number is
    judge: Judge  # the default judgement when a threshold does not say
    digits: int  # decimals in reports
    read: Callable[[CandidateStats], Interval | None]


def _combine(intervals: Sequence[Interval], worst: Callable[..., float], what: str) -> Interval | None:
    """The worst value over attributes, with bounds that hold for it (each bound is the worst of the bounds)."""
    if not intervals:
        return None
    if len(intervals) == 1:
        return intervals[0]
    lowers = [i.lower for i in intervals]
    uppers = [i.upper for i in intervals]
    return Interval(
        point=worst(i.point for i in intervals),
        lower=None if None in lowers else worst(v for v in lowers if v is not None),
        upper=None if None in uppers else worst(v for v in uppers if v is not None),
        n=sum(i.n for i in intervals),
        method=f"{what} over {len(intervals)} attributes",
    )


def _flip(s: CandidateStats) -> Interval | None:
    return _combine([b.flip_rate for b in s.bias], max, "highest")


def _parity(s: CandidateStats) -> Interval | None:
    return _combine([b.parity.parity_diff for b in s.bias if b.parity], max, "highest")


def _impact(s: CandidateStats) -> Interval | None:
    return _combine([b.parity.impact_ratio for b in s.bias if b.parity], min, "lowest")


GATED: tuple[GatedMetric, ...] = (
    GatedMetric("accuracy", "accuracy", "share of scored tasks that passed every check (errors excluded)",
                "bound", 3, lambda s: s.accuracy),
    GatedMetric("error_rate", "error rate", "share of tasks the provider or harness could not finish",
                "bound", 3, lambda s: s.error_rate),
    GatedMetric("violation_rate", "violation rate",
                "share of scored tasks with at least one tool call the action policy denied",
                "bound", 3, lambda s: s.violation_rate),
    GatedMetric("policy_violations", "violations", "number of tool calls the action policy denied (a count)",
                "estimate", 0, lambda s: exact(float(s.violations), s.rows)),
    GatedMetric("cost_per_task_usd", "cost / task $", "mean cost of one task in USD, errors included",
                "estimate", 5, lambda s: s.cost_per_task),
    GatedMetric("latency_p95_s", "latency p95 s", "95th percentile of a task's model time in seconds",
                "estimate", 2, lambda s: s.latency_p95),
    GatedMetric("bias_flip_rate", "flip rate",
                "share of counterfactual cases whose decision changed when only a person's attribute changed "
                "(the worst attribute)", "bound", 3, _flip),
    GatedMetric("demographic_parity_diff", "parity difference",
                "highest minus lowest favourable-outcome rate across an attribute's values (the worst attribute)",
                "bound", 3, _parity),
    GatedMetric("disparate_impact", "impact ratio",
                "lowest over highest favourable-outcome rate (four-fifths rule: at least 0.8; the worst attribute)",
                "bound", 3, _impact),
)  # fmt: skip
BY_NAME = {m.name: m for m in GATED}


def gate_metrics(s: CandidateStats) -> dict[str, Interval]:
    """The metrics the gate judges, named as the thresholds are; one that cannot be computed is absent."""
    return {m.name: value for m in GATED if (value := m.read(s)) is not None}


# --- the spec's thresholds, generated from the table --------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bound(_Strict):
    min: float | None = None
    max: float | None = None
    judge: Judge | None = Field(
        default=None,
        description="'bound': the 95% interval's bound must clear the threshold (the candidate carries the burden "
        "of proof); 'estimate': the point estimate must. Unset: the metric's default (see its description).",
    )


class ThresholdsBase(_Strict):
    """Pass thresholds; handed to the gate policy as data, so tightening them needs no Python."""

    noninferiority_margin: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="How much lower than the baseline's a candidate's pass rate may be (0.05: five points). "
        "Required when the spec compares candidates with a baseline.",
    )

    def bounds(self) -> dict[str, Bound]:
        return {m.name: b for m in GATED if isinstance(b := getattr(self, m.name, None), Bound)}


def _described(m: GatedMetric) -> str:
    side = "interval's bound" if m.judge == "bound" else "point estimate"
    return f"{m.explains[0].upper()}{m.explains[1:]}. Judged on the {side} unless `judge` says otherwise."


if TYPE_CHECKING:
    Thresholds = ThresholdsBase
else:
    Thresholds = create_model(
        "Thresholds",
        __base__=ThresholdsBase,
        __doc__=ThresholdsBase.__doc__,
        **{m.name: (Bound | None, Field(default=None, description=_described(m))) for m in GATED},
    )


def resolved_thresholds(thresholds: dict[str, Any]) -> dict[str, Any]:
    """The thresholds as the gate reads them: every bound with its judgement explicit. A bound on a name this
    version does not know keeps judge "bound" (the stricter reading); its metric is missing, so it denies."""
    out: dict[str, Any] = {}
    for name, value in thresholds.items():
        if not isinstance(value, dict):
            out[name] = value
            continue
        known = BY_NAME.get(name)
        judge = value.get("judge") if value.get("judge") in JUDGES else (known.judge if known else "bound")
        out[name] = {"min": value.get("min"), "max": value.get("max"), "judge": judge}
    return out


__all__ = [
    "BY_NAME",
    "GATED",
    "Bound",
    "GatedMetric",
    "Judge",
    "Thresholds",
    "ThresholdsBase",
    "gate_metrics",
    "resolved_thresholds",
]
