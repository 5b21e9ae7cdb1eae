"""The eval gate's input document, and its answer read back as records.

Python measures; the gate policy (`policies/gate/eval.rego`) decides. `gate_input` hands it every gated metric
with its interval, each threshold with its judgement made explicit, completeness, and each candidate's paired
comparison with the baseline (both analyses, Holm-adjusted p-values). `read_decision` turns the answer into the
per-candidate verdicts the evidence records carry; an answer of the wrong shape denies (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core.comparison import NONINFERIORITY_ALPHA, Comparison, PairedAnalysis
from guardrail.core.measurement import CandidateStats
from guardrail.core.metrics import gate_metrics, resolved_thresholds
from guardrail.core.stats import Interval


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class GateReason(_Record):
    threshold: str  # the threshold (or rule) that denied: "accuracy", "noninferiority", "complete", ...
    msg: str


class CandidateVerdict(_Record):
    """The evidence for one candidate: the metrics the gate judged (with intervals) and what it said."""

    candidate: str
    simulated: bool = False
    metrics: dict[str, Interval] = Field(default_factory=dict)
    complete: bool = False  # the candidate's (and baseline's) results cover the whole analysis set
    noninferior: bool | None = None  # the policy's non-inferiority verdict; None for the baseline
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


def _analysis(a: PairedAnalysis) -> dict[str, Any]:
    return {
        "pairs": a.pairs,
        "diff": a.diff.as_gate() if a.diff else None,
        "p": a.p_noninferiority,
        "p_adjusted": a.p_noninferiority_adjusted,
    }


def _comparison(c: Comparison) -> dict[str, Any]:
    return {
        "margin": c.margin,
        "family": c.family,
        "adjustment": "holm",
        "errors_as_failures": _analysis(c.errors_as_failures),
        "errors_excluded": _analysis(c.errors_excluded),
        "significantly_worse": c.significantly_worse,
    }


def gate_input(
    candidate_stats: Sequence[CandidateStats],
    comparisons: Sequence[Comparison],
    *,
    thresholds: dict[str, Any],
    baseline: str,
    proposed: str | None,
    max_error_rate: float | None,
    incomplete: dict[str, list[str]],
) -> dict[str, Any]:
    """The document `data.gate.eval.decision` judges (see policies/gate/eval.rego for the contract)."""
    by_name = {c.candidate: c for c in comparisons}
    candidates: dict[str, Any] = {}
    for s in candidate_stats:
        comp = by_name.get(s.candidate)
        reasons = list(comp.incomplete) if comp else list(incomplete.get(s.candidate, ["no result rows"]))
        candidates[s.candidate] = {
            "simulated": s.simulated,
            "complete": not reasons,
            "incomplete": reasons,
            "metrics": {name: i.as_gate() for name, i in gate_metrics(s).items()},
            "comparison": _comparison(comp) if comp else None,
            "errors": {"count": s.errors, "rows": s.rows, "rate": s.error_rate.point},
        }
    return {
        "candidates": candidates,
        "thresholds": resolved_thresholds(thresholds),
        "noninferiority_margin": thresholds.get("noninferiority_margin"),
        "alpha": NONINFERIORITY_ALPHA,
        "baseline": baseline,
        "proposed": proposed,
        "max_error_rate": max_error_rate,
    }


def _reasons(raw: Any) -> list[GateReason]:
    return [
        GateReason(threshold=str(r.get("threshold", "policy")), msg=str(r.get("msg", r)))
        if isinstance(r, dict)
        else GateReason(threshold="policy", msg=str(r))
        for r in raw or []
    ]


def read_decision(
    answer: Any, candidate_stats: Sequence[CandidateStats], document: dict[str, Any], *, proposed: str | None
) -> GateDecision:
    """Turn the policy's answer into records. An answer of the wrong shape denies (fail closed)."""
    answered = answer.get("candidates") if isinstance(answer, dict) else None
    sent = document.get("candidates", {})
    verdicts = []
    for s in candidate_stats:
        entry = answered.get(s.candidate) if isinstance(answered, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("pass"), bool):
            passed, reasons = entry["pass"], _reasons(entry.get("reasons"))
            noninferior = entry.get("noninferior") if isinstance(entry.get("noninferior"), bool) else None
        else:
            passed, noninferior = False, None
            reasons = [GateReason(threshold="policy", msg="the gate policy gave no verdict")]
        verdicts.append(
            CandidateVerdict(
                candidate=s.candidate,
                simulated=s.simulated,
                metrics=gate_metrics(s),
                complete=sent.get(s.candidate, {}).get("complete") is True,
                noninferior=noninferior,
                passed=passed,
                reasons=reasons,
            )
        )
    allow = isinstance(answer, dict) and answer.get("allow") is True
    return GateDecision(allow=allow, baseline=str(document.get("baseline")), proposed=proposed, verdicts=verdicts)


__all__ = ["CandidateVerdict", "GateDecision", "GateReason", "gate_input", "read_decision"]
