"""The gate's input document and reading its answer back (fail closed)."""

from __future__ import annotations

from tests.support.rows import Plant, Scenario, make_rows

from guardrail.core.comparison import AnalysisSet, compare, completeness
from guardrail.core.gate_input import gate_input, read_decision
from guardrail.core.measurement import all_candidate_stats


def _document(sc: Scenario, proposed: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    rows = make_rows(sc)
    names = [p.candidate for p in sc.plants]
    analysis = AnalysisSet(tasks=sc.tasks + 2 * sc.groups)
    stats = all_candidate_stats(rows, names)
    comps = compare(rows, names[0], names, margin=0.05, analysis=analysis)
    doc = gate_input(stats, comps, thresholds={"accuracy": {"min": 0.8}, "noninferiority_margin": 0.05},
                     baseline=names[0], proposed=proposed, max_error_rate=0.2,
                     incomplete=completeness(rows, names, analysis))  # fmt: skip
    return stats, doc


def test_gate_input_names_metrics_as_the_thresholds_do() -> None:
    sc = Scenario([Plant("base", 0.9, cost=0.002), Plant("cheap", 0.9, cost=0.0005)], tasks=80, groups=20)
    _, doc = _document(sc, proposed="cheap")
    cheap = doc["candidates"]["cheap"]
    assert set(cheap["metrics"]) >= {
        "accuracy", "error_rate", "violation_rate", "policy_violations", "cost_per_task_usd", "latency_p95_s",
        "bias_flip_rate", "demographic_parity_diff", "disparate_impact",
    }  # fmt: skip
    assert set(cheap["metrics"]["accuracy"]) == {"point", "lower", "upper"}
    assert cheap["complete"] is True and cheap["incomplete"] == []
    assert set(cheap["comparison"]) >= {"errors_as_failures", "errors_excluded", "family", "margin"}
    assert set(cheap["comparison"]["errors_as_failures"]) == {"pairs", "diff", "p", "p_adjusted"}
    assert doc["candidates"]["base"]["comparison"] is None
    assert cheap["errors"] == {"count": 0, "rows": 120, "rate": 0.0}
    assert doc["thresholds"]["accuracy"] == {"min": 0.8, "max": None, "judge": "bound"}
    assert (doc["baseline"], doc["proposed"], doc["noninferiority_margin"], doc["alpha"]) == (
        "base", "cheap", 0.05, 0.025
    )  # fmt: skip


def test_a_malformed_policy_answer_denies_everyone() -> None:
    stats, doc = _document(Scenario([Plant("base", 0.9), Plant("cheap", 0.9)], tasks=40))
    for answer in (None, {"allow": "yes"}, {"allow": True, "candidates": {"base": {"pass": "true"}}}):
        decision = read_decision(answer, stats, doc, proposed=None)
        assert all(not v.passed for v in decision.verdicts)
        assert decision.verdicts[0].reasons[0].threshold == "policy"
    assert read_decision({"allow": "yes"}, stats, doc, proposed=None).allow is False


def test_the_answer_carries_the_policys_noninferiority_and_the_completeness_sent() -> None:
    stats, doc = _document(Scenario([Plant("base", 0.9), Plant("cheap", 0.9)], tasks=40))
    answer = {
        "allow": True,
        "candidates": {"base": {"pass": True, "noninferior": None, "reasons": []},
                       "cheap": {"pass": True, "noninferior": True, "reasons": []}},
    }  # fmt: skip
    decision = read_decision(answer, stats, doc, proposed="cheap")
    cheap = decision.verdict("cheap")
    assert decision.allow and cheap is not None and cheap.noninferior is True and cheap.complete is True
    assert decision.verdict("base").noninferior is None  # type: ignore[union-attr]
