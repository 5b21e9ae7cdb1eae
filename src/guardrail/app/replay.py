"""The replay engine: one event loop runs a fixed pool of workers that pull (task, candidate, repeat) items from a
lazy iterator, run the agent loop on each and hand the outcome to a sink (the journal, or the pipe to the parent
when the run is split across processes, see `app/shards.py`). 20,000 tasks cost no more memory than 20.

The policy engine is synchronous and single-threaded; it is only called from this loop's thread.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import Awaitable, Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from guardrail.adapters.journal import RowKey
from guardrail.adapters.rego import EngineWorker, load_bundle
from guardrail.adapters.suites import LoadedEval, Suite
from guardrail.app.agent_loop import AgentContext, Completer, Decider, LoopSettings, TaskOutcome, run_task
from guardrail.app.redaction import redact_outcome
from guardrail.core.suite import Candidate, Judge, RateLimit, Task
from guardrail.errors import PolicyError

ACTION_PACKAGE = "data.action"
Sink = Callable[[TaskOutcome], Awaitable[None]]


def open_policy(loaded: LoadedEval) -> EngineWorker:
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


def share_of(limits: Mapping[str, RateLimit], shards: int) -> dict[str, RateLimit]:
    """Each of `shards` processes' part of every provider budget: together they never exceed the spec's."""
    if shards == 1:
        return dict(limits)
    return {
        provider: RateLimit(
            rpm=max(1, limit.rpm // shards) if limit.rpm else None,
            tpm=max(1, limit.tpm // shards) if limit.tpm else None,
            concurrency=max(1, limit.concurrency // shards) if limit.concurrency else None,
        )
        for provider, limit in limits.items()
    }


def make_client(
    loaded: LoadedEval, candidates: list[Candidate], *, concurrency: int, no_cache: bool, shards: int = 1
) -> Any:
    """The provider layer: litellm or the direct OpenAI-compatible client (the spec's `transport`) behind cache,
    throttle and retry; simulated models registered when used.
    `concurrency` is this process's own; `shards` > 1: this process is one of that many sharing the spec's rate
    limits."""
    from guardrail.adapters.cache import ResponseCache
    from guardrail.adapters.model_client import ModelClient
    from guardrail.adapters.transport import Transport

    preload_provider(candidates)
    spec = loaded.spec
    cache = None if no_cache else ResponseCache(cache_path(loaded))
    return ModelClient(
        cache=cache,
        limits=share_of(spec.rate_limits, shards),
        default_concurrency=concurrency,
        transport=Transport(spec.transport),
        prices={
            c.id: (c.input_cost_per_token, c.output_cost_per_token)
            for c in candidates
            if c.input_cost_per_token is not None or c.output_cost_per_token is not None
        },
    )


def cache_path(loaded: LoadedEval) -> Path:
    return loaded.project.cache / "responses.sqlite"


def preload_provider(candidates: list[Candidate]) -> None:
    """litellm imported and told about our models: seconds of lazy imports, paid before any deadline starts (and
    before the run forks its worker processes, which then share them)."""
    from guardrail.adapters import llm

    llm.preload()
    if any(c.id.startswith("sim/") for c in candidates):
        from guardrail.adapters import sim

        sim.register()
    register_prices(candidates)


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


def work_items(
    loaded: LoadedEval,
    candidates: list[Candidate],
    done: AbstractSet[RowKey],
    *,
    shard: int = 0,
    shards: int = 1,
) -> Iterator[tuple[Suite, Task, Candidate, int]]:
    """Items still to do, candidates interleaved so every provider is busy from the start; shard `shard` of
    `shards` takes every shards-th of them, so each process gets the same mix of candidates and tasks."""
    items = (
        (suite, task, candidate, repeat)
        for repeat in range(loaded.spec.repeats)
        for suite in loaded.suites
        for task in suite.tasks
        for candidate in candidates
        if (suite.name, task.id, candidate.id, repeat) not in done
    )
    return itertools.islice(items, shard, None, shards)


def remaining(loaded: LoadedEval, candidates: list[Candidate], done: AbstractSet[RowKey]) -> int:
    """How many items a run (or resumed run) still has to do."""
    total = loaded.task_count * len(candidates) * loaded.spec.repeats
    keys = {c.id for c in candidates}
    return total - sum(1 for key in done if key[2] in keys)


async def replay(
    loaded: LoadedEval,
    candidates: list[Candidate],
    items: Iterator[tuple[Suite, Task, Candidate, int]],
    sink: Sink,
    client: Completer,
    policy: Decider,
    settings: LoopSettings,
    concurrency: int,
) -> None:
    """Run every item through the agent loop (and the judge, when the spec names one); each outcome goes to
    `sink` as it finishes."""
    spec = loaded.spec
    roster = loaded.roster.roster
    contexts: dict[str, AgentContext] = {}
    tool_schemas: dict[tuple[str, str], list[dict[str, Any]]] = {}

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
            if settings.redactor is not None:  # before anything is written (app/redaction.py)
                outcome = redact_outcome(outcome, settings.redactor, task)
            await sink(outcome)

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
    from guardrail.adapters.judge import JudgeUsage, judge_checks

    usage = JudgeUsage()
    answer = outcome.transcript.get("answer")
    checks = await judge_checks(judge, task, answer, client, timeout_s=timeout_s, usage=usage)
    update = {"checks": [*outcome.row.checks, *checks], "judge_calls": usage.calls, "judge_cost_usd": usage.cost_usd}
    row = outcome.row.model_copy(update=update)
    return TaskOutcome(row=row, transcript={**outcome.transcript, "judge": [c.model_dump() for c in checks]})


__all__ = [
    "ACTION_PACKAGE",
    "Sink",
    "cache_path",
    "make_client",
    "open_policy",
    "preload_provider",
    "register_prices",
    "remaining",
    "replay",
    "share_of",
    "work_items",
]
