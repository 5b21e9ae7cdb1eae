"""Simulated runs with a known truth, judged end to end by the project's own code.

Each run is a set of ResultRows drawn so that every candidate's pass rate is exactly its planted rate (errors counted
as failures) and candidates agree on most tasks, as real models do: a Gaussian copula with a shared latent per
(task, repeat) draw, a task-level effect shared by a task's repeats (`within`: their correlation), and each
candidate's own noise (`agreement`: how much of the latent is shared between candidates). A candidate can turn a
share of its failures into errors, as a flaky provider would.

`judge` runs the whole report path (`app.report.summarise`: statistics, paired comparison, the gate policy in the
real regorus engine, the recommendation) with one in-process engine, so thousands of runs stay affordable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr

from guardrail.adapters.rego import RegoEngine, load_bundle
from guardrail.app.report import GATE_QUERY, summarise
from guardrail.core.results import CandidateSpec, ResultRow, RunManifest
from guardrail.core.summary import Summary

REPO = Path(__file__).resolve().parents[2]
_STARTED = datetime(2026, 1, 1, tzinfo=UTC)
_TEMPLATE = ResultRow(run_id="validity", task_id="-", suite="s", candidate="-", status="pass", simulated=True)


@dataclass(frozen=True)
class Arm:
    name: str
    accuracy: float  # planted pass rate, errors counted as failures
    errors: float = 0.0  # share of all rows that error (taken from the rows that would fail)
    cost: float = 0.001


@dataclass(frozen=True)
class Cell:
    label: str
    arms: tuple[Arm, ...]  # the first is the baseline
    tasks: int
    margin: float
    repeats: int = 1
    agreement: float = 0.8  # correlation of two candidates' latents on one row
    within: float = 0.0  # correlation of one task's repeats
    proposed: str | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def truth(self) -> dict[str, float]:
        """Each candidate's true pass rate minus the baseline's."""
        base = self.arms[0].accuracy
        return {a.name: a.accuracy - base for a in self.arms[1:]}


def rows(cell: Cell, rng: np.random.Generator) -> list[ResultRow]:
    shape = (cell.tasks, cell.repeats)
    task = rng.standard_normal((cell.tasks, 1))
    shared = np.sqrt(cell.within) * task + np.sqrt(1 - cell.within) * rng.standard_normal(shape)
    out: list[ResultRow] = []
    for arm in cell.arms:
        own = rng.standard_normal(shape)
        u = ndtr(np.sqrt(cell.agreement) * shared + np.sqrt(1 - cell.agreement) * own)  # uniform, shared in part
        passed = u < arm.accuracy
        error = ~passed & (rng.random(shape) < arm.errors / max(1 - arm.accuracy, 1e-9))
        status = np.where(passed, "pass", np.where(error, "error", "fail"))
        cost = arm.cost * rng.uniform(0.5, 1.5, shape)
        latency = np.exp(rng.normal(0.0, 0.3, shape))
        for t in range(cell.tasks):
            for r in range(cell.repeats):
                out.append(
                    _TEMPLATE.model_copy(
                        update={
                            "task_id": f"t{t:04d}",
                            "candidate": arm.name,
                            "repeat": r,
                            "status": str(status[t, r]),
                            "cost_usd": float(cost[t, r]),
                            "latency_s": float(latency[t, r]),
                        }
                    )
                )
    return out


def manifest(cell: Cell) -> RunManifest:
    return RunManifest(
        run_id="validity",
        eval_name="validity",
        eval_path="evals/validity.yaml",
        agent="agent",
        current_model=cell.arms[0].name,
        candidates=[CandidateSpec(id=a.name, simulated=True) for a in cell.arms],
        baseline=cell.arms[0].name,
        proposed=cell.proposed,
        thresholds={**cell.thresholds, "noninferiority_margin": cell.margin},
        repeats=cell.repeats,
        task_count=cell.tasks,
        guardrail_version="0",
        started_at=_STARTED,
        finished_at=_STARTED,
        status="finished",
        max_error_rate=0.5,
    )


@cache
def engine() -> RegoEngine:
    """The repository's gate policy in the real regorus engine, in this process."""
    return RegoEngine(load_bundle(REPO / "policies" / "gate", include_tests=False))


def judge(cell: Cell, run_rows: list[ResultRow], run: RunManifest | None = None) -> Summary:
    return summarise(
        run or manifest(cell), run_rows, lambda doc: engine().query(GATE_QUERY, doc), gate_policy_hash=None
    )


@dataclass
class Tally:
    runs: int = 0
    allowed: int = 0  # the gate allowed the proposed candidate (or any, with no proposal)
    wrong: int = 0  # a candidate worse than the baseline by the margin or more was allowed or recommended
    covered: int = 0  # the primary paired interval of every candidate covered its true difference
    intervals: int = 0

    def rate(self, count: int, of: int | None = None) -> float:
        return count / (of if of is not None else self.runs)

    def mc_error(self, p: float) -> float:
        return float(np.sqrt(max(p, 0.025) * (1 - max(p, 0.025)) / self.runs))


def measure(cell: Cell, sims: int, seed: int) -> Tally:
    tally = Tally()
    truth = cell.truth
    for i in range(sims):
        summary = judge(cell, rows(cell, np.random.default_rng([seed, i])))
        tally.runs += 1
        tally.allowed += summary.gate.allow
        chosen = summary.recommendation.candidate
        worse = {name for name, diff in truth.items() if diff <= -cell.margin + 1e-12}
        tally.wrong += (summary.gate.allow and cell.proposed in worse) or chosen in worse
        for c in summary.comparisons:
            d = c.errors_as_failures.diff
            if d is None or d.lower is None or d.upper is None:
                continue
            tally.intervals += 1
            tally.covered += d.lower <= truth[c.candidate] <= d.upper
    return tally


__all__ = ["Arm", "Cell", "Tally", "engine", "judge", "manifest", "measure", "rows"]
