"""A run counted per candidate: tasks by status, requests, cache hits, cost, violations, latency over finished tasks."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail.core.counts import count_rows
from guardrail.core.results import ResultRow, Violation


def _row(candidate: str, status: str, **fields: Any) -> ResultRow:
    return ResultRow.model_validate(
        {"run_id": "r", "task_id": "t", "suite": "s", "candidate": candidate, "status": status, **fields}
    )


def test_count_rows_counts_per_candidate() -> None:
    rows = [
        _row("a", "pass", model_calls=2, cost_usd=0.5, latency_s=1.0),
        _row(
            "a",
            "fail",
            cache_hits=2,
            cost_usd=0.25,
            latency_s=3.0,
            violations=[Violation(rule="A-1", tool="x", msg="m"), Violation(rule="A-1", tool="y", msg="m")],
        ),
        _row("a", "error", model_calls=1, latency_s=60.0, error="boom", error_kind="server"),
        _row("sim/b", "pass", simulated=True, latency_s=0.5),
    ]
    counts = count_rows(rows)
    a = counts.of("a")
    assert (a.tasks, a.passed, a.failed, a.errors) == (3, 1, 1, 1)
    assert (a.model_calls, a.cache_hits, a.violations) == (3, 2, 2)
    assert a.violations_by_rule == {"A-1": 2}
    assert a.cost_usd == pytest.approx(0.75)
    assert a.error_rate == pytest.approx(1 / 3) and a.pass_rate == pytest.approx(0.5)
    # latency percentiles ignore error rows (a 60 s timeout says nothing about the model)
    assert a.latency_p50_s == pytest.approx(2.0) and a.latency_p95_s == pytest.approx(2.9)
    assert counts.of("sim/b").simulated is True and a.simulated is False
