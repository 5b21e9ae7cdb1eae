"""app.shards: a run split across worker processes gives the same rows as one process, loses nothing to faults,
Ctrl-C, a kill -9 of the parent or the death of a worker, and resumes to exactly one row per task.

The faults are real: HTTP through litellm to a server on 127.0.0.1, real signals to real processes. What the
server saw is the judge of "no finished task was asked again", not the runner's own bookkeeping.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import pytest
from tests.support.openai_server import OpenAIServer, ServerConfig
from tests.support.processes import descendants, parent_of, subreaper, wait_until_gone
from tests.support.run_project import TaskRecorder, make_project

from guardrail.adapters.journal import Journal, read_rows
from guardrail.adapters.retry import RetryPolicy
from guardrail.adapters.suites import load_eval
from guardrail.app import shards
from guardrail.app.progress import RunProgress
from guardrail.core.results import ResultRow
from guardrail.errors import CouldNotFinish

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="runs are split across processes on Linux only"),
]
REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def _http(server: OpenAIServer, *names: str) -> list[dict[str, Any]]:
    return [{"id": f"openai/{name}", "params": server.params} for name in names]


def _comparable(rows: list[ResultRow]) -> list[dict[str, Any]]:
    """Rows without what differs between two runs of the same inputs (run id, wall-clock stamps)."""
    return sorted(
        (r.model_dump(mode="json", exclude={"run_id", "finished_at"}) for r in rows),
        key=lambda r: (r["suite"], r["task_id"], r["candidate"], r["repeat"]),
    )


def _wait_for_rows(root: Path, at_least: int, proc: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = list((root / "reports").glob("*/results.jsonl")) if (root / "reports").is_dir() else []
        if found and len(read_rows(found[0])) >= at_least:
            return found[0]
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.02)
    raise AssertionError("the run journaled nothing in time")


def _workers_started(proc: subprocess.Popen[str], count: int) -> set[int]:
    """The run's processes once `count` workers and each one's policy engine are up (a worker opens its engine
    before it replays anything)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tree = _replay_processes(proc.pid)
        if len(tree) >= 2 * count:
            return tree
        time.sleep(0.02)
    raise AssertionError(f"expected {count} workers with their engines, found {_replay_processes(proc.pid)}")


def _replay_processes(pid: int, *, before: frozenset[int] = frozenset()) -> set[int]:
    """The run's workers and their policy engines: all it started but MLflow's logging process (which ends when
    its parent's pipe closes, once its import is done; it neither replays nor calls a provider). `before`: this
    test process's descendants from before the run (another test's MLflow process), left out."""
    return descendants(pid, besides="mlflow_process") - before


def _children(pid: int) -> list[int]:
    """The run's workers (its direct children among its replay processes)."""
    return [p for p in _replay_processes(pid) if parent_of(p) == pid]


def _start(
    spec: Path, *extra: str, env: dict[str, str] | None = None, cache: bool = False, track: bool = False
) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "guardrail.cli.main", "run", str(spec), "--quiet"] + ([] if track else ["--no-track"])
    argv += [] if cache else ["--no-cache"]
    # its own session: a signal to the group is what a terminal's Ctrl-C sends
    return subprocess.Popen(
        [*argv, *extra],
        cwd=spec.parents[1],
        env=env or ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _project(root: Path, **kw: Any) -> Path:
    """The runner's test project plus the bundled eval gate, which `guardrail run` consults after the replay."""
    spec = make_project(root, **kw)
    (root / "policies/gate").mkdir(parents=True, exist_ok=True)
    (root / "policies/gate/eval.rego").write_text((REPO / "policies/gate/eval.rego").read_text())
    return spec


def _finish(spec: Path, *extra: str, env: dict[str, str] | None = None, cache: bool = False) -> Path:
    """`guardrail run` to the end in its own process (no test threads: it may fork); the run folder."""
    before = set((spec.parents[1] / "reports").glob("*")) if (spec.parents[1] / "reports").is_dir() else set()
    proc = _start(spec, *extra, env=env, cache=cache)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), err  # 1: the eval gate denied, which these tests do not care about
    if "--resume" in extra:
        return spec.parents[1] / "reports" / extra[extra.index("--resume") + 1]
    (run_dir,) = set((spec.parents[1] / "reports").glob("*")) - before
    return run_dir


def _workers(run_dir: Path) -> int:
    return int(json.loads((run_dir / "run.json").read_text())["workers"])


def test_two_workers_give_the_rows_one_process_gives(tmp_path: Path) -> None:
    spec = _project(tmp_path, tasks=60, candidates=["sim/frontier", "sim/reckless", "sim/budget"])
    env = {**ENV, "GUARDRAIL_SIM_LATENCY_SCALE": "0"}
    one = _finish(spec, "--workers", "1", env=env)
    two = _finish(spec, "--workers", "2", env=env, cache=True)  # a fresh cache, opened by both workers at once
    assert (_workers(one), _workers(two)) == (1, 2)
    rows = read_rows(two / "results.jsonl")
    assert len(rows) == 180 and _comparable(rows) == _comparable(read_rows(one / "results.jsonl"))
    assert any(r.violations for r in rows)  # the reckless model's violations are found in the workers too
    assert len((two / "transcripts.jsonl").read_text().splitlines()) == 180


@pytest.mark.slow
def test_faults_across_workers_end_with_one_row_per_task_and_no_extra_requests(tmp_path: Path) -> None:
    config = ServerConfig(rate_500=0.10, rate_429=0.05, rate_hang=0.02, hang_s=8.0, seed=3)
    with OpenAIServer(config) as server:
        spec = _project(tmp_path, tasks=60, candidates=_http(server, "a", "b"), timeout_s=3.0)
        run_dir = _finish(spec, "--workers", "2")
        log = server.log
    rows = read_rows(run_dir / "results.jsonl")
    keys = [(r.suite, r.task_id, r.candidate, r.repeat) for r in rows]
    assert _workers(run_dir) == 2
    assert len(keys) == len(set(keys)) == 120
    assert {"500", "429", "hang"} <= set(log.outcomes())
    assert max(log.per_body().values()) <= RetryPolicy().max_attempts  # no request beyond its retries
    # the rows count every request, retries included: the server saw no more (a client-side timeout may fire
    # before a request reaches it), and every call was asked (distinct bodies) at most that often
    assert len(log.per_body()) < log.count <= sum(r.model_calls for r in rows)
    assert sum(r.status == "error" for r in rows) <= 3


@pytest.mark.slow
def test_kill_9_of_the_parent_takes_every_worker_and_engine_with_it_and_resume_asks_no_finished_task(
    tmp_path: Path,
) -> None:
    recorder = TaskRecorder()
    with OpenAIServer(ServerConfig(latency_ms=40, responder=recorder)) as server, subreaper():
        spec = _project(tmp_path, tasks=120, candidates=_http(server, "a"), concurrency=4)
        before = frozenset(descendants(os.getpid()))
        proc = _start(spec, "--workers", "2")
        results = _wait_for_rows(tmp_path, 10, proc)
        tree = _workers_started(proc, 2)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        proc.communicate(timeout=10)
        # orphans would now be this test's children (a subreaper): every one of the run's processes is gone
        left = wait_until_gone(tree | _replay_processes(os.getpid(), before=before))
        assert not left, f"workers or engines outlived their parent: {left}"
        time.sleep(0.5)  # anything still on the way to the server arrives meanwhile
        after_kill = [r for r in server.log.entries if r.started > killed_at]
        assert len(after_kill) <= 4, after_kill  # at most what was in flight at the kill (the concurrency)
        finished = {int(r.task_id.split("-")[1]) for r in read_rows(results)}
        assert 10 <= len(finished) < 120
        recorder.take()
        _finish(spec, "--resume", results.parent.name, "--workers", "2")
        asked = recorder.take()
    assert not asked & finished and asked == set(range(120)) - finished
    keys = [r.task_id for r in read_rows(results)]
    assert len(keys) == len(set(keys)) == 120
    assert json.loads((results.parent / "run.json").read_text())["status"] == "finished"
    assert len((results.parent / "transcripts.jsonl").read_text().splitlines()) == 120


@pytest.mark.slow
@pytest.mark.parametrize(
    ("interrupt", "code", "status", "message"),
    [
        (lambda proc: os.killpg(proc.pid, signal.SIGINT), 130, "interrupted", "interrupted"),
        (lambda proc: os.kill(_children(proc.pid)[0], signal.SIGKILL), 3, "failed", "died (exit code -9)"),
    ],
    ids=["ctrl-c", "a-worker-killed"],
)
def test_a_stopped_run_keeps_what_its_workers_sent_and_resumes_to_one_row_per_task(
    tmp_path: Path, interrupt: Callable[[subprocess.Popen[str]], None], code: int, status: str, message: str
) -> None:
    recorder = TaskRecorder()
    with OpenAIServer(ServerConfig(latency_ms=40, responder=recorder)) as server, subreaper():
        spec = _project(tmp_path, tasks=120, candidates=_http(server, "a"), concurrency=4)
        before = frozenset(descendants(os.getpid()))
        # tracking on: MLflow's import warms up meanwhile (it used to, in a thread, hang the exit 3 tries in 7)
        proc = _start(spec, "--workers", "2", track=True)
        results = _wait_for_rows(tmp_path, 10, proc)
        tree = _workers_started(proc, 2)
        interrupt(proc)
        _, err = proc.communicate(timeout=20)  # one Ctrl-C is enough, and quick
        assert proc.returncode == code, err
        left = wait_until_gone(tree | _replay_processes(os.getpid(), before=before))
        assert not left, f"a worker or engine outlived the run: {left}"
        assert message in err and "Traceback" not in err
        assert json.loads((results.parent / "run.json").read_text())["status"] == status
        finished = {int(r.task_id.split("-")[1]) for r in read_rows(results)}
        assert 10 <= len(finished) < 120
        recorder.take()
        _finish(spec, "--resume", results.parent.name)
        asked = recorder.take()
    assert not asked & finished
    keys = [r.task_id for r in read_rows(results)]
    assert len(keys) == len(set(keys)) == 120


def test_a_corrupt_cache_stops_a_split_run_with_exit_3(tmp_path: Path) -> None:
    spec = _project(tmp_path, tasks=60, candidates=["sim/frontier"])
    cache = tmp_path / ".guardrail/cache/responses.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"this is not a database" * 100)
    proc = _start(spec, "--workers", "2", cache=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "cannot open the response cache" in err and "Traceback" not in err
    (run_dir,) = (tmp_path / "reports").glob("*")
    assert _workers(run_dir) == 2 and json.loads((run_dir / "run.json").read_text())["status"] == "failed"


def test_a_worker_s_own_error_reaches_the_parent_after_the_rows_it_sent(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    row = ResultRow(run_id="r", task_id="t-1", suite="s", candidate="m", status="pass")

    def work() -> None:
        sender.send(("row", row, {"task_id": "t-1"}))
        sender.send(("error", CouldNotFinish("the worker's own reason", hint="its hint")))

    proc = ctx.Process(target=work, name="replay worker 1/1")
    proc.start()
    sender.close()
    children: dict[Any, Any] = {receiver: proc}
    failure = None
    with Journal(tmp_path / "run") as journal:
        while children:
            failure = shards._collect(wait(list(children)), children, journal, RunProgress()) or failure
        assert journal.rows == [row]
    assert isinstance(failure, CouldNotFinish) and str(failure) == "the worker's own reason\n  hint: its hint"


def test_plan_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _project(tmp_path, candidates=["sim/frontier"], rate_limits={"sim": {"concurrency": 3}})
    loaded = load_eval(spec)
    cores = os.cpu_count() or 1
    monkeypatch.setattr(shards, "can_fork", lambda: True)
    # a second process pays for itself only beyond 2 x WORKER_START_S of replay CPU
    assert shards.plan_workers(None, 900, loaded, 64, cpu_s=0.45) == 1  # e.g. 900 cached answers
    assert shards.plan_workers(None, 900, loaded, 64, cpu_s=7.2) == min(cores, 3)  # e.g. 900 calls through litellm
    assert shards.plan_workers(None, 100_000, loaded, 64, cpu_s=800) == min(cores, 3)  # within every budget
    assert shards.plan_workers(8, 100_000, loaded, 2, cpu_s=800) == 2  # each worker needs one slot of the concurrency
    assert shards.plan_workers(4, 3, loaded, 64, cpu_s=1) == 3  # never more workers than items
    assert shards.plan_workers(1, 100_000, loaded, 64, cpu_s=800) == 1
    monkeypatch.setattr(shards, "can_fork", lambda: False)
    assert shards.plan_workers(2, 100_000, loaded, 64, cpu_s=800) == 1


def test_fork_is_refused_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not shards.can_fork()  # it could hold a lock the forked worker would inherit, locked
    finally:
        stop.set()
        thread.join()
