"""run_eval end to end with a scripted model: the run folder, resume, candidate selection, concurrency,
budgets."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from tests.support.run_project import ScriptedClient, make_project, scripted_behaviour

from guardrail.adapters.journal import read_rows
from guardrail.app.run_eval import (
    RunOptions,
    check_error_budget,
    new_run_id,
    over_error_budget,
    run_eval,
)
from guardrail.core.hashing import sha256_file
from guardrail.core.llm import CallResult, CompletionRequest
from guardrail.errors import ConfigError, PolicyError, TooManyErrors


def _keys(run_dir: Path) -> list[tuple[str, str, str, int]]:
    return [(r.suite, r.task_id, r.candidate, r.repeat) for r in read_rows(run_dir / "results.jsonl")]


def test_run_writes_the_run_folder(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=4, repeats=2)
    outcome = run_eval(spec, RunOptions(quiet=True), client=ScriptedClient())
    run_dir = outcome.run_dir
    assert run_dir.parent == tmp_path / "reports" and run_dir.name == outcome.manifest.run_id
    keys = _keys(run_dir)
    assert len(keys) == len(set(keys)) == 4 * 2 * 2
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished" and manifest["finished_at"]
    assert manifest["hashes"]["spec"] == sha256_file(spec)
    assert manifest["hashes"]["roster"] == sha256_file(tmp_path / "roster.yaml")
    assert set(manifest["hashes"]) == {"spec", "roster", "suites", "policies"} and manifest["suites"].keys() == {
        "triage"
    }
    assert manifest["current_model"] == "openai/base" and manifest["task_count"] == 4 and manifest["repeats"] == 2
    assert not (run_dir / "summary.json").exists()  # the report step's record; the runner counts in memory
    good, reckless = outcome.counts.of("openai/good"), outcome.counts.of("openai/reckless")
    assert (good.tasks, good.passed, good.violations) == (8, 8, 0)
    assert (reckless.tasks, reckless.failed, reckless.violations) == (8, 8, 8)
    transcripts = [json.loads(x) for x in (run_dir / "transcripts.jsonl").read_text().splitlines()]
    assert len(transcripts) == 16 and all(t["messages"][0]["role"] == "user" for t in transcripts)


def test_candidates_option_restricts_and_unknown_names_are_input_errors(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=2)
    outcome = run_eval(spec, RunOptions(quiet=True, candidates=["openai/reckless"]), client=ScriptedClient())
    assert {r.candidate for r in outcome.rows} == {"openai/reckless"}
    assert [c.id for c in outcome.manifest.candidates] == ["openai/reckless"]
    with pytest.raises(ConfigError, match="not a candidate"):
        run_eval(spec, RunOptions(quiet=True, candidates=["openai/ghost"]), client=ScriptedClient())


def test_concurrency_bounds_requests_in_flight(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=20)
    client = ScriptedClient(delay_s=0.01)
    run_eval(spec, RunOptions(quiet=True, concurrency=5), client=client)
    assert client.max_in_flight == 5


def test_concurrency_applies_per_provider(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=20, candidates=["openai/good", "anthropic/good"])
    client = ScriptedClient(delay_s=0.01)
    run_eval(spec, RunOptions(quiet=True, concurrency=3), client=client)
    assert client.max_in_flight == 6  # the pool spans providers; the client's throttle holds each to 3


def test_resume_replays_only_missing_keys(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=5)
    first = run_eval(spec, RunOptions(quiet=True), client=ScriptedClient())
    results = first.run_dir / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:4]) + lines[4][:30])  # 4 rows survived, the 5th was torn by a kill
    client = ScriptedClient()
    resumed = run_eval(spec, RunOptions(quiet=True, resume=first.manifest.run_id), client=client)
    keys = _keys(resumed.run_dir)
    assert len(keys) == len(set(keys)) == 10
    replayed = {(r.model, r.messages[0]["content"]) for r in client.requests}
    assert len(replayed) == 10 - 4  # only the keys without a row were asked again
    transcripts = (resumed.run_dir / "transcripts.jsonl").read_text().splitlines()
    assert len(transcripts) == 10
    assert json.loads((resumed.run_dir / "run.json").read_text())["status"] == "finished"
    # resuming a finished run asks nothing
    again = ScriptedClient()
    run_eval(spec, RunOptions(quiet=True, resume=first.manifest.run_id), client=again)
    assert again.requests == []


def test_resume_refuses_changed_inputs_and_unknown_runs(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=2)
    first = run_eval(spec, RunOptions(quiet=True), client=ScriptedClient())
    (tmp_path / "suites/triage/more.jsonl").write_text(
        '{"id": "new", "messages": [{"role": "user", "content": "x"}]}\n'
    )
    with pytest.raises(ConfigError, match="inputs changed"):
        run_eval(spec, RunOptions(quiet=True, resume=first.manifest.run_id), client=ScriptedClient())
    with pytest.raises(ConfigError, match="no run"):
        run_eval(spec, RunOptions(quiet=True, resume="20990101T000000Z-0000"), client=ScriptedClient())


def test_missing_action_policy_is_an_input_error(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=1)
    (tmp_path / "policies/action/action.rego").rename(tmp_path / "policies/action/other.rego.txt")
    (tmp_path / "policies/roster.rego").write_text("package roster.x\n\nimport rego.v1\n\ndeny contains 1 if false\n")
    with pytest.raises(PolicyError, match="no action policy"):
        run_eval(spec, RunOptions(quiet=True), client=ScriptedClient())


def test_error_rows_count_against_the_budget(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=4, candidates=["openai/good", "openai/broken"], max_error_rate=0.25)
    outcome = run_eval(spec, RunOptions(quiet=True), client=ScriptedClient())
    broken = [r for r in outcome.rows if r.candidate == "openai/broken"]
    assert {r.status for r in broken} == {"error"} and len(broken) == 4
    assert over_error_budget(outcome) == {"openai/broken": 1.0}
    with pytest.raises(TooManyErrors, match="openai/broken"):
        check_error_budget(outcome)


def test_interrupt_leaves_a_consistent_journal(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=30)
    calls = 0

    def interrupting(request: CompletionRequest) -> CallResult:
        nonlocal calls
        calls += 1
        if calls == 40:
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C: asyncio cancels the run, then raises KeyboardInterrupt
        return scripted_behaviour(request)

    with pytest.raises(KeyboardInterrupt):
        run_eval(spec, RunOptions(quiet=True, concurrency=4), client=ScriptedClient(interrupting, delay_s=0.001))
    run_dir = next((tmp_path / "reports").iterdir())
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "interrupted"
    keys = _keys(run_dir)
    assert 0 < len(keys) < 60 and len(keys) == len(set(keys))
    resumed = run_eval(spec, RunOptions(quiet=True, resume=run_dir.name), client=ScriptedClient())
    assert len(_keys(resumed.run_dir)) == 60


def test_run_ids_sort_by_time_and_differ() -> None:
    ids = {new_run_id() for _ in range(20)}
    assert len(ids) > 1 and all(len(i) == len("20261121T143012Z-a1b2") for i in ids)


def test_sim_candidates_are_counted_as_simulated(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=2, candidates=["sim/frontier", "openai/good"])

    def answer(request: CompletionRequest) -> CallResult:
        return scripted_behaviour(request.model_copy(update={"model": "openai/good"})).model_copy(
            update={"model": request.model}
        )

    outcome = run_eval(spec, RunOptions(quiet=True), client=ScriptedClient(answer))
    assert outcome.counts.of("sim/frontier").simulated and not outcome.counts.of("openai/good").simulated
    assert outcome.simulated("sim/frontier") and not outcome.simulated("openai/good")


def test_progress_shows_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from guardrail.app.progress import RunProgress
    from guardrail.core.results import ResultRow

    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert type(RunProgress.live()) is RunProgress
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert type(RunProgress.live(quiet=True)) is RunProgress
    live = RunProgress.live()
    assert type(live) is not RunProgress
    live.start(total=2, done=1)
    live.advance(ResultRow(run_id="r", task_id="t", suite="s", candidate="m", status="error", cost_usd=0.5))
    live.close()
