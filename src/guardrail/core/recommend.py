"""The recommendation: the cheapest candidate the gate passed, what it saves against the roster's current model, and
what it costs in quality when it is measurably worse than the baseline (still within the margin).

The gate policy decides who passed (core/gate_input.py); this module only chooses among them and says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core.comparison import Comparison
from guardrail.core.gate_input import GateDecision
from guardrail.core.llm import model_label
from guardrail.core.measurement import CandidateStats


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    agent: str
    candidate: str | None  # the cheapest candidate the gate passed; None when none passed
    simulated: bool = False
    cost_per_task_usd: float | None = None
    current_model: str | None = None
    current_cost_per_task_usd: float | None = None
    saving_per_1000_tasks_usd: float | None = None  # current minus recommended, per 1,000 tasks
    loss: str | None = None  # the measured loss against the baseline, when it is significant
    stopped: dict[str, list[str]] = Field(default_factory=dict)  # failing candidate -> thresholds that stopped it
    message: str


def _loss(comparison: Comparison | None) -> str | None:
    """How much worse than the baseline, when the difference is significant (the margin still held)."""
    if comparison is None or not comparison.significantly_worse or comparison.diff is None:
        return None
    d = comparison.diff
    p = comparison.errors_as_failures.p_difference_adjusted
    lower = "–" if d.lower is None else f"{-d.lower * 100:.1f}"
    upper = "–" if d.upper is None else f"{-d.upper * 100:.1f}"
    return (
        f"it passes {-d.point * 100:.1f} points fewer tasks than the baseline {comparison.baseline} "
        f"(95% CI {upper} to {lower} points; Holm-adjusted p = {p:.2g}), within the {comparison.margin:g} margin"
    )


def recommend(
    agent: str,
    candidate_stats: Sequence[CandidateStats],
    decision: GateDecision,
    comparisons: Sequence[Comparison],
    *,
    current_model: str | None,
) -> Recommendation:
    """The cheapest candidate the gate passed, its saving against the roster's current model, and its loss."""
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
    label = model_label(best.candidate, best.simulated)
    loss = _loss(next((c for c in comparisons if c.candidate == best.candidate), None))
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
    if loss:
        message += f"; but {loss}"
    return Recommendation(
        agent=agent,
        candidate=best.candidate,
        simulated=best.simulated,
        cost_per_task_usd=cost,
        current_model=current_model,
        current_cost_per_task_usd=current_cost,
        saving_per_1000_tasks_usd=saving,
        loss=loss,
        stopped=stopped,
        message=message,
    )


__all__ = ["Recommendation", "recommend"]
