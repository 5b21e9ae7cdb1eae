"""The replay engine: one event loop runs a fixed pool of workers that pull (task, candidate, repeat) items from a
lazy iterator, run the agent loop on each and hand the outcome to a sink (the journal, or the pipe to the parent
when the run is split across processes, see `app/shards.py`). 20,000 tasks cost no more memory than 20.

The policy engine is synchronous and single-threaded; it is only called from this loop's thread.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from guardrail.adapters.journal import RowKey
from guardrail.adapters.rego import PolicyEngine
from guardrail.adapters.suites import LoadedEval, Suite
from guardrail.app.agent_loop import (
    AgentContext,
    Completer,
    Decider,
    LoopSettings,
    TaskOutcome,
    first_request,
    run_task,
)
from guardrail.app.engine import load_policies, open_engine
from guardrail.app.redaction import redact_outcome
from guardrail.core.llm import provider_of
from guardrail.core.results import ResultRow
from guardrail.core.suite import Candidate, Judge, RateLimit, Task
from guardrail.errors import ConfigError, CouldNotFinish, PolicyError, ProviderError

ACTION_PACKAGE = "data.action"
FAIL_FAST_TASKS = 8  # a candidate whose first this many tasks all end in an error stops the run
Sink = Callable[[TaskOutcome], Awaitable[None]]


class FailFast:
    """Stops a run as soon as a candidate is plainly broken: its first FAIL_FAST_TASKS tasks all ended in an error
    (after retries), as with a wrong model id, an unreachable api_base or a bad key. Without it every task would be
    replayed into an error row and the cause would only be in results.jsonl; with it the cause is on the console
    and the rows so far are kept (`--resume` after the fix). A candidate that answered once is never stopped here:
    the spec's `max_error_rate` judges it at the end."""

    def __init__(self, loaded: LoadedEval, tasks: int = FAIL_FAST_TASKS) -> None:
        self.where = loaded.project.display(loaded.path)
        self.tasks = tasks
        self.errors: dict[str, int] = {}  # per candidate that has not answered yet: error rows so far
        self.answered: set[str] = set()

    def check(self, row: ResultRow) -> None:
        """Called with every finished row; raises when its candidate has failed on all of its first tasks."""
        if row.candidate in self.answered:
            return
        if row.status != "error":
            self.answered.add(row.candidate)
            return
        self.errors[row.candidate] = failed = self.errors.get(row.candidate, 0) + 1
        if failed < self.tasks:
            return
        message = f"{row.candidate}: its first {failed} tasks all failed ({row.error_kind}): {row.error}"
        hint = "the rows so far are kept; fix the candidate, then run again (or --resume RUN_ID)"
        if row.error_kind in ("bad_request", "auth"):  # the request or its key is wrong: fixing the spec fixes it
            raise ConfigError(
                message, path=self.where, field="candidates", hint=f"check its model id and params; {hint}"
            )
        raise ProviderError(message, hint=f"is its api_base right and the server up? {hint}")


def open_policy(loaded: LoadedEval, *, opa_url: str | None = None) -> PolicyEngine:
    """The action policy in a worker that ignores Ctrl-C, so an interrupt cannot kill it mid-query."""
    bundle = load_policies(loaded.project.policies, display_root=loaded.project.root)
    previous = signal.getsignal(signal.SIGINT)
    in_main = True
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to inherit
        in_main = False
    try:
        worker = open_engine(bundle, opa_url=opa_url)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    if ACTION_PACKAGE not in worker.packages():
        worker.close()
        raise PolicyError(
            f"{loaded.project.display(loaded.project.policies)}: no action policy (package action), "
            "so access limits cannot be enforced during replay",
            hint="add policies/action/*.rego defining data.action.deny",
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
    """The provider layer: cache, throttle and retry in front of the transports (the spec's `transport`). No
    transport is set up here: each imports what it needs at its first request, so a run answered from the cache
    never imports litellm. `concurrency` is this process's own; `shards` > 1: this process is one of that many
    sharing the spec's rate limits."""
    from guardrail.adapters.cache import ResponseCache
    from guardrail.adapters.model_client import ModelClient
    from guardrail.adapters.transport import Transport

    spec = loaded.spec
    cache = None if no_cache else ResponseCache(cache_path(loaded))
    return ModelClient(
        cache=cache,
        limits=share_of(spec.rate_limits, shards),
        default_concurrency=concurrency,
        transport=Transport(spec.transport),
        prices=spec_prices(candidates),
    )


def cache_path(loaded: LoadedEval) -> Path:
    return loaded.project.cache / "responses.sqlite"


def spec_prices(candidates: list[Candidate]) -> dict[str, tuple[float, float]]:
    """Per-token prices the spec gives (a missing side counts 0), for the candidates that give any."""
    return {
        c.id: (c.input_cost_per_token or 0.0, c.output_cost_per_token or 0.0)
        for c in candidates
        if c.input_cost_per_token is not None or c.output_cost_per_token is not None
    }


def uncached_items(
    loaded: LoadedEval, candidates: list[Candidate], done: AbstractSet[RowKey], *, no_cache: bool, sample: int = 48
) -> dict[str, int]:
    """Per candidate, about how many of the items left will ask its model: the response cache is asked for the
    first request of an even sample of each candidate's items (a few milliseconds). Plans the run (processes, what
    to import before forking); the replay itself never relies on it."""
    from guardrail.adapters.cache import ResponseCache

    left = {c.id: n for c, n in zip(candidates, _left(loaded, candidates, done), strict=True)}
    path = cache_path(loaded)
    if no_cache or not path.is_file():
        return left
    spec = loaded.spec
    settings = LoopSettings(run_id="", max_steps=spec.max_steps, timeout_s=spec.timeout_s, seed=spec.seed)
    each = max(1, sample // max(1, len(candidates)))
    calling = dict(left)
    try:
        with ResponseCache(path) as cache:
            for candidate in candidates:
                items = work_items(loaded, [candidate], done)
                asked = missed = 0
                for suite, task, _, repeat in itertools.islice(items, 0, None, max(1, left[candidate.id] // each)):
                    _, request = first_request(task, suite.openai_tools(task.tools), candidate, repeat, settings)
                    asked += 1
                    missed += cache.get(request) is None
                if asked:
                    calling[candidate.id] = round(left[candidate.id] * missed / asked)
    except (CouldNotFinish, sqlite3.Error):  # an unreadable cache: the replay reports it, with its remedy
        return left
    return calling


# Runner CPU per task-evaluation by how its model is reached (bench/bench_cli.py: replay CPU / items on this 2-core
# machine; agent loop, policy, scoring, journal included): a cached answer, the direct OpenAI-compatible client, or
# litellm (simulated models too), which spends 5-8 ms of its own per call.
ITEM_CPU_S: dict[str, float] = {"cached": 0.0005, "openai-compatible": 0.0015, "litellm": 0.008}


def replay_cpu_s(
    loaded: LoadedEval, candidates: list[Candidate], done: AbstractSet[RowKey], *, no_cache: bool
) -> float:
    """About how much CPU replaying the items left will cost this runner: what plans its worker processes."""
    from guardrail.adapters.transport import route

    left = {c.id: n for c, n in zip(candidates, _left(loaded, candidates, done), strict=True)}
    calling = uncached_items(loaded, candidates, done, no_cache=no_cache)
    return sum(
        calling[c.id] * ITEM_CPU_S[route(loaded.spec.transport, c.id, c.params)]
        + (left[c.id] - calling[c.id]) * ITEM_CPU_S["cached"]
        for c in candidates
    )


def warm_provider(
    loaded: LoadedEval, candidates: list[Candidate], done: AbstractSet[RowKey], *, no_cache: bool
) -> None:
    """Before forking: import and register once what the transports of candidates that will call their model need
    (litellm: seconds), so the workers share it instead of each paying for it."""
    from guardrail.adapters.transport import Transport

    calling = uncached_items(loaded, candidates, done, no_cache=no_cache)
    wanted = [(c.id, c.params) for c in candidates if calling[c.id]]
    Transport(loaded.spec.transport).warm(wanted, spec_prices(candidates))


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


def _left(loaded: LoadedEval, candidates: list[Candidate], done: AbstractSet[RowKey]) -> list[int]:
    """Items still to do, per candidate."""
    each = loaded.task_count * loaded.spec.repeats
    return [each - sum(1 for key in done if key[2] == c.id) for c in candidates]


def remaining(loaded: LoadedEval, candidates: list[Candidate], done: AbstractSet[RowKey]) -> int:
    """How many items a run (or resumed run) still has to do."""
    return sum(_left(loaded, candidates, done))


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
    fail_fast = FailFast(loaded)

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
            fail_fast.check(outcome.row)

    # concurrency is per provider (the client's throttle holds each one to it), so the pool spans them all
    providers = {provider_of(c.id) for c in candidates}
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
    "FAIL_FAST_TASKS",
    "ITEM_CPU_S",
    "FailFast",
    "Sink",
    "cache_path",
    "make_client",
    "open_policy",
    "remaining",
    "replay",
    "replay_cpu_s",
    "share_of",
    "spec_prices",
    "uncached_items",
    "warm_provider",
    "work_items",
]
