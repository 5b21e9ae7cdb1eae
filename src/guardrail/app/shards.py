"""A replay split across worker processes, at most one per core, when they pay for themselves (`plan_workers`).

Why: a replay costs the runner CPU per task-evaluation (litellm alone 5-8 ms per call; the direct OpenAI-compatible
client about 1.5 ms per task with the agent loop, policy and scoring; a cached answer 0.5 ms), so a run through
litellm or an in-process simulated model is CPU-bound long before the provider is, while a process costs its start
(fork, its own policy engine and cache). The parent loads the eval, imports what the transports that will send need
(litellm, once) and forks the workers; each runs the ordinary replay (`app/replay.py`) on every n-th item with its
1/n share of every provider budget (concurrency, rpm, tpm), and sends each outcome back through a pipe as it
finishes. The parent alone writes the journal and drives the progress bar, so resume, `kill -9` and Ctrl-C behave as
in one process:
- Ctrl-C: the workers ignore it; the parent stops them, journals every outcome they had already sent (waiting at
  most `_STOP_GRACE_S`, then killing), exits 130. One Ctrl-C is always enough.
- `kill -9` of the parent: the kernel kills every worker at once (`PR_SET_PDEATHSIG`, `adapters/lifeline.py`), and
  each worker's policy engine with it; nothing calls a provider after the kill; the journal has every finished task.
- a worker that dies or fails: the others are stopped, their finished outcomes kept, and the run fails (exit 3)
  with the worker's error; `--resume` finishes it. A worker that will not exit is killed, never waited for.
Each worker closes its siblings' pipe ends (held open, they would hide a parent's end from a sibling) and the run
lock it inherited (`adapters/locks.py`), so nothing it holds keeps a pipe open or a lock taken.

Why not `concurrent.futures.ProcessPoolExecutor` (or multiprocessing's spawn/forkserver): it removes none of these
failure modes (its workers outlive a killed parent too, and a running job cannot be cancelled), and a fresh
interpreter per worker pays the import of litellm and the pickling of the loaded eval, which fork shares for free;
docs/reliability.md has the figures.

Fork only (Linux), and only while no other thread runs: the workers inherit the loaded eval and the imported SDK
instead of paying seconds to import it again. Elsewhere the run stays in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from guardrail.adapters import lifeline
from guardrail.adapters.cache import ResponseCache
from guardrail.adapters.journal import Journal, RowKey
from guardrail.adapters.suites import LoadedEval
from guardrail.app.agent_loop import LoopSettings, MemoDecider, TaskOutcome
from guardrail.app.progress import RunProgress
from guardrail.app.replay import cache_path, make_client, open_policy, replay, warm_provider, work_items
from guardrail.core.suite import Candidate
from guardrail.errors import CouldNotFinish, GuardrailError

# What each process beyond the first costs before it replays anything: the fork, its own policy engine process and
# response cache, and the parent's work on what it sends back (bench/bench_cli.py; the CPU it saves is estimated by
# app/replay.replay_cpu_s).
WORKER_START_S = 0.25
_STOP_GRACE_S = 5.0  # how long stopping workers may take to send what they finished before they are killed


def plan_workers(requested: int | None, items: int, loaded: LoadedEval, concurrency: int, *, cpu_s: float) -> int:
    """How many processes replay `items` items that cost this runner about `cpu_s` of CPU: `requested`, or the
    count, at most one per core, that finishes soonest (cpu_s / n + (n - 1) x WORKER_START_S: a second process pays
    only for more than half a second of CPU); never more than the smallest provider budget (each process needs at
    least one of every slot) nor than fork allows here."""
    if requested is None:
        cores = range(1, (os.cpu_count() or 1) + 1)
        requested = min(cores, key=lambda n: cpu_s / n + (n - 1) * WORKER_START_S)
    budgets = [concurrency, *(v for lim in loaded.spec.rate_limits.values() for v in lim.model_dump().values() if v)]
    workers = max(1, min(requested, items, *budgets))
    return workers if workers == 1 or can_fork() else 1


def can_fork() -> bool:
    """Forking is safe here: Linux, and no thread that could hold a lock the child would inherit."""
    return sys.platform == "linux" and "fork" in mp.get_all_start_methods() and threading.active_count() == 1


@dataclass(frozen=True)
class _Job:
    """What every worker inherits (by fork: nothing is pickled)."""

    loaded: LoadedEval
    candidates: list[Candidate]
    done: frozenset[RowKey]
    settings: LoopSettings
    shards: int
    concurrency: int  # each worker's share of the spec's (or --concurrency's)
    no_cache: bool
    parent: int
    opa_url: str | None


def run_sharded(
    loaded: LoadedEval,
    candidates: list[Candidate],
    journal: Journal,
    progress: RunProgress,
    settings: LoopSettings,
    *,
    workers: int,
    concurrency: int,
    no_cache: bool,
    started: Callable[[], None],
    opa_url: str | None = None,
) -> None:
    """Replay what `journal` lacks in `workers` processes; `started` runs in the parent once they are forked
    (threads, such as the progress bar's, may only start then)."""
    warm_provider(loaded, candidates, journal.done, no_cache=no_cache)  # imported once here; the workers inherit it
    ctx: Any = mp.get_context("fork")
    job = _Job(
        loaded=loaded,
        candidates=candidates,
        done=frozenset(journal.done),
        settings=settings,
        shards=workers,
        concurrency=max(1, concurrency // workers),
        no_cache=no_cache,
        parent=os.getpid(),
        opa_url=opa_url,
    )
    if not no_cache:  # created here, once: workers creating it at the same instant would find it locked
        ResponseCache(cache_path(loaded)).close()
    children: dict[Connection, Any] = {}
    procs: list[Any] = []  # every worker, until it is reaped: one that sent its last word may still be running
    gc.freeze()  # the imported SDKs' objects stay shared with the workers: a collection there would copy their pages
    try:
        for shard in range(workers):
            receiver, sender = ctx.Pipe(duplex=False)
            siblings = tuple(children)  # the receivers forked so far: this worker must not hold them open
            # not a daemon: a worker has a child of its own (its policy engine); the finally below reaps it instead
            proc = ctx.Process(
                target=_worker, args=(sender, job, shard, siblings), name=f"replay worker {shard + 1}/{workers}"
            )
            proc.start()
            procs.append(proc)
            sender.close()
            children[receiver] = proc
        _supervise(children, journal, progress, started)
    finally:
        for proc in procs:  # workers that would not stop, or would not exit after their last message
            if proc.is_alive():
                proc.kill()
            proc.join()
        for conn in children:
            conn.close()
        gc.unfreeze()


def _supervise(
    children: dict[Connection, Any], journal: Journal, progress: RunProgress, started: Callable[[], None]
) -> None:
    """Journal what the workers send until they are all done; on a failure or Ctrl-C, stop them and keep what they
    had already sent, within `_STOP_GRACE_S`."""
    failure: BaseException | None = None
    deadline: float | None = None  # once stopping: when workers that have not stopped get killed
    try:
        started()
        while children:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready: list[Any] = wait(list(children), timeout=timeout)
            if not ready:
                break  # stopping, and out of patience: the caller kills what is left
            problem = _collect(ready, children, journal, progress)
            if problem is not None and failure is None:
                failure = problem
                _stop(children.values())  # the run cannot finish: keep what the others send until they stop
                deadline = time.monotonic() + _STOP_GRACE_S
    except BaseException as exc:  # Ctrl-C (or a journal write failing): keep what the workers already sent
        failure = exc
        _stop(children.values())
        with contextlib.suppress(BaseException):  # a second Ctrl-C here only cuts the wait short
            _drain(children, journal, progress, time.monotonic() + _STOP_GRACE_S)
    if failure is not None:
        raise failure


def _collect(
    ready: list[Any], children: dict[Connection, Any], journal: Journal, progress: RunProgress
) -> BaseException | None:
    """Every message waiting on the `ready` pipes; their rows journaled with one fsync. Returns a worker's
    failure, if one reported it or died."""
    rows: list[tuple[Any, dict[str, Any]]] = []
    failure: BaseException | None = None
    for conn in ready:
        while conn in children and conn.poll():
            problem = _receive(conn, children, rows)
            failure = failure or problem
    for row, _ in rows:
        progress.advance(row)
    journal.append_batch(rows)
    return failure


def _receive(
    conn: Connection, children: dict[Connection, Any], rows: list[tuple[Any, dict[str, Any]]]
) -> BaseException | None:
    """One message from a worker: a row is added to `rows`; the end of a worker returns its failure, if any."""
    try:
        message = conn.recv()
    except EOFError:
        proc = children.pop(conn)
        conn.close()
        proc.join(_STOP_GRACE_S)  # it closed its pipe: it is exiting (if not, run_sharded kills it)
        if proc.exitcode in (0, -signal.SIGTERM):
            return None  # finished, or stopped by us
        return CouldNotFinish(
            f"{proc.name} died (exit code {proc.exitcode}); the tasks it had finished are kept",
            hint="run again with --resume RUN_ID to finish the rest",
        )
    kind = message[0]
    if kind == "row":
        rows.append((message[1], message[2]))
        return None
    children.pop(conn).join(_STOP_GRACE_S)
    conn.close()
    return message[1] if kind == "error" else None


def _drain(children: dict[Connection, Any], journal: Journal, progress: RunProgress, deadline: float) -> None:
    """Journal every outcome still in the pipes of stopping workers, until `deadline`."""
    while children:
        ready: list[Any] = wait(list(children), timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            return
        _collect(ready, children, journal, progress)


def _stop(procs: Any) -> None:
    for proc in procs:
        proc.terminate()  # SIGTERM: the worker cancels its replay and reports nothing


def _worker(conn: Connection, job: _Job, shard: int, siblings: tuple[Connection, ...]) -> None:
    """One worker process: its items through the ordinary replay, each outcome sent to the parent."""
    lifeline.die_with_parent(job.parent)  # first: a kill -9 of the parent must take this process with it
    lifeline.children_die_with_me()  # and its policy engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until the replay runs: nothing to keep yet
    for sibling in siblings:  # a sibling's pipe held open here would hide the parent's end from it
        sibling.close()
    try:
        client = make_client(
            job.loaded, job.candidates, concurrency=job.concurrency, no_cache=job.no_cache, shards=job.shards
        )
        try:
            policy = open_policy(job.loaded, opa_url=job.opa_url)
            try:
                asyncio.run(_replay_shard(conn, job, shard, client, MemoDecider(policy)))
            finally:
                policy.close()
        finally:
            client.close()
        conn.send(("done",))
    except asyncio.CancelledError:
        pass  # stopped by the parent, or the parent is gone: nothing to report
    except GuardrailError as exc:
        _send_quietly(conn, ("error", exc))
    except BaseException as exc:  # anything else is a bug; the parent shows it without a traceback
        _send_quietly(conn, ("error", CouldNotFinish(f"replay worker {shard + 1} failed: {type(exc).__name__}: {exc}")))
    finally:
        conn.close()


async def _replay_shard(conn: Connection, job: _Job, shard: int, client: Any, policy: MemoDecider) -> None:
    """The replay, cancelled (between steps, never inside a lock: a signal raising into arbitrary code can leave
    one held) by the parent's SIGTERM. The parent's death needs no watching: the kernel kills this process."""
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)

    async def sink(outcome: TaskOutcome) -> None:
        conn.send(("row", outcome.row, outcome.transcript))

    items = work_items(job.loaded, job.candidates, job.done, shard=shard, shards=job.shards)
    await replay(job.loaded, job.candidates, items, sink, client, policy, job.settings, job.concurrency)


def _send_quietly(conn: Connection, message: object) -> None:
    with contextlib.suppress(OSError, ValueError):
        conn.send(message)


__all__ = ["WORKER_START_S", "can_fork", "plan_workers", "run_sharded"]
