"""What a run did, counted per candidate from its journal: tasks by status, requests (retries included), cache
hits, tokens, cost, policy violations, latency percentiles. The runner's console table shows them as a run ends,
and they travel in summary.json as `counts` (core/summary.py), the one record of a compared run.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core.results import ResultRow
from guardrail.core.scoring import percentile


class CandidateCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    model_calls: int = 0  # requests sent, retries included (what the provider saw and bills)
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    judge_calls: int = 0
    judge_cost_usd: float = 0.0  # what judging cost; never part of the candidate's cost
    violations: int = 0
    violations_by_rule: dict[str, int] = Field(default_factory=dict)
    simulated: bool = False
    error_rate: float = 0.0
    pass_rate: float | None = None  # passed / (passed + failed): errors are not scored
    latency_p50_s: float | None = None  # over finished tasks: an error's latency is a timeout's, not the model's
    latency_p95_s: float | None = None


class RunCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidates: dict[str, CandidateCounts] = Field(default_factory=dict)

    def of(self, candidate: str) -> CandidateCounts:
        return self.candidates.get(candidate) or CandidateCounts()


def count_rows(rows: Iterable[ResultRow]) -> RunCounts:
    """The counts per candidate, in the order candidates first appear."""
    per: dict[str, CandidateCounts] = {}
    latencies: dict[str, list[float]] = {}
    for row in rows:
        c = per.setdefault(row.candidate, CandidateCounts())
        c.tasks += 1
        if row.status == "pass":
            c.passed += 1
        elif row.status == "fail":
            c.failed += 1
        else:
            c.errors += 1
        c.model_calls += row.model_calls
        c.cache_hits += row.cache_hits
        c.prompt_tokens += row.prompt_tokens
        c.completion_tokens += row.completion_tokens
        c.cost_usd += row.cost_usd
        c.judge_calls += row.judge_calls
        c.judge_cost_usd += row.judge_cost_usd
        c.violations += len(row.violations)
        for violation in row.violations:
            c.violations_by_rule[violation.rule] = c.violations_by_rule.get(violation.rule, 0) + 1
        c.simulated = c.simulated or row.simulated
        if row.status != "error":
            latencies.setdefault(row.candidate, []).append(row.latency_s)
    for candidate, c in per.items():
        values = latencies.get(candidate, [])
        c.cost_usd = round(c.cost_usd, 10)
        c.judge_cost_usd = round(c.judge_cost_usd, 10)
        c.error_rate = c.errors / c.tasks if c.tasks else 0.0
        scored = c.passed + c.failed
        c.pass_rate = c.passed / scored if scored else None
        c.latency_p50_s = percentile(values, 50)
        c.latency_p95_s = percentile(values, 95)
    return RunCounts(candidates=per)


__all__ = ["CandidateCounts", "RunCounts", "count_rows"]
