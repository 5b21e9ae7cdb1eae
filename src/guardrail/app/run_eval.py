"""`guardrail run`: replay an eval's suites on every candidate, score each task, journal it, write the run
folder.

The run folder `reports/<run-id>/` holds run.json (what ran, on which inputs, by hash), results.jsonl (the
journal: one row per (suite, task, candidate, repeat), fsynced as each finishes), transcripts.jsonl and
summary.json. `--resume RUN_ID` replays only the keys the journal lacks, so a killed run ends with exactly one
row per key.

Work runs on one event loop: a fixed pool of workers pulls (task, candidate, repeat) items from a lazy
iterator, so 20,000 tasks cost no more memory than 20. The policy engine is synchronous and single-threaded;
it is only called from this loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import guardrail
from guardrail.adapters.journal import Journal, write_json_atomic
from guardrail.adapters.rego import EngineWorker, load_bundle
from guardrail.adapters.suites import LoadedEval, Suite, load_eval
from guardrail.app.agent_loop import (
    AgentContext,
    Completer,
    Decider,
    LoopSettings,
    MemoDecider,
    TaskOutcome,
    run_task,
)
from guardrail.app.progress import RunProgress
from guardrail.core.hashing import policies_hash, sha256_file, sha256_tree
from guardrail.core.results import CandidateSpec, ResultRow, RunManifest
from guardrail.core.scoring import count_summary
from guardrail.core.suite import Candidate, Judge, Task
from guardrail.errors import ConfigError, PolicyError, TooManyErrors

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
ACTION_PACKAGE = "data.action"
_SECRET_PARAM = re.compile(r"(?i)key|token|secret|password|auth|header|cookie")  # never written to run.json


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


@dataclass
class RunOutcome:
    """What a run produced; the report/gate step reads it (and the files in run_dir)."""

    run_dir: Path
    manifest: RunManifest
    rows: list[ResultRow]
    summary: dict[str, Any] = field(default_factory=dict)
    loaded: LoadedEval | None = None

    def simulated(self, candidate: str) -> bool:
        return any(c.simulated for c in self.manifest.candidates if c.id == candidate)


def new_run_id() -> str:
    """UTC timestamp + short random: sortable, and unique when two runs start in the same second."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


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
        "roster": sha256_file(Path(loaded.roster.path)),
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


def _open_policy(loaded: LoadedEval) -> EngineWorker:
    """The action policy in a worker that ignores Ctrl-C, so an interrupt cannot kill it mid-query."""
    bundle = load_bundle(loaded.project.policies, include_tests=False, display_root=loaded.project.root)
    previous = signal.getsignal(signal.SIGINT)
    in_main = True
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to inherit
        in_main = False
    try:
        worker = EngineWorker(bundle)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    if ACTION_PACKAGE not in worker.packages():
        worker.close()
        raise PolicyError(
            f"{loaded.project.display(loaded.project.policies)}: no action policy (package action), "
            "so access limits cannot be enforced during replay",
            hint="add policies/action/*.rego defining data.action.decision",
        )
    return worker


def make_client(loaded: LoadedEval, candidates: list[Candidate], options: RunOptions) -> Any:
    """The provider layer: litellm behind cache, throttle and retry; simulated models registered when used."""
    from guardrail.adapters import llm
    from guardrail.adapters.cache import ResponseCache
    from guardrail.adapters.model_client import ModelClient

    llm.preload()  # seconds of lazy SDK imports, paid here rather than inside the first calls' deadlines

    if any(c.id.startswith("sim/") for c in candidates):
        from guardrail.adapters import sim

        sim.register()
    register_prices(candidates)
    spec = loaded.spec
    cache = None if options.no_cache else ResponseCache(loaded.project.cache / "responses.sqlite")
    return ModelClient(
        cache=cache,
        limits=spec.rate_limits,
        default_concurrency=options.concurrency or spec.concurrency,
        prices={
            c.id: (c.input_cost_per_token, c.output_cost_per_token)
            for c in candidates
            if c.input_cost_per_token is not None or c.output_cost_per_token is not None
        },
    )


def register_prices(candidates: list[Candidate]) -> None:
    """Tell litellm the per-token prices the spec gives, so its own bookkeeping agrees with ours and skips a slow
    search through its price list for a model it does not know (about a third of its per-call CPU here)."""
    priced = {
        c.id: {
            "input_cost_per_token": c.input_cost_per_token or 0.0,
            "output_cost_per_token": c.output_cost_per_token or 0.0,
            "litellm_provider": c.id.split("/", 1)[0] if "/" in c.id else "openai",
            "mode": "chat",
            "cache_creation_input_token_cost": 0.0,  # stated so litellm does not warn about them on stderr
            "cache_read_input_token_cost": 0.0,
        }
        for c in candidates
        if not c.id.startswith("sim/") and (c.input_cost_per_token is not None or c.output_cost_per_token is not None)
    }
    if priced:
        import litellm

        litellm.register_model(priced)


def _work(
    suites: list[Suite], candidates: list[Candidate], repeats: int, done: set[tuple[str, str, str, int]]
) -> Iterator[tuple[Suite, Task, Candidate, int]]:
    """Items still to do, candidates interleaved so every provider is busy from the start."""
    for repeat in range(repeats):
        for suite in suites:
            for task in suite.tasks:
                for candidate in candidates:
                    if (suite.name, task.id, candidate.id, repeat) not in done:
                        yield suite, task, candidate, repeat


async def _replay(
    loaded: LoadedEval,
    candidates: list[Candidate],
    journal: Journal,
    client: Completer,
    policy: Decider,
    settings: LoopSettings,
    concurrency: int,
    progress: RunProgress,
) -> None:
    spec = loaded.spec
    roster = loaded.roster.roster
    contexts: dict[str, AgentContext] = {}
    tool_schemas: dict[tuple[str, str], list[dict[str, Any]]] = {}
    items = _work(loaded.suites, candidates, spec.repeats, set(journal.done))

    async def worker() -> None:
        for suite, task, candidate, repeat in items:
            agent = task.agent or spec.agent
            if agent not in contexts:
                contexts[agent] = AgentContext.from_roster(roster, agent)
            schema_key = (suite.name, task.id)
            tools = tool_schemas.get(schema_key)
            if tools is None:
                tools = suite.openai_tools(task.tools)
                if len(tool_schemas) < 4096:  # tasks repeat across candidates; keep memory flat on huge suites
                    tool_schemas[schema_key] = tools
            outcome = await run_task(
                task=task,
                suite=suite.name,
                tools=tools,
                candidate=candidate,
                repeat=repeat,
                client=client,
                policy=policy,
                context=contexts[agent],
                settings=settings,
            )
            if spec.judge is not None and outcome.row.status != "error":
                outcome = await _with_judge(spec.judge, task, outcome, client, settings.timeout_s)
            progress.advance(outcome.row)
            await journal.append_async(outcome.row, outcome.transcript)

    # concurrency is per provider (the client's throttle holds each one to it), so the pool spans them all
    providers = {c.id.split("/", 1)[0] for c in candidates}
    workers = [asyncio.create_task(worker()) for _ in range(max(1, concurrency * len(providers)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _with_judge(
    judge: Judge, task: Task, outcome: TaskOutcome, client: Completer, timeout_s: float
) -> TaskOutcome:
    """The row with the spec's LLM-judge checks appended. They are reported, never gated: the row's status stays
    the deterministic verdict, and a judge failure is an unscored check, not an error row."""
    from guardrail.adapters.judge import judge_checks

    checks = await judge_checks(judge, task, outcome.transcript.get("answer"), client, timeout_s=timeout_s)
    row = outcome.row.model_copy(update={"checks": [*outcome.row.checks, *checks]})
    return TaskOutcome(row=row, transcript={**outcome.transcript, "judge": [c.model_dump() for c in checks]})


def _prepare_dir(loaded: LoadedEval, options: RunOptions) -> tuple[str, Path, RunManifest | None]:
    out = options.out or loaded.project.reports
    if options.resume:
        run_dir = out / options.resume
        manifest_path = run_dir / RUN_FILE
        if not manifest_path.is_file():
            raise ConfigError(
                f"no run {options.resume!r} to resume (no {RUN_FILE})", path=str(run_dir), field="--resume"
            )
        try:
            previous = RunManifest.model_validate_json(manifest_path.read_bytes())
        except ValueError as exc:
            raise ConfigError(f"unreadable run manifest: {exc}", path=str(manifest_path)) from None
        return options.resume, run_dir, previous
    run_id = new_run_id()
    return run_id, out / run_id, None


def run_eval(
    spec_path: Path,
    options: RunOptions | None = None,
    *,
    client: Completer | None = None,
    progress: RunProgress | None = None,
) -> RunOutcome:
    """Load, replay, journal and summarise one eval; returns what the report and gate steps need."""
    options = options or RunOptions()
    loaded = load_eval(spec_path)
    spec = loaded.spec
    run_id, run_dir, previous = _prepare_dir(loaded, options)
    hashes, suite_hashes = input_hashes(loaded)
    if previous is not None:
        changed = [k for k, v in hashes.items() if previous.hashes.get(k) not in (None, v)]
        if changed or previous.eval_name != spec.name:
            raise ConfigError(
                f"cannot resume run {run_id}: its inputs changed since ({', '.join(changed) or 'eval name'})",
                field="--resume",
                hint="start a new run instead",
            )
        wanted = [c.id for c in previous.candidates]
    else:
        wanted = options.candidates or []
    candidates = select_candidates(loaded, wanted)
    if spec.judge is not None:  # optional LLM-judge metrics: check the names, load deepeval before any deadline
        from guardrail.adapters import judge

        judge.validate(spec.judge, path=loaded.project.display(loaded.path))
        judge.preload()
    concurrency = options.concurrency or spec.concurrency
    policy = _open_policy(loaded)
    agent = loaded.roster.roster.agent(spec.agent)
    now = datetime.now(UTC)
    manifest = RunManifest(
        run_id=run_id,
        eval_name=spec.name,
        eval_path=loaded.project.display(loaded.path),
        agent=spec.agent,
        roster_path=loaded.project.display(Path(loaded.roster.path)),
        current_model=agent.model if agent else None,
        candidates=[
            CandidateSpec(
                id=c.id,
                params={k: v for k, v in c.params.items() if not _SECRET_PARAM.search(k)},
                input_cost_per_token=c.input_cost_per_token,
                output_cost_per_token=c.output_cost_per_token,
                simulated=c.id.startswith("sim/"),
            )
            for c in candidates
        ],
        baseline=spec.baseline,
        proposed=spec.propose,
        thresholds=spec.thresholds.model_dump(mode="json", exclude_none=True),
        repeats=spec.repeats,
        suites=suite_hashes,
        hashes=hashes,
        task_count=loaded.task_count,
        guardrail_version=guardrail.__version__,
        git_commit=git_commit(loaded.project.root),
        started_at=previous.started_at if previous else now,
        status="running",
        max_error_rate=spec.max_error_rate,
        judge_model=spec.judge.model if spec.judge else None,
    )
    progress = progress or RunProgress.live(quiet=options.quiet)
    journal: Journal | None = None
    status = "failed"
    try:
        journal = Journal(run_dir, fsync=options.fsync)
        write_json_atomic(run_dir / RUN_FILE, manifest.model_dump(mode="json"))
        total = loaded.task_count * len(candidates) * spec.repeats
        settings = LoopSettings(run_id=run_id, max_steps=spec.max_steps, timeout_s=spec.timeout_s, seed=spec.seed)
        model_client = client if client is not None else make_client(loaded, candidates, options)
        progress.start(total, done=len(journal.done))
        try:
            decider = MemoDecider(policy)  # same call, same history, same answer: ask the worker once
            asyncio.run(_replay(loaded, candidates, journal, model_client, decider, settings, concurrency, progress))
        finally:
            progress.close()
            closer = getattr(model_client, "close", None)
            if client is None and callable(closer):
                with contextlib.suppress(Exception):
                    result = closer()
                    if asyncio.iscoroutine(result):
                        asyncio.run(result)
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        policy.close()
        if journal is not None:
            journal.close()
            manifest = manifest.model_copy(update={"status": status, "finished_at": datetime.now(UTC)})
            if run_dir.is_dir():
                write_json_atomic(run_dir / RUN_FILE, manifest.model_dump(mode="json"))
                write_json_atomic(run_dir / SUMMARY_FILE, summary_document(manifest, journal.rows))
    rows = journal.rows
    return RunOutcome(
        run_dir=run_dir, manifest=manifest, rows=rows, summary=summary_document(manifest, rows), loaded=loaded
    )


def summary_document(manifest: RunManifest, rows: list[ResultRow]) -> dict[str, Any]:
    """summary.json: count_summary per candidate plus what the run was; versioned."""
    summary = count_summary(rows)
    for spec in manifest.candidates:
        entry = summary["candidates"].setdefault(spec.id, {"tasks": 0})
        entry["simulated"] = spec.simulated or bool(entry.get("simulated"))
        entry["label"] = f"{spec.id} (simulated)" if entry["simulated"] else spec.id
    summary.update(
        {
            "run_id": manifest.run_id,
            "eval": manifest.eval_name,
            "status": manifest.status,
            "expected_rows": manifest.task_count * len(manifest.candidates) * manifest.repeats,
            "rows": len(rows),
        }
    )
    return summary


def over_error_budget(outcome: RunOutcome) -> dict[str, float]:
    """Candidates whose error rate exceeds the spec's max_error_rate (the run could not judge them)."""
    limit = outcome.manifest.max_error_rate
    if limit is None:
        return {}
    return {
        candidate: entry["error_rate"]
        for candidate, entry in outcome.summary["candidates"].items()
        if entry.get("tasks") and entry["error_rate"] > limit
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
    "make_client",
    "new_run_id",
    "over_error_budget",
    "run_eval",
    "summary_document",
]
