"""The runner against a real HTTP server on 127.0.0.1: faults, kill -9 + resume, the cache. Each runs on both
transports: through litellm, and straight to the OpenAI-compatible server (the default for `openai/<name>` with an
api_base).

Each test counts what the server saw, so "exactly one row per task" and "no request beyond retries" are
checked from the outside, not from the runner's own bookkeeping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.openai_server import OpenAIServer, ServerConfig
from tests.support.run_project import TaskRecorder, make_project

from guardrail.adapters.journal import read_rows
from guardrail.adapters.model_client import ModelClient
from guardrail.adapters.retry import RetryPolicy
from guardrail.adapters.transport import Mode, Transport
from guardrail.app.run_eval import RunOptions, run_eval

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("transport", ["litellm", "auto"])]
REPO = Path(__file__).resolve().parents[2]


def _candidates(server: OpenAIServer, *names: str) -> list[dict[str, Any]]:
    return [{"id": f"openai/{name}", "params": server.params} for name in names]


def _keys(run_dir: Path) -> list[tuple[str, str, str, int]]:
    return [(r.suite, r.task_id, r.candidate, r.repeat) for r in read_rows(run_dir / "results.jsonl")]


@pytest.mark.slow
def test_mixed_faults_end_with_one_row_per_task_and_no_extra_requests(tmp_path: Path, transport: Mode) -> None:
    config = ServerConfig(rate_500=0.10, rate_429=0.05, rate_hang=0.02, hang_s=8.0, seed=3)
    with OpenAIServer(config) as server:
        spec = make_project(tmp_path, tasks=30, candidates=_candidates(server, "a", "b"), timeout_s=4.0)
        retry = RetryPolicy(base_s=0.01, cap_s=0.05)
        client = ModelClient(cache=None, default_concurrency=32, retry=retry, transport=Transport(transport))
        outcome = run_eval(spec, RunOptions(quiet=True), client=client)
        log = server.log
        outcomes = log.outcomes()
    keys = _keys(outcome.run_dir)
    assert len(keys) == len(set(keys)) == 60  # every (task, candidate) ended with exactly one row
    assert {"500", "429", "hang"} <= set(outcomes)  # the faults really happened
    # the server saw no request the client did not count (a client-side timeout may fire before sending),
    # and no request body more often than the retry policy allows
    assert log.count <= client.stats.calls_made
    assert max(log.per_body().values()) <= RetryPolicy().max_attempts
    rows = outcome.rows
    assert sum(r.status == "error" for r in rows) <= 2  # four attempts per call make survivors rare
    assert all(r.model_calls >= 1 for r in rows)
    assert sum(r.model_calls for r in rows) == client.stats.calls_made  # retries are counted where they happened


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_requests_no_finished_task(tmp_path: Path, transport: Mode) -> None:
    recorder = TaskRecorder()
    with OpenAIServer(ServerConfig(latency_ms=40, responder=recorder)) as server:
        candidates = _candidates(server, "a")
        spec = make_project(tmp_path, tasks=80, candidates=candidates, concurrency=4, transport=transport)
        command = [sys.executable, "-m", "guardrail.cli.main", "run", str(spec), "--quiet", "--no-cache"]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 90
            results: Path | None = None
            while time.monotonic() < deadline:
                found = list((tmp_path / "reports").glob("*/results.jsonl"))
                if found and len(read_rows(found[0])) >= 10:
                    results = found[0]
                    break
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.02)
            assert results is not None, "the run journaled nothing in time"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stderr:
                proc.stderr.close()
        run_dir = results.parent
        finished = {r.task_id for r in read_rows(results)}
        assert 10 <= len(finished) < 80
        assert json.loads((run_dir / "run.json").read_text())["status"] == "running"  # it never got to say more
        recorder.take()
        resumed = run_eval(spec, RunOptions(quiet=True, no_cache=True, resume=run_dir.name))
    keys = _keys(run_dir)
    assert len(keys) == len(set(keys)) == 80
    asked = recorder.take()
    finished_numbers = {int(task_id.split("-")[1]) for task_id in finished}
    assert not asked & finished_numbers  # no finished task was requested again
    assert asked == set(range(80)) - finished_numbers
    assert resumed.manifest.status == "finished"
    transcripts = (run_dir / "transcripts.jsonl").read_text().splitlines()
    assert len(transcripts) == 80


def test_rerun_of_an_unchanged_eval_makes_zero_model_calls(tmp_path: Path, transport: Mode) -> None:
    with OpenAIServer(ServerConfig()) as server:
        spec = make_project(tmp_path, tasks=10, candidates=_candidates(server, "a", "b"), transport=transport)
        first = run_eval(spec, RunOptions(quiet=True))
        expected = "openai-compatible" if transport == "auto" else "litellm"
        assert {c.transport for c in first.manifest.candidates} == {expected}
        sent = server.log.count
        second = run_eval(spec, RunOptions(quiet=True))
        assert server.log.count == sent  # nothing reached the server
    assert sent == 40  # 10 tasks x 2 candidates x 2 steps
    for entry in second.counts.candidates.values():
        assert entry.model_calls == 0 and entry.cache_hits == 20
    # same scores and costs from the cache as from the models
    assert [(r.task_id, r.candidate, r.status, r.cost_usd) for r in first.rows] == sorted(
        [(r.task_id, r.candidate, r.status, r.cost_usd) for r in second.rows],
        key=lambda x: [(r.task_id, r.candidate) for r in first.rows].index((x[0], x[1])),
    )
