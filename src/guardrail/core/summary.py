"""summary.json: the versioned record of one compared run, the single source every report renders from.

It holds the runner's counts, the statistics, the paired comparison, the gate decision, the recommendation and
the provenance (input hashes, versions, times), plus where MLflow stored the runs. Bump SUMMARY_SCHEMA_VERSION
when a field changes meaning; readers check `v`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core import stats
from guardrail.core.comparison import AnalysisSet, Comparison
from guardrail.core.counts import RunCounts
from guardrail.core.gate_input import CandidateVerdict, GateDecision
from guardrail.core.measurement import CandidateStats, cluster
from guardrail.core.recommend import Recommendation
from guardrail.core.results import ResultRow
from guardrail.core.stats import Interval

# 2: score intervals, both paired analyses, completeness, judged thresholds; 3: `counts` a typed record
# (core/counts.py), and summary.json written only as this record (the runner no longer writes its own counts there)
SUMMARY_SCHEMA_VERSION = 3


class Provenance(BaseModel):
    """What produced these numbers: inputs by hash, software by version, and when."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    eval_name: str
    eval_path: str
    agent: str
    hashes: dict[str, str] = Field(default_factory=dict)  # spec, policies, roster, suites
    suites: dict[str, str] = Field(default_factory=dict)  # suite name -> tree hash
    gate_policy_hash: str | None = None  # sha256 of the policies tree the gate decision came from
    guardrail_version: str
    git_commit: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)  # python, numpy, scipy, regorus, mlflow
    run_started_at: datetime
    run_finished_at: datetime | None = None
    run_status: str
    generated_at: datetime
    confidence: float = stats.CONFIDENCE


class Tracking(BaseModel):
    """Where MLflow keeps this comparison; the evidence records carry these ids."""

    model_config = ConfigDict(frozen=True)

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    parent_run_id: str
    child_run_ids: dict[str, str] = Field(default_factory=dict)  # candidate -> run id


class JudgeMetricStats(BaseModel):
    """One optional LLM-judge metric for one candidate. Reported beside the gate, never gated."""

    model_config = ConfigDict(frozen=True)

    candidate: str
    metric: str  # "geval", "bias" (checks named "judge:<metric>")
    judged: int  # answers the judge scored
    unjudged: int  # judge errors and tasks without a final answer: no score
    mean: Interval | None  # mean score in [0, 1] (higher is better), (cluster) t interval
    pass_rate: Interval | None  # share of judged answers with score >= the judge's threshold


def judge_stats(rows: Iterable[ResultRow], candidates: Sequence[str]) -> list[JudgeMetricStats]:
    """Per candidate and judge metric: mean score and pass rate with 95% intervals over the scored rows.

    Rows that are not independent (repeats, counterfactual variants, template expansions) share a cluster, as for
    accuracy (core/stats.py: the (cluster) t interval for the mean, Clopper-Pearson or Korn-Graubard for the pass
    rate). Error rows carry no judge checks.
    """
    scored: dict[tuple[str, str], list[tuple[float, bool, str]]] = defaultdict(list)
    unjudged: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        for check in row.checks:
            if not check.name.startswith("judge:"):
                continue
            key = (row.candidate, check.name.removeprefix("judge:"))
            if check.score is None:
                unjudged[key] += 1
            else:
                scored[key].append((check.score, check.passed, cluster(row)))
    order = {c: i for i, c in enumerate(candidates)}
    out = []
    for key in sorted({*scored, *unjudged}, key=lambda k: (order.get(k[0], len(order)), k[0], k[1])):
        candidate, metric = key
        values = scored.get(key, [])
        clusters = [c for _, _, c in values]
        out.append(
            JudgeMetricStats(
                candidate=candidate,
                metric=metric,
                judged=len(values),
                unjudged=unjudged.get(key, 0),
                mean=stats.mean([s for s, _, _ in values], clusters),
                pass_rate=stats.proportion([p for _, p, _ in values], clusters),
            )
        )
    return out


class Summary(BaseModel):
    model_config = ConfigDict(frozen=True)

    v: int = SUMMARY_SCHEMA_VERSION
    kind: Literal["guardrail.eval.summary"] = "guardrail.eval.summary"
    judge_model: str | None = None
    provenance: Provenance
    counts: RunCounts = Field(default_factory=RunCounts)  # the runner's per-candidate counts
    baseline: str
    proposed: str | None = None
    current_model: str | None = None
    thresholds: dict[str, Any] = Field(default_factory=dict)  # as the gate read them: every judgement explicit
    analysis: AnalysisSet | None = None  # what a complete run holds
    candidates: list[CandidateStats]
    comparisons: list[Comparison] = Field(default_factory=list)
    gate: GateDecision
    recommendation: Recommendation
    tracking: Tracking | None = None
    judge: list[JudgeMetricStats] = Field(default_factory=list)  # optional LLM-judge metrics: reported, not gated

    def judge_of(self, candidate: str) -> list[JudgeMetricStats]:
        return [j for j in self.judge if j.candidate == candidate]

    def stats_of(self, candidate: str) -> CandidateStats | None:
        return next((s for s in self.candidates if s.candidate == candidate), None)

    def comparison_of(self, candidate: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.candidate == candidate), None)

    def verdicts(self) -> list[CandidateVerdict]:
        """The evidence per candidate, with MLflow child run ids filled in when tracked."""
        ids = self.tracking.child_run_ids if self.tracking else {}
        return [v.model_copy(update={"mlflow_run_id": ids.get(v.candidate)}) for v in self.gate.verdicts]

    def ranked(self) -> list[CandidateStats]:
        """Passing candidates first (cheapest first), then the rest by accuracy: the order of every table."""
        passed = {v.candidate for v in self.gate.verdicts if v.passed}

        def key(s: CandidateStats) -> tuple[int, float, float, str]:
            cost = s.cost_per_task.point if s.cost_per_task else float("inf")
            acc = s.accuracy.point if s.accuracy else -1.0
            return (0, cost, -acc, s.candidate) if s.candidate in passed else (1, -acc, cost, s.candidate)

        return sorted(self.candidates, key=key)


__all__ = ["SUMMARY_SCHEMA_VERSION", "JudgeMetricStats", "Provenance", "Summary", "Tracking", "judge_stats"]
