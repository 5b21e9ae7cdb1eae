"""What every statistic in a report means, and what a reader must be warned about: stated once, printed by the
console, Markdown and HTML reports alike (plain text; each renderer escapes it)."""

from __future__ import annotations

from dataclasses import dataclass

from guardrail.core.comparison import MIN_CLUSTERS
from guardrail.core.metrics import BY_NAME
from guardrail.core.summary import Summary

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("[lower, upper]", "the 95% interval: the true values these tasks are consistent with. A bound shown as – "
     "cannot be set with this many tasks (the note beside it says how many would do)."),
    ("accuracy", BY_NAME["accuracy"].explains + "; exact (Clopper-Pearson) interval, or Korn-Graubard's when "
     "tasks come in clusters (repeats, templates, counterfactual cases)."),
    ("Δ vs baseline", "the candidate's pass rate minus the baseline's on the same tasks, errors counted as "
     "failures; Tango's score interval, corrected for clusters by their design effect."),
    ("non-inferior", "the gate's verdict that the candidate is not worse than the baseline by the margin or more: "
     "a one-sided test at 2.5% after Holm's adjustment over the candidates, which must hold with errors counted as "
     "failures and with error pairs left out."),
    ("better / worse", "tasks the candidate passed and the baseline did not, and the reverse."),
    ("p (differ)", "two-sided test that the two pass rates differ (McNemar's exact test; Durkalski's clustered "
     "version for clustered tasks), Holm-adjusted over the candidates. Below 0.05 with a lower pass rate: "
     "significantly worse, which a recommendation states even when the margin holds."),
    ("pairs needed", "task results needed for an 80% chance to show non-inferiority at the margin if the "
     "candidate were exactly as good as the baseline, given how often the two agreed in this run."),
    ("violations", BY_NAME["policy_violations"].explains + "; the violation rate is "
     + BY_NAME["violation_rate"].explains + "."),
    ("flip rate", BY_NAME["bias_flip_rate"].explains.replace(" (the worst attribute)", "") + ", per attribute."),
    ("parity difference / impact ratio", "favourable-outcome rates per attribute value compared as paired data "
     "(variants of one case), per attribute; the bounds over several pairs of values hold together "
     "(Bonferroni)."),
    ("flagged", "the flips of an attribute lean one way: an exact sign test (Bonferroni over pairs of values) finds "
     "more flips toward the most favoured value than away from it, p < 0.05. Reported, never gated."),
    ("judged on", "bound: the interval's bound on the candidate's side must clear the threshold, so the candidate "
     "must show it passes; estimate: the point estimate must."),
)  # fmt: skip


@dataclass(frozen=True)
class ThresholdLine:
    metric: str
    limit: str  # "min 0.85", "max 0"
    judged_on: str  # "lower bound", "upper bound", "estimate"
    explains: str


def thresholds(summary: Summary) -> list[ThresholdLine]:
    """Each threshold the gate applied, with what it is and how it was judged."""
    out = []
    for metric, bound in summary.thresholds.items():
        if not isinstance(bound, dict):
            continue
        known = BY_NAME.get(metric)
        for side, word in (("min", "lower bound"), ("max", "upper bound")):
            value = bound.get(side)
            if not isinstance(value, int | float):
                continue
            judged = "estimate" if bound.get("judge") == "estimate" else word
            explains = known.explains if known else "not a metric this version measures"
            out.append(ThresholdLine(metric, f"{side} {value:g}", judged, explains))
    margin = summary.thresholds.get("noninferiority_margin")
    if isinstance(margin, int | float):
        out.append(ThresholdLine("noninferiority_margin", f"{margin:g}", "lower bound (one-sided test)",
                                 "how much lower than the baseline's a candidate's pass rate may be"))  # fmt: skip
    return out


def warnings(summary: Summary) -> list[str]:
    """Everything a reader must know before trusting a verdict: incomplete runs, too few tasks, missing bounds."""
    out = []
    if summary.provenance.run_status != "finished":
        out.append(f"the run is {summary.provenance.run_status}: no candidate can pass until it finishes")
    for c in summary.comparisons:
        if c.incomplete:
            out.append(f"{c.candidate}: incomplete ({'; '.join(c.incomplete)})")
        out.extend(f"{c.candidate}: {w}" for w in c.warnings)
    for s in summary.candidates:
        for metric, interval in (("cost per task", s.cost_per_task), ("latency p95", s.latency_p95)):
            if interval is not None and interval.upper is None and interval.note:  # the bound a budget would use
                out.append(f"{s.candidate}: {metric}: {interval.note}")
        for b in s.bias:
            if b.flip_rate.clusters is not None and b.flip_rate.clusters < MIN_CLUSTERS:
                out.append(f"{s.candidate}: {b.attribute}: only {b.flip_rate.clusters} cases")
    return out


def noninferiority(summary: Summary) -> str:
    """One sentence on how the comparison with the baseline was judged."""
    margin = summary.thresholds.get("noninferiority_margin")
    family = max((c.family for c in summary.comparisons), default=0)
    if not isinstance(margin, int | float):
        return "No non-inferiority margin was set, so no candidate other than the baseline can pass."
    adjust = f", Holm-adjusted over {family} candidates" if family > 1 else ""
    return (
        f"Non-inferior: not worse than the baseline {summary.baseline} by {margin:g} or more (one-sided 2.5%"
        f"{adjust}), both with errors counted as failures and with error pairs left out."
    )


__all__ = ["GLOSSARY", "ThresholdLine", "noninferiority", "thresholds", "warnings"]
