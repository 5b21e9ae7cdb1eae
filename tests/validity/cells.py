"""The cells the decision validity is measured in: the routes by which a worse candidate was once allowed
(small suites, no discordant pairs, near-ceiling baselines, clustered tasks, errors, several candidates), each with a
candidate exactly `margin` worse than the baseline, plus equal candidates for power. Shared by the CI tests
(tests/validity/test_decision_validity.py, modest sizes) and scripts/validity_tables.py (the tables in
docs/statistics.md)."""

from __future__ import annotations

from tests.validity.runs import Arm, Cell

BASE = "base"


def worse(label: str, base: float, margin: float, tasks: int, **kw: object) -> Cell:
    """A candidate exactly `margin` worse than the baseline (and cheaper, so it would be recommended)."""
    arms = (Arm(BASE, base, cost=0.004), Arm("worse", base - margin, errors=float(kw.pop("errors", 0.0))))  # type: ignore[arg-type]
    return Cell(label, arms, tasks=tasks, margin=margin, proposed="worse", **kw)  # type: ignore[arg-type]


def several(label: str, count: int, base: float, margin: float, tasks: int, **kw: object) -> Cell:
    """`count` candidates, each exactly `margin` worse; no proposal, so any of them may be recommended."""
    arms = (
        Arm(BASE, base, cost=0.004),
        *(Arm(f"worse{i}", base - margin, cost=0.001 + i * 1e-4) for i in range(count)),
    )
    return Cell(label, arms, tasks=tasks, margin=margin, **kw)  # type: ignore[arg-type]


DECISIONS: dict[str, Cell] = {
    "few discordant": worse("20 tasks, agreement 0.99, 0.95 vs 0.92, margin 0.03", 0.95, 0.03, 20, agreement=0.99),
    "20 tasks": worse("20 tasks, 0.85 vs 0.80, margin 0.05", 0.85, 0.05, 20),
    "50 tasks": worse("50 tasks, 0.85 vs 0.80, margin 0.05", 0.85, 0.05, 50),
    "near ceiling": worse("300 tasks, 0.99 vs 0.96, margin 0.03", 0.99, 0.03, 300),
    "clustered": worse("60 tasks x 5 repeats (within 0.7), 0.85 vs 0.80", 0.85, 0.05, 60, repeats=5, within=0.7),
    "few clusters": worse("20 tasks x 5 repeats (within 0.7), 0.85 vs 0.80", 0.85, 0.05, 20, repeats=5, within=0.7),
    "very few clusters": worse(
        "10 tasks x 5 repeats (within 0.7), 0.85 vs 0.75, margin 0.1", 0.85, 0.1, 10, repeats=5, within=0.7
    ),
    "errors": worse("300 tasks, 8% errors in place of failures, 0.92 vs 0.89", 0.92, 0.03, 300, errors=0.08),
    "3 candidates": several("3 candidates, 300 tasks, each 0.90 vs 0.85", 3, 0.90, 0.05, 300),
    "5 candidates": several("5 candidates, 300 tasks, each 0.90 vs 0.85", 5, 0.90, 0.05, 300),
}

POWER: dict[str, Cell] = {
    "equal, 300 tasks": Cell(
        "an equal candidate, 300 tasks, 0.90, agreement 0.9, margin 0.05",
        (Arm(BASE, 0.9, cost=0.004), Arm("equal", 0.9)),
        tasks=300,
        margin=0.05,
        agreement=0.9,
        proposed="equal",
    ),
    "equal among 3, 300 tasks": Cell(
        "an equal candidate beside two 5 points worse, 300 tasks, agreement 0.9, margin 0.05",
        (Arm(BASE, 0.9, cost=0.004), Arm("equal", 0.9), Arm("worse0", 0.85), Arm("worse1", 0.85)),
        tasks=300,
        margin=0.05,
        agreement=0.9,
        proposed="equal",
    ),
}

__all__ = ["BASE", "DECISIONS", "POWER", "several", "worse"]
