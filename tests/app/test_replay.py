"""app.replay: the split of work and budgets between worker processes, what litellm is told up front, the cache
probe that plans a run, and the fail-fast stop for a candidate that never answers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.support.openai_server import OpenAIServer, ServerConfig
from tests.support.run_project import make_project

from guardrail.adapters.cache import ResponseCache
from guardrail.adapters.journal import read_rows
from guardrail.adapters.llm import register_prices
from guardrail.adapters.suites import load_eval
from guardrail.app.agent_loop import LoopSettings, first_request
from guardrail.app.replay import (
    FAIL_FAST_TASKS,
    ITEM_CPU_S,
    FailFast,
    cache_path,
    remaining,
    replay_cpu_s,
    share_of,
    spec_prices,
    uncached_items,
    work_items,
)
from guardrail.core.llm import Completion
from guardrail.core.results import ResultRow
from guardrail.core.suite import Candidate, RateLimit
from guardrail.errors import ConfigError, ProviderError


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
        spec_prices(
            [
                Candidate(id="openai/priced-by-spec", input_cost_per_token=1e-6, output_cost_per_token=3e-6),
                Candidate(id="openai/unpriced-by-spec"),
            ]
        )
    )
    entry = litellm.model_cost["openai/priced-by-spec"]
    assert (entry["input_cost_per_token"], entry["output_cost_per_token"]) == (1e-6, 3e-6)
    assert "openai/unpriced-by-spec" not in litellm.model_cost


def _row(candidate: str, status: str, kind: str | None = None) -> ResultRow:
    error = None if status != "error" else f"{kind} trouble"
    fields = {"suite": "s", "task_id": "t", "candidate": candidate, "status": status, "error": error}
    return ResultRow.model_validate({"run_id": "r", **fields, "error_kind": kind})


def test_fail_fast_stops_only_a_candidate_that_never_answered(tmp_path: Path) -> None:
    loaded = load_eval(make_project(tmp_path))
    watch = FailFast(loaded, tasks=3)
    watch.check(_row("openai/flaky", "pass"))
    for _ in range(5):  # once answered, errors are the error budget's business, not a reason to stop
        watch.check(_row("openai/flaky", "error", "server"))
    watch.check(_row("openai/down", "error", "connection"))
    watch.check(_row("openai/down", "error", "connection"))
    with pytest.raises(ProviderError, match=r"openai/down: its first 3 tasks all failed \(connection\)") as down:
        watch.check(_row("openai/down", "error", "connection"))
    assert down.value.exit_code == 3 and "api_base" in str(down.value)
    watch.check(_row("openai/typo", "error", "bad_request"))
    watch.check(_row("openai/typo", "error", "bad_request"))
    with pytest.raises(ConfigError, match="evals/triage.yaml: candidates: openai/typo") as typo:
        watch.check(_row("openai/typo", "error", "bad_request"))  # a wrong model id or param: bad input, exit 2
    assert typo.value.exit_code == 2


def test_the_cache_probe_counts_the_items_that_will_ask_a_model(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=60, candidates=["openai/cached", "openai/fresh", "openai/cached-too"])
    loaded = load_eval(spec)
    candidates = list(loaded.spec.candidates)
    everything = {"openai/cached": 60, "openai/fresh": 60, "openai/cached-too": 60}
    assert uncached_items(loaded, candidates, set(), no_cache=False) == everything  # no cache yet
    settings = LoopSettings(run_id="x", max_steps=loaded.spec.max_steps, seed=loaded.spec.seed)
    with ResponseCache(cache_path(loaded)) as cache:  # every first answer of two candidates, as a run left them
        for suite, task, candidate, repeat in work_items(loaded, [candidates[0], candidates[2]], set()):
            _, request = first_request(task, suite.openai_tools(task.tools), candidate, repeat, settings)
            cache.put(request, Completion(model=candidate.id, content="routed to billing"))
    done = {("triage", "t-0000", "openai/fresh", 0)}
    probed = uncached_items(loaded, candidates, done, no_cache=False)
    assert probed == {"openai/cached": 0, "openai/fresh": 59, "openai/cached-too": 0}
    assert uncached_items(loaded, candidates, done, no_cache=True) == {**everything, "openai/fresh": 59}


REPO = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.integration
def test_an_unreachable_api_base_stops_the_run_with_its_cause(tmp_path: Path) -> None:
    params = {"api_base": f"http://127.0.0.1:{_closed_port()}/v1"}
    spec = make_project(tmp_path, tasks=30, candidates=[{"id": "openai/down", "params": params}], concurrency=4)
    result = run_cli("run", spec, "--quiet", "--no-track", "--workers", "1", cwd=tmp_path)
    assert result.code == 3 and "Traceback" not in result.text
    assert f"openai/down: its first {FAIL_FAST_TASKS} tasks all failed (connection)" in result.err
    assert "Connection error" in result.err and "api_base" in result.err
    rows = read_rows(next((tmp_path / "reports").iterdir()) / "results.jsonl")
    assert FAIL_FAST_TASKS <= len(rows) < 30  # stopped early; the rows so far are kept


@pytest.mark.integration
def test_a_rerun_answered_from_the_cache_sets_up_no_model_client(tmp_path: Path) -> None:
    with OpenAIServer(ServerConfig()) as server:
        candidates = [{"id": "openai/direct", "params": server.params}, "sim/frontier"]  # both transports
        spec = make_project(tmp_path, tasks=5, candidates=candidates)
        gate = tmp_path / "policies/gate/eval.rego"
        gate.parent.mkdir()
        gate.write_text((REPO / "policies/gate/eval.rego").read_text())
        first = run_cli("run", spec, "--quiet", "--no-track", "--workers", "1", cwd=tmp_path)
        assert first.code in (0, 1), first.text
        sent = server.log.count
        code = (
            "import json, sys\nfrom guardrail.cli.main import main\ncode = main(sys.argv[1:])\n"
            "loaded = [m for m in ('litellm', 'aiohttp', 'mlflow') if m in sys.modules]\n"
            "print(json.dumps({'code': code, 'loaded': loaded}))"
        )
        again = subprocess.run(
            [sys.executable, "-c", code, "run", str(spec), "--quiet"], cwd=tmp_path, capture_output=True, text=True
        )
        assert server.log.count == sent  # every answer came from the cache
    report = json.loads(again.stdout.strip().splitlines()[-1])
    assert report == {"code": first.code, "loaded": []}, again.stderr  # MLflow logged from its own process
    # by start time: two runs in the same second have ids that sort by their random suffix
    runs = sorted(
        (tmp_path / "reports").iterdir(), key=lambda r: json.loads((r / "run.json").read_text())["started_at"]
    )
    assert len(runs) == 2 and sum(r.model_calls for r in read_rows(runs[-1] / "results.jsonl")) == 0
    assert json.loads((runs[-1] / "summary.json").read_text())["tracking"]["child_run_ids"]


def test_replay_cpu_is_estimated_by_how_each_candidate_is_reached(tmp_path: Path) -> None:
    direct = {"id": "openai/local", "params": {"api_base": "http://127.0.0.1:9/v1"}}
    loaded = load_eval(make_project(tmp_path, tasks=100, candidates=[direct, "sim/frontier"]))
    candidates = list(loaded.spec.candidates)
    expected = 100 * ITEM_CPU_S["openai-compatible"] + 100 * ITEM_CPU_S["litellm"]
    assert replay_cpu_s(loaded, candidates, set(), no_cache=True) == pytest.approx(expected)
    done = {("triage", f"t-{i:04d}", "sim/frontier", 0) for i in range(40)}
    expected -= 40 * ITEM_CPU_S["litellm"]
    assert replay_cpu_s(loaded, candidates, done, no_cache=True) == pytest.approx(expected)
