"""The recommendation: the cheapest candidate the gate passed, its saving, and a significant loss stated."""

from __future__ import annotations

import pytest
from tests.support.rows import Plant, Scenario, make_rows

from guardrail.core.comparison import compare
from guardrail.core.gate_input import CandidateVerdict, GateDecision, GateReason
from guardrail.core.measurement import all_candidate_stats
from guardrail.core.recommend import recommend


def _setup(sc: Scenario, margin: float = 0.05):  # type: ignore[no-untyped-def]
    rows = make_rows(sc)
    names = [p.candidate for p in sc.plants]
    return all_candidate_stats(rows, names), compare(rows, names[0], names, margin=margin)


def _decision(passes: dict[str, list[str]]) -> GateDecision:
    verdicts = [
        CandidateVerdict(candidate=name, passed=not reasons,
                         reasons=[GateReason(threshold=t, msg=f"{t} failed") for t in reasons])
        for name, reasons in passes.items()
    ]  # fmt: skip
    return GateDecision(allow=any(v.passed for v in verdicts), baseline=next(iter(passes)), verdicts=verdicts)


def test_recommendation_is_the_cheapest_passing_candidate_with_its_saving() -> None:
    sc = Scenario(
        [Plant("frontier", 0.95, cost=0.004), Plant("balanced", 0.95, cost=0.001), Plant("budget", 0.8, cost=0.0002)],
        tasks=100,
    )
    stats, comps = _setup(sc)
    decision = _decision({"frontier": [], "balanced": [], "budget": ["accuracy", "noninferiority"]})
    r = recommend("triage", stats, decision, comps, current_model="frontier")
    by_name = {s.candidate: s for s in stats}
    assert r.candidate == "balanced" and r.simulated and r.loss is None
    saving = (by_name["frontier"].cost_per_task.point - by_name["balanced"].cost_per_task.point) * 1000  # type: ignore[union-attr]
    assert r.saving_per_1000_tasks_usd == pytest.approx(saving)
    assert r.stopped == {"budget": ["accuracy", "noninferiority"]}
    assert "balanced (simulated)" in r.message and "saves $" in r.message


def test_a_significantly_worse_candidate_is_recommended_only_with_its_loss_stated() -> None:
    sc = Scenario([Plant("base", 0.92, cost=0.004), Plant("cheap", 0.9, cost=0.001)], tasks=3000, coupling=0.95)
    stats, comps = _setup(sc)
    (comp,) = comps
    assert comp.significantly_worse and comp.errors_as_failures.p_noninferiority_adjusted < 0.025  # type: ignore[operator]
    r = recommend("triage", stats, _decision({"base": [], "cheap": []}), comps, current_model="base")
    assert r.candidate == "cheap" and r.loss is not None
    assert "points fewer tasks than the baseline base" in r.message and "within the 0.05 margin" in r.message


def test_when_nothing_passes_the_recommendation_says_what_stopped_each() -> None:
    stats, comps = _setup(Scenario([Plant("a", 0.9), Plant("b", 0.7)], tasks=40))
    decision = _decision({"a": ["latency_p95_s"], "b": ["accuracy", "policy_violations"]})
    r = recommend("triage", stats, decision, comps, current_model="openai/gpt-4o")
    assert r.candidate is None and r.saving_per_1000_tasks_usd is None
    assert r.stopped == {"a": ["latency_p95_s"], "b": ["accuracy", "policy_violations"]}
    assert "a: latency_p95_s" in r.message and "b: accuracy, policy_violations" in r.message


def test_recommending_the_current_model_says_keep_it() -> None:
    stats, comps = _setup(Scenario([Plant("a", 0.9, cost=0.001), Plant("b", 0.9, cost=0.002)], tasks=40))
    r = recommend("triage", stats, _decision({"a": [], "b": []}), comps, current_model="a")
    assert r.candidate == "a" and r.saving_per_1000_tasks_usd == 0.0
    assert r.message.startswith("keep triage on a (simulated)")
