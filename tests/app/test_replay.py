"""app.replay: the split of work and budgets between worker processes, and what litellm is told up front."""

from __future__ import annotations

from pathlib import Path

from tests.support.run_project import make_project

from guardrail.adapters.suites import load_eval
from guardrail.app.replay import register_prices, remaining, share_of, work_items
from guardrail.core.suite import Candidate, RateLimit


def test_shards_split_the_work_disjointly_and_completely(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=7, candidates=["sim/frontier", "sim/budget"], repeats=2)
    loaded = load_eval(spec)
    candidates = list(loaded.spec.candidates)
    done = {("triage", "t-0003", "sim/budget", 1)}

    def keys(shard: int, shards: int) -> list[tuple[str, str, str, int]]:
        items = work_items(loaded, candidates, done, shard=shard, shards=shards)
        return [(suite.name, task.id, candidate.id, repeat) for suite, task, candidate, repeat in items]

    whole = keys(0, 1)
    assert len(whole) == remaining(loaded, candidates, done) == 7 * 2 * 2 - 1
    parts = [keys(shard, 3) for shard in range(3)]
    assert sorted(k for part in parts for k in part) == sorted(whole)  # nothing lost, nothing twice
    assert all({c for _, _, c, _ in part} == {"sim/frontier", "sim/budget"} for part in parts)  # the same mix


def test_shares_of_the_provider_budgets_never_add_up_to_more() -> None:
    limits = {"openai": RateLimit(rpm=600, tpm=100_001, concurrency=9), "sim": RateLimit(rpm=1)}
    two = share_of(limits, 2)
    assert two["openai"] == RateLimit(rpm=300, tpm=50_000, concurrency=4)
    assert two["sim"] == RateLimit(rpm=1)  # the planner keeps workers <= every budget; a share is never 0
    assert share_of(limits, 1) == limits


def test_spec_prices_are_registered_with_litellm() -> None:
    import litellm

    register_prices(
        [
            Candidate(id="openai/priced-by-spec", input_cost_per_token=1e-6, output_cost_per_token=3e-6),
            Candidate(id="openai/unpriced-by-spec"),
        ]
    )
    entry = litellm.model_cost["openai/priced-by-spec"]
    assert (entry["input_cost_per_token"], entry["output_cost_per_token"]) == (1e-6, 3e-6)
    assert "openai/unpriced-by-spec" not in litellm.model_cost
