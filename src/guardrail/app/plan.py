"""`guardrail plan EVAL`: how many tasks the eval needs to show non-inferiority at its margin with 80% power.

The answer depends on how often a candidate and the baseline agree (the discordant pairs carry all the information)
and on how clustered the tasks are. Both are read from a stored run of the same eval (`--run`, else the newest run
of it under the reports folder), or assumed (`--agreement`, 0.90 when nothing else is known). Several candidates
make a family: the plan reserves Holm's worst case, alpha divided by the number of candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from guardrail.adapters.journal import RESULTS_FILE, read_rows
from guardrail.adapters.suites import load_eval
from guardrail.app.report import RUN_FILE, find_run, read_manifest
from guardrail.core.comparison import compare
from guardrail.core.paired import POWER, pairs_needed
from guardrail.core.stats import ALPHA
from guardrail.errors import ConfigError

ASSUMED_AGREEMENT = 0.9


@dataclass(frozen=True)
class PlanLine:
    candidate: str  # a candidate of the run, or "any candidate" under an assumed agreement
    agreement: float  # share of tasks on which the candidate and the baseline both pass or both fail
    source: str  # "run <id>" or "assumed"
    design_effect: float
    pairs_needed: int | None  # task results (tasks x repeats); None: unreachable (expected loss beyond the margin)
    tasks_needed: int | None


@dataclass
class Plan:
    eval_name: str
    spec_path: Path
    margin: float
    family: int  # non-baseline candidates tested together
    power: float
    difference: float  # the candidate's assumed true difference from the baseline
    tasks: int  # tasks in the suites today
    repeats: int
    proposed: str | None = None
    lines: list[PlanLine] = field(default_factory=list)

    def enough(self, line: PlanLine) -> bool:
        return line.tasks_needed is not None and line.tasks_needed <= self.tasks

    @property
    def deciding(self) -> list[PlanLine]:
        """The lines the verdict rests on: the proposed candidate's when the spec proposes one, else every line."""
        mine = [line for line in self.lines if line.candidate == self.proposed]
        return mine or self.lines


def _latest_run(reports: Path, eval_name: str) -> Path | None:
    if not reports.is_dir():
        return None
    runs = [p for p in reports.iterdir() if (p / RUN_FILE).is_file() and (p / RESULTS_FILE).is_file()]
    mine = sorted((p for p in runs if read_manifest(p).eval_name == eval_name), key=lambda p: p.name)
    return mine[-1] if mine else None


def plan_eval(
    spec_path: Path,
    *,
    run_id: str | None = None,
    agreement: float | None = None,
    difference: float = 0.0,
    power: float = POWER,
) -> Plan:
    loaded = load_eval(spec_path)
    spec = loaded.spec
    margin = spec.thresholds.noninferiority_margin
    if margin is None:  # the loader refuses this when candidates are compared; a baseline-only spec has no comparison
        raise ConfigError("no noninferiority_margin: nothing to plan", path=str(spec_path), field="thresholds")
    others = [c.id for c in spec.candidates if c.id != spec.baseline]
    family = max(1, len(others))
    confidence = 1 - ALPHA / family  # two-sided level whose one-sided tail is Holm's worst case, alpha / family
    plan = Plan(spec.name, spec_path, margin, family, power, difference, loaded.task_count, spec.repeats, spec.propose)

    def line(candidate: str, agreed: float, source: str, de: float) -> PlanLine:
        pairs = pairs_needed(margin, 1 - agreed, difference=difference, target=power, design_effect=de,
                             confidence=confidence)  # fmt: skip
        tasks = None if pairs is None else -(-pairs // spec.repeats)
        return PlanLine(candidate, agreed, source, de, pairs, tasks)

    run_dir = find_run(run_id, loaded.project.reports) if run_id else None
    if run_dir is None and agreement is None:
        run_dir = _latest_run(loaded.project.reports, spec.name)
    if run_dir is not None and agreement is None:
        manifest = read_manifest(run_dir)
        if manifest.eval_name != spec.name:
            raise ConfigError(f"run {manifest.run_id} is of eval {manifest.eval_name}, not {spec.name}", field="--run")
        rows = read_rows(run_dir / RESULTS_FILE)
        for c in compare(rows, manifest.baseline, [c.id for c in manifest.candidates], margin=margin):
            a = c.errors_as_failures
            if a.pairs:
                agreed = 1 - (a.better + a.worse) / a.pairs
                plan.lines.append(line(c.candidate, agreed, f"run {manifest.run_id}", a.design_effect))
    if not plan.lines:
        plan.lines.append(line("any candidate", agreement if agreement is not None else ASSUMED_AGREEMENT,
                               "assumed", 1.0))  # fmt: skip
    return plan


__all__ = ["ASSUMED_AGREEMENT", "Plan", "PlanLine", "plan_eval"]
