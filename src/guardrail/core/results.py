"""The records a run produces: one ResultRow per (task, candidate, repeat), and the run's manifest.

This is the contract between the runner (which writes them), the statistics and reports (which read them) and the
evidence the gate checks. Rows are stored as JSON lines (`results.jsonl`, also the run's journal), so a version field
travels with every file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core.llm import TransportRoute

RESULTS_SCHEMA_VERSION = 1

Status = Literal["pass", "fail", "error"]


class Violation(BaseModel):
    """A tool call the action policy denied (and the model was told so)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    tool: str
    msg: str
    severity: str = "high"
    step: int = 0


class Check(BaseModel):
    """One scored expectation: the answer, the tool calls, must-not-call, step limit, a judge metric."""

    model_config = ConfigDict(frozen=True)

    name: str  # "answer", "tool_calls", "must_not_call", "steps", "judge:<metric>"
    passed: bool
    score: float | None = None  # judge metrics carry a score in [0, 1]
    detail: str | None = None


class ResultRow(BaseModel):
    """The outcome of one task for one candidate in one repeat.

    status: `pass` every check passed; `fail` ran but a check failed (a FAIL); `error` the provider or harness could
    not finish it (an ERROR, kept apart from FAILs and excluded from accuracy, counted in the error rate).
    """

    model_config = ConfigDict(frozen=True)

    v: int = RESULTS_SCHEMA_VERSION
    run_id: str
    task_id: str
    suite: str
    candidate: str  # the litellm model id as written in the spec
    repeat: int = 0
    status: Status
    checks: list[Check] = Field(default_factory=list)
    decision: str | None = None  # the task's decision label (e.g. tickets.route queue, lead qualified/not)
    favourable: str | None = None  # the decision a person wants (Task.decision.favourable): parity metrics
    slice: dict[str, str] = Field(default_factory=dict)
    cf_group: str | None = None  # counterfactual group: variants of one case share it
    cf_attribute: str | None = None
    cf_value: str | None = None
    template: str | None = None  # tasks expanded from one template are not independent (cluster key)
    violations: list[Violation] = Field(default_factory=list)
    steps: int = 0
    model_calls: int = 0  # requests sent for this row, retries included (what the provider saw and bills)
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    judge_calls: int = 0  # the LLM judge's answers for this row (optional judge; not the candidate's calls)
    judge_cost_usd: float = 0.0  # what judging this row cost; never added to the candidate's cost
    latency_s: float = 0.0  # wall time of the task's model calls (cache hits count their original latency)
    error: str | None = None
    error_kind: str | None = None  # "timeout", "rate_limit", "server", "auth", "bad_request", "harness"
    simulated: bool = False
    finished_at: datetime | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def cluster(self) -> str:
        """Rows that are not independent share a cluster: a counterfactual group, else a template, else the task."""
        return self.cf_group or self.template or self.task_id


class CandidateSpec(BaseModel):
    """A candidate as the run resolved it."""

    model_config = ConfigDict(frozen=True)

    id: str
    params: dict[str, Any] = Field(default_factory=dict)
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    simulated: bool = False
    transport: TransportRoute = "litellm"  # which client sent its calls (adapters/transport.py)


class RunManifest(BaseModel):
    """run.json: what was run, on what inputs (hashes), by which version; enough to rebuild every report."""

    v: int = RESULTS_SCHEMA_VERSION
    run_id: str
    eval_name: str
    eval_path: str
    agent: str
    roster_path: str | None = None
    current_model: str | None = None  # the agent's model in the roster when the run started
    candidates: list[CandidateSpec]
    baseline: str
    proposed: str | None = None  # the candidate the spec proposes to switch to, if any
    thresholds: dict[str, Any] = Field(default_factory=dict)
    repeats: int = 1
    suites: dict[str, str] = Field(default_factory=dict)  # suite name -> tree hash
    hashes: dict[str, str] = Field(default_factory=dict)  # "spec", "policies", "roster", "suites" (combined)
    task_count: int = 0
    guardrail_version: str
    git_commit: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    status: Literal["running", "finished", "interrupted", "failed"] = "running"
    max_error_rate: float | None = None
    judge_model: str | None = None  # the LLM judge named in the spec, if any (its scores are reported, not gated)
    workers: int = 1  # replay processes (app/shards.py); the rows do not depend on it
