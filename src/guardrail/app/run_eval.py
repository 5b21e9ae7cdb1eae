"""`guardrail run`: replay an eval's suites on every candidate, score each task, journal it, write the run
folder.

The run folder `reports/<run-id>/` holds run.json (what ran, on which inputs, by hash), results.jsonl (the
journal: one row per (suite, task, candidate, repeat), fsynced as each finishes) and transcripts.jsonl; the
report step adds summary.json and the reports (app/report.py). `--resume RUN_ID` replays only the keys the
journal lacks, so a killed run ends with exactly one row per key.

The replay itself is `app/replay.py`: on this process's event loop for small runs, split across one worker
process per core for big ones (`app/shards.py`), since the runner's own CPU per call, not the providers, is what
bounds a fast run. Either way this process alone writes the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import guardrail
from guardrail.adapters.journal import Journal
from guardrail.adapters.rego import PolicyEngine
from guardrail.adapters.roster_layout import RosterLayout
from guardrail.adapters.suites import LoadedEval, check_environment, load_eval
from guardrail.adapters.transport import route
from guardrail.app.agent_loop import Completer, Decider, LoopSettings, MemoDecider, TaskOutcome
from guardrail.app.progress import RunProgress
from guardrail.app.redaction import run_redactor
from guardrail.app.replay import make_client, open_policy, remaining, replay, replay_cpu_s, work_items
from guardrail.app.run_folder import RunFolder, new_run_id, open_run_folder
from guardrail.app.shards import plan_workers, run_sharded
from guardrail.core.counts import RunCounts, count_rows
from guardrail.core.hashing import policies_hash, sha256_file, sha256_tree
from guardrail.core.llm import is_simulated
from guardrail.core.redact import Redactor
from guardrail.core.results import CandidateSpec, ResultRow, RunManifest
from guardrail.core.suite import Candidate
from guardrail.errors import ConfigError, CouldNotFinish, TooManyErrors


@dataclass
class RunOptions:
    """What the command line can override; None keeps the spec's value."""

    candidates: list[str] | None = None
    concurrency: int | None = None
    no_cache: bool = False
    resume: str | None = None
    out: Path | None = None
    quiet: bool = False
    fsync: bool = True
    workers: int | None = None  # replay processes; None: as many as pay for themselves (shards.plan_workers)
    keep_lock: bool = False  # the run folder stays locked after run_eval, until RunOutcome.release (the CLI's report)
    opa_url: str | None = None  # the action policy on this OPA server instead of the embedded engine


@dataclass
class RunOutcome:
    """What a run produced; the report/gate step reads it (and the files in run_dir)."""

    run_dir: Path
    manifest: RunManifest
    rows: list[ResultRow]
    counts: RunCounts = field(default_factory=RunCounts)
    loaded: LoadedEval | None = None
    folder: RunFolder | None = None  # still locked (RunOptions.keep_lock) until release()

    def simulated(self, candidate: str) -> bool:
        return any(c.simulated for c in self.manifest.candidates if c.id == candidate)

    def release(self) -> None:
        """Unlock the run folder, for another run or resume to write."""
        if self.folder is not None:
            self.folder.release()


def git_commit(root: Path) -> str | None:
    """HEAD of the project's repository, or None outside one (or without git)."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, timeout=10, check=False, text=True
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else None


def input_hashes(loaded: LoadedEval) -> tuple[dict[str, str], dict[str, str]]:
    """(hashes, per-suite tree hashes) that bind this run's evidence to its exact inputs."""
    suites = {suite.name: sha256_tree(suite.path) for suite in loaded.suites}
    combined = hashlib.sha256("".join(f"{k}\0{v}\n" for k, v in sorted(suites.items())).encode()).hexdigest()
    policies = loaded.project.policies
    hashes = {
        "spec": sha256_file(loaded.path),
        "roster": RosterLayout.resolve(Path(loaded.roster.path)).digest(),  # a file's sha256, or .claude/agents
        "suites": combined,
        "policies": policies_hash(policies),
    }
    return hashes, suites


def select_candidates(loaded: LoadedEval, wanted: list[str] | None) -> list[Candidate]:
    if not wanted:
        return list(loaded.spec.candidates)
    known = {c.id: c for c in loaded.spec.candidates}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ConfigError(
            f"not a candidate of this eval: {', '.join(unknown)}",
            field="--candidates",
            hint=f"candidates: {', '.join(known)}",
        )
    return [known[w] for w in wanted]


def _replay_here(
    loaded: LoadedEval,
    candidates: list[Candidate],
    journal: Journal,
    progress: RunProgress,
    settings: LoopSettings,
    policy: Decider,
    client: Completer | None,
    started: Callable[[], None],
    *,
    concurrency: int,
    no_cache: bool,
) -> None:
    """The whole replay on this process's event loop (small runs, injected clients, no fork)."""
    model_client: Any = client
    if client is None:
        model_client = make_client(loaded, candidates, concurrency=concurrency, no_cache=no_cache)

    async def sink(outcome: TaskOutcome) -> None:
        progress.advance(outcome.row)
        await journal.append_async(outcome.row, outcome.transcript)

    started()
    try:
        items = work_items(loaded, candidates, journal.done)
        decider = MemoDecider(policy)  # same call, same history, same answer: ask the worker once
        asyncio.run(replay(loaded, candidates, items, sink, model_client, decider, settings, concurrency))
    finally:
        if client is None:
            with contextlib.suppress(Exception):  # never mask why the replay ended
                model_client.close()


def run_eval(
    spec_path: Path,
    options: RunOptions | None = None,
    *,
    client: Completer | None = None,
    progress: RunProgress | None = None,
    on_replay: Callable[[], None] | None = None,
) -> RunOutcome:
    """Load, replay, journal and summarise one eval; returns what the report and gate steps need.

    `client` replaces the provider layer (tests; the run then stays in one process); `on_replay` runs once the
    replay has started (after any worker processes are forked), e.g. to start MLflow's logging process."""
    options = options or RunOptions()
    loaded = load_eval(spec_path)
    reports = options.out or loaded.project.reports
    folder = open_run_folder(reports, options.resume, out_given=options.out is not None)
    try:
        outcome = _run(loaded, folder, options, client=client, progress=progress, on_replay=on_replay)
    except BaseException:
        folder.abandon()
        raise
    if options.keep_lock:
        outcome.folder = folder
    else:
        folder.release()
    return outcome


def _candidates(loaded: LoadedEval, folder: RunFolder, options: RunOptions, hashes: dict[str, str]) -> list[Candidate]:
    """The candidates to replay: a resumed run's own (refused when its inputs changed since), else the options'."""
    previous = folder.previous
    if previous is None:
        return select_candidates(loaded, options.candidates or [])
    changed = [k for k, v in hashes.items() if previous.hashes.get(k) not in (None, v)]
    if changed or previous.eval_name != loaded.spec.name:
        raise ConfigError(
            f"cannot resume run {folder.run_id}: its inputs changed since ({', '.join(changed) or 'eval name'})",
            field="--resume",
            hint="start a new run instead",
        )
    return select_candidates(loaded, [c.id for c in previous.candidates])


def _manifest(
    loaded: LoadedEval,
    folder: RunFolder,
    candidates: list[Candidate],
    redactor: Redactor,
    hashes: tuple[dict[str, str], dict[str, str]],
) -> RunManifest:
    """run.json as the run starts: what runs, on which inputs (by hash), with which candidates and transports."""
    spec, previous = loaded.spec, folder.previous
    agent = loaded.roster.roster.agent(spec.agent)
    return RunManifest(
        run_id=folder.run_id,
        eval_name=spec.name,
        eval_path=loaded.project.display(loaded.path),
        agent=spec.agent,
        roster_path=loaded.project.display(Path(loaded.roster.path)),
        current_model=agent.model if agent else None,
        candidates=[
            CandidateSpec(
                id=c.id,
                params=redactor.value(c.params),  # os.environ/NAME stays a reference; credentials never
                input_cost_per_token=c.input_cost_per_token,
                output_cost_per_token=c.output_cost_per_token,
                simulated=is_simulated(c.id),
                transport=route(spec.transport, c.id, c.params),
            )
            for c in candidates
        ],
        baseline=spec.baseline,
        proposed=spec.propose,
        thresholds=spec.thresholds.model_dump(mode="json", exclude_none=True),
        repeats=spec.repeats,
        suites=hashes[1],
        hashes=hashes[0],
        task_count=loaded.task_count,
        guardrail_version=guardrail.__version__,
        git_commit=git_commit(loaded.project.root),
        started_at=previous.started_at if previous else datetime.now(UTC),
        status="running",
        max_error_rate=spec.max_error_rate,
        judge_model=spec.judge.model if spec.judge else None,
    )


@dataclass
class _Replay:
    """What one replay needs besides the eval: the journal it writes, the candidates, how it runs."""

    loaded: LoadedEval
    candidates: list[Candidate]
    journal: Journal
    progress: RunProgress
    settings: LoopSettings
    concurrency: int
    options: RunOptions

    def workers(self, client: Completer | None) -> int:
        """1 with an injected client (it cannot cross a fork), else as many as pay for themselves."""
        if client is not None:
            return 1
        loaded, candidates, done = self.loaded, self.candidates, self.journal.done
        cpu_s = replay_cpu_s(loaded, candidates, done, no_cache=self.options.no_cache)
        todo = remaining(loaded, candidates, done)
        return plan_workers(self.options.workers, todo, loaded, self.concurrency, cpu_s=cpu_s)

    def run(self, workers: int, policy: PolicyEngine, client: Completer | None, started: Callable[[], None]) -> None:
        if workers > 1:
            policy.close()  # each worker opens its own
            run_sharded(
                self.loaded,
                self.candidates,
                self.journal,
                self.progress,
                self.settings,
                workers=workers,
                concurrency=self.concurrency,
                no_cache=self.options.no_cache,
                started=started,
                opa_url=self.options.opa_url,
            )
        else:
            _replay_here(
                self.loaded,
                self.candidates,
                self.journal,
                self.progress,
                self.settings,
                policy,
                client,
                started,
                concurrency=self.concurrency,
                no_cache=self.options.no_cache,
            )


def _run(
    loaded: LoadedEval,
    folder: RunFolder,
    options: RunOptions,
    *,
    client: Completer | None,
    progress: RunProgress | None,
    on_replay: Callable[[], None] | None,
) -> RunOutcome:
    """run_eval in its locked run folder: run.json first, the journal as tasks finish, run.json's status last."""
    spec = loaded.spec
    hashes = input_hashes(loaded)
    candidates = _candidates(loaded, folder, options, hashes[0])
    check_environment(loaded, candidates)
    redactor = run_redactor(loaded)
    if spec.judge is not None:  # optional LLM-judge metrics: check the names, load deepeval before any deadline
        from guardrail.adapters import judge

        judge.validate(spec.judge, path=loaded.project.display(loaded.path))
        judge.preload()
    policy = open_policy(loaded, opa_url=options.opa_url)
    manifest = _manifest(loaded, folder, candidates, redactor, hashes)
    progress = progress or RunProgress.live(quiet=options.quiet)
    journal: Journal | None = None
    status = "failed"
    try:
        journal = Journal(folder.path, fsync=options.fsync)
        settings = LoopSettings(
            run_id=folder.run_id, max_steps=spec.max_steps, timeout_s=spec.timeout_s, seed=spec.seed, redactor=redactor
        )
        replay_ = _Replay(
            loaded, candidates, journal, progress, settings, options.concurrency or spec.concurrency, options
        )
        workers = replay_.workers(client)
        manifest = manifest.model_copy(update={"workers": workers})
        folder.write_manifest(manifest)
        total, done = loaded.task_count * len(candidates) * spec.repeats, len(journal.done)

        def started() -> None:
            progress.start(total, done=done)
            if on_replay is not None:
                on_replay()

        try:
            replay_.run(workers, policy, client, started)
        finally:
            progress.close()
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        policy.close()
        if journal is not None:
            closing: CouldNotFinish | None = None
            try:
                journal.close()
            except CouldNotFinish as exc:  # the last flush failed (a full disk): the run did not finish
                closing = exc if status == "finished" else None
                status = "failed"
            manifest = manifest.model_copy(update={"status": status, "finished_at": datetime.now(UTC)})
            # quietly when another error is on its way out: marking run.json must not hide why the run stopped
            folder.finish(manifest, quietly=status != "finished")
            if closing is not None:
                raise closing
    rows = journal.rows
    return RunOutcome(run_dir=folder.path, manifest=manifest, rows=rows, counts=count_rows(rows), loaded=loaded)


def over_error_budget(outcome: RunOutcome) -> dict[str, float]:
    """Candidates whose error rate exceeds the spec's max_error_rate (the run could not judge them)."""
    limit = outcome.manifest.max_error_rate
    if limit is None:
        return {}
    return {
        candidate: entry.error_rate
        for candidate, entry in outcome.counts.candidates.items()
        if entry.tasks and entry.error_rate > limit
    }


def check_error_budget(outcome: RunOutcome) -> None:
    """Raise TooManyErrors (exit 3) when a candidate crossed the error budget: its scores are not usable."""
    over = over_error_budget(outcome)
    if over:
        listed = ", ".join(f"{c} {rate:.1%}" for c, rate in sorted(over.items()))
        raise TooManyErrors(
            f"too many task errors (limit {outcome.manifest.max_error_rate:.0%}): {listed}",
            hint=f"error rows are in {outcome.run_dir / 'results.jsonl'}; fix the provider and run again",
        )


__all__ = [
    "RunOptions",
    "RunOutcome",
    "check_error_budget",
    "new_run_id",
    "over_error_budget",
    "run_eval",
]
