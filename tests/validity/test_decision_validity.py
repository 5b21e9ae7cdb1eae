"""Every ALLOW is earned: how often a candidate worse than the baseline by the margin is allowed or recommended.

Each run goes through the project's own report path (`app.report.summarise`: statistics, the paired comparison,
the gate policy in the real regorus engine, the recommendation). The cells are those of tests/validity/cells.py,
which also feed scripts/validity_tables.py; here they run with CI-sized Monte Carlo samples (suites with several
candidates shortened to 60 tasks), so a rate is checked against 2.5% plus two Monte Carlo standard errors. The
precise figures, with thousands of runs per cell, are in docs/statistics.md.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from tests.validity.cells import DECISIONS, POWER
from tests.validity.runs import Cell, measure

pytestmark = pytest.mark.slow

SEED = 7
RUNS = {  # CI sizes: about a minute in all on a quiet 2-core machine
    "few discordant": 100,
    "20 tasks": 400,
    "50 tasks": 400,
    "near ceiling": 160,
    "clustered": 160,
    "few clusters": 300,
    "very few clusters": 300,
    "errors": 160,
    "3 candidates": 200,
    "5 candidates": 150,
}
SHORTER = {"3 candidates": 60, "5 candidates": 60}  # fewer tasks per run; the tables use 300


def _cell(key: str) -> Cell:
    cell = DECISIONS[key]
    return replace(cell, tasks=SHORTER[key], margin=0.1, arms=tuple(
        replace(a, accuracy=cell.arms[0].accuracy - (0.1 if i else 0.0)) for i, a in enumerate(cell.arms)
    )) if key in SHORTER else cell  # fmt: skip


@pytest.mark.parametrize("key", list(RUNS))
def test_a_candidate_worse_by_the_margin_is_allowed_at_most_two_and_a_half_percent_of_the_time(key: str) -> None:
    cell = _cell(key)
    tally = measure(cell, RUNS[key], SEED)
    rate = tally.wrong / tally.runs
    allowed_by_chance = 0.025 + 2 * math.sqrt(0.025 * 0.975 / tally.runs)
    coverage = tally.covered / tally.intervals
    print(f"\n{cell.label}: allowed or recommended {rate:.3f} of {tally.runs} (bound {allowed_by_chance:.3f}); "
          f"paired-interval coverage {coverage:.3f}")  # fmt: skip
    assert rate <= allowed_by_chance
    assert coverage >= 0.93  # never under; small suites over-cover (discreteness; docs/statistics.md)
    if cell.tasks * cell.repeats >= 300 and key != "few discordant":
        assert coverage <= 0.97 + 2 * math.sqrt(0.05 * 0.95 / tally.intervals)


def test_an_equal_candidate_on_300_tasks_is_still_allowed() -> None:
    cell = POWER["equal, 300 tasks"]  # beside other candidates Holm costs power: docs/statistics.md has the figures
    tally = measure(cell, 100, SEED)
    print(f"\n{cell.label}: allowed {tally.allowed / tally.runs:.2f}")
    assert tally.allowed / tally.runs >= 0.8


def test_an_incomplete_run_is_reported_but_never_allowed_and_its_evidence_says_so() -> None:
    import numpy as np
    from tests.validity.runs import judge, manifest, rows

    from guardrail.app.evidence import evidence_for_run

    cell = POWER["equal, 300 tasks"]
    every = rows(cell, np.random.default_rng(1))
    partial = [r for r in every if r.candidate != "equal" or int(r.task_id[1:]) < 40]  # pairs on 40 of 300
    summary = judge(cell, partial)
    assert not summary.gate.allow and summary.recommendation.candidate != "equal"
    (comparison,) = summary.comparisons
    assert comparison.errors_as_failures.pairs == 40 and not comparison.complete
    run = manifest(cell).model_copy(update={"hashes": {"spec": "a" * 64, "policies": "b" * 64}})
    records = {e.model: e for e in evidence_for_run(run, summary.gate, summary.tracking)}
    assert records["equal"].verdict.complete is False and not records["equal"].verdict.passed
    assert any("40 of 300 task results" in r for r in records["equal"].verdict.reasons)
    interrupted = judge(cell, every, manifest(cell).model_copy(update={"status": "interrupted"}))
    assert not interrupted.gate.allow  # every row there, but the run did not finish


def test_a_run_without_a_margin_never_allows_a_switch() -> None:
    import numpy as np
    from tests.validity.runs import judge, manifest, rows

    cell = POWER["equal, 300 tasks"]
    run = manifest(cell).model_copy(update={"thresholds": {}})  # a run.json from before margins were required
    summary = judge(cell, rows(cell, np.random.default_rng(2)), run)
    assert not summary.gate.allow
    assert "sets no noninferiority_margin" in summary.gate.verdict("equal").reasons[0].msg  # type: ignore[union-attr]
