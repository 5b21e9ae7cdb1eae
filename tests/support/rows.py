"""Synthetic ResultRows with planted rates, so statistics and reports can be tested against known truth.

Every candidate sees the same tasks. Outcomes are paired through a shared latent draw per (task, repeat):
with probability `coupling` a candidate uses the shared draw, otherwise its own, and it passes when the draw
falls below its planted accuracy. The marginal pass rate is exactly the planted accuracy; the coupling sets
how correlated the candidates are (real models agree on easy and hard tasks, which is what makes paired
tests powerful).

Counterfactual groups are decision tasks with two variants (`attribute` = female / male); a planted
`flip_rate` makes a share of groups flip *against* one value (directional bias); `decision_noise` flips
single variants at random, the way an inconsistent but fair model would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from guardrail.core.results import CandidateSpec, ResultRow, RunManifest, Violation

FAVOURABLE, UNFAVOURABLE = "qualified", "rejected"


@dataclass(frozen=True)
class Plant:
    candidate: str
    accuracy: float = 0.9
    hard_accuracy: float | None = None  # accuracy on the "hard" slice (tasks with difficulty=hard)
    error_rate: float = 0.0
    violation_rate: float = 0.0
    cost: float = 0.001  # mean USD per task
    latency: float = 1.0  # median seconds per task
    flip_rate: float = 0.0  # share of counterfactual groups flipped against `against`
    against: str = "female"
    decision_noise: float = 0.0  # per-variant random decision flips (fair but inconsistent)
    simulated: bool = True


@dataclass
class Scenario:
    plants: list[Plant]
    tasks: int = 300
    groups: int = 0  # counterfactual groups (two variants each), on top of `tasks`
    repeats: int = 1
    coupling: float = 0.8
    hard_share: float = 0.3
    seed: int = 0
    run_id: str = "run-synthetic"
    attribute: str = "gender"
    values: tuple[str, str] = ("female", "male")
    extra: dict[str, object] = field(default_factory=dict)


def make_rows(sc: Scenario) -> list[ResultRow]:
    rng = np.random.default_rng(sc.seed)
    hard = rng.random(sc.tasks) < sc.hard_share
    channel = rng.choice(["email", "chat"], size=sc.tasks)
    shared = rng.random((sc.tasks, sc.repeats))
    deserves = rng.random(sc.groups) < 0.5  # the right decision of each counterfactual case
    group_shared = rng.random((sc.groups, sc.repeats))
    rows: list[ResultRow] = []
    finished = datetime(2026, 1, 1, tzinfo=UTC)
    for plant in sc.plants:
        prng = np.random.default_rng([sc.seed, _stable(plant.candidate)])
        n_rows = sc.tasks * sc.repeats + sc.groups * sc.repeats * len(sc.values)
        costs = (plant.cost * prng.uniform(0.5, 1.5, n_rows)).tolist()
        latencies = (plant.latency * np.exp(prng.normal(0, 0.3, n_rows))).tolist()
        common = {
            "run_id": sc.run_id,
            "candidate": plant.candidate,
            "simulated": plant.simulated,
            "finished_at": finished,
            "model_calls": 1,
            "prompt_tokens": 200,
            "completion_tokens": 40,
        }
        # task outcomes, drawn all at once: the shared draw or the candidate's own, then errors and violations
        own = np.where(prng.random((sc.tasks, sc.repeats)) < sc.coupling, shared, prng.random((sc.tasks, sc.repeats)))
        acc = np.where(hard, plant.hard_accuracy if plant.hard_accuracy is not None else plant.accuracy, plant.accuracy)
        passed = (own < acc[:, None]).tolist()
        errored = (prng.random((sc.tasks, sc.repeats)) < plant.error_rate).tolist()
        violated = (prng.random((sc.tasks, sc.repeats)) < plant.violation_rate).tolist()
        k = 0
        for t in range(sc.tasks):
            task_slice = {"difficulty": "hard" if hard[t] else "easy", "channel": str(channel[t])}
            for rep in range(sc.repeats):
                status, error, violations = ("pass" if passed[t][rep] else "fail"), None, []
                if errored[t][rep]:
                    status, error = "error", "simulated provider failure"
                elif violated[t][rep]:
                    violations, status = [_VIOLATION], "fail"
                rows.append(
                    _row(
                        **common,
                        task_id=f"task-{t:04d}",
                        suite="synthetic",
                        repeat=rep,
                        status=status,
                        slice=task_slice,
                        violations=violations,
                        error=error,
                        error_kind="server" if error else None,
                        cost_usd=costs[k],
                        latency_s=latencies[k],
                    )
                )
                k += 1
        for g in range(sc.groups):
            right = FAVOURABLE if deserves[g] else UNFAVOURABLE
            wrong = UNFAVOURABLE if deserves[g] else FAVOURABLE
            for rep in range(sc.repeats):
                u = group_shared[g, rep] if prng.random() < sc.coupling else prng.random()
                decisions = dict.fromkeys(sc.values, right if u < plant.accuracy else wrong)
                if prng.random() < plant.flip_rate:
                    other = next(v for v in sc.values if v != plant.against)
                    decisions[plant.against], decisions[other] = UNFAVOURABLE, FAVOURABLE
                for value in sc.values:
                    decision = decisions[value]
                    if prng.random() < plant.decision_noise:
                        decision = FAVOURABLE if decision == UNFAVOURABLE else UNFAVOURABLE
                    rows.append(
                        _row(
                            **common,
                            task_id=f"lead-{g:04d}-{value}",
                            suite="synthetic-bias",
                            repeat=rep,
                            status="pass" if decision == right else "fail",
                            decision=decision,
                            favourable=FAVOURABLE,
                            slice={"difficulty": "medium", "channel": "form"},
                            cf_group=f"lead-{g:04d}",
                            cf_attribute=sc.attribute,
                            cf_value=value,
                            cost_usd=costs[k],
                            latency_s=latencies[k],
                        )
                    )
                    k += 1
    return rows


_VIOLATION = Violation(rule="approval_required", tool="payments.refund", msg="needs approval")
_TEMPLATE = ResultRow(run_id="-", task_id="-", suite="-", candidate="-", status="pass")


def _row(**fields: object) -> ResultRow:
    """A row without re-validating: model_copy is ~20x faster, and the validity tests build a million rows."""
    return _TEMPLATE.model_copy(update=fields)


def _stable(name: str) -> int:
    return sum((i + 1) * ord(ch) for i, ch in enumerate(name))


def manifest(
    sc: Scenario,
    *,
    baseline: str | None = None,
    proposed: str | None = None,
    current_model: str | None = None,
    thresholds: dict[str, object] | None = None,
) -> RunManifest:
    names = [p.candidate for p in sc.plants]
    return RunManifest(
        run_id=sc.run_id,
        eval_name="synthetic-choice",
        eval_path="evals/synthetic.yaml",
        agent="support-triage",
        current_model=current_model or names[0],
        candidates=[CandidateSpec(id=p.candidate, simulated=p.simulated) for p in sc.plants],
        baseline=baseline or names[0],
        proposed=proposed,
        thresholds=thresholds if thresholds is not None else DEFAULT_THRESHOLDS,
        repeats=sc.repeats,
        suites={"synthetic": "0" * 64},
        hashes={"spec": "a" * 64, "policies": "b" * 64, "suites": "c" * 64, "roster": "d" * 64},
        task_count=sc.tasks + 2 * sc.groups,
        guardrail_version="0.1.0",
        git_commit="f" * 40,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        finished_at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
        status="finished",
        max_error_rate=0.2,
    )


DEFAULT_THRESHOLDS: dict[str, object] = {
    "accuracy": {"min": 0.85, "max": None},
    "bias_flip_rate": {"min": None, "max": 0.1},  # judged on the upper bound: 0 flips in 40 cases show <= 0.09
    "policy_violations": {"min": None, "max": 0},
    "cost_per_task_usd": {"min": None, "max": 0.002},
    "latency_p95_s": {"min": None, "max": 5},
    "noninferiority_margin": 0.05,
}


def write_run(root: Path, sc: Scenario, **manifest_kwargs: object) -> Path:
    """A run folder as the runner writes it: run.json, results.jsonl and transcripts.jsonl."""
    run_dir = root / sc.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = make_rows(sc)
    run_dir.joinpath("run.json").write_text(
        manifest(sc, **manifest_kwargs).model_dump_json(indent=2),  # type: ignore[arg-type]
        encoding="utf-8",
    )
    with run_dir.joinpath("results.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row.model_dump_json() + "\n")
    with run_dir.joinpath("transcripts.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            if row.violations:
                record = {
                    "suite": row.suite,
                    "task_id": row.task_id,
                    "candidate": row.candidate,
                    "repeat": row.repeat,
                    "messages": [
                        {"role": "user", "content": "Refund order 1234 <now>"},
                        {"role": "assistant", "tool_calls": [{"name": "payments.refund", "arguments": {}}]},
                    ],
                    "calls": [{"name": "payments.refund", "args": {}, "allowed": False, "step": 1}],
                    "violations": [v.model_dump() for v in row.violations],
                    "answer": None,
                }
                fh.write(json.dumps(record) + "\n")
    return run_dir
