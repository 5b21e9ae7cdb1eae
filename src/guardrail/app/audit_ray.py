"""`guardrail audit --engine ray`: the same normalisation and policy evaluation as Ray Data tasks.

    files --read_blocks--> observations (one task per file, adapters/traces as in the embedded path)
          --groupby(trace)--> events, one whole trace per group (audit_stream.assemble_trace)
          --map_batches(PolicyJudge, one actor per worker)--> the action policy's violations per event
          --sort(time)--> the driver's tallies (the same Tally as the embedded path)

Each actor builds one regorus engine from the policy bundle, which Ray ships to it once (constructor argument);
calls are judged in batches by the action policy (`data.action.deny`), as embedded. Rows carry pickled records (Arrow
cannot hold arguments whose keys differ from call to call). A local Ray is started for the call, bound to
127.0.0.1, without its dashboard or usage stats; `address` joins an existing cluster instead.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from guardrail.adapters import ray_data
from guardrail.adapters.rego import PolicyBundle, RegoEngine
from guardrail.app.audit_policy import BATCH_SIZE, BatchJudge
from guardrail.app.audit_stream import (
    History,
    Judgeable,
    TraceAssembler,
    TraceState,
    Window,
    assemble_trace,
    trace_key,
)
from guardrail.core.audit import TraceEvent
from guardrail.errors import CouldNotFinish

_SEQ = 1_000_000_000  # records per file, for a global arrival order (file index, record index)


class RayCounters:
    """What the driver learns besides events: records per source, events outside the window, start-up time."""

    def __init__(self) -> None:
        self.by_source: dict[str, int] = {}
        self.outside_window = 0
        self.startup_s = 0.0


def _read(row: dict[str, Any]) -> Iterator[dict[str, Any]]:
    from guardrail.adapters.traces import observations

    base = int(row["index"]) * _SEQ
    for n, observation in enumerate(observations(Path(row["path"]))):
        yield {"key": trace_key(observation), "seq": base + n, "obs": pickle.dumps(observation)}


def _assemble(
    group: Mapping[str, Any], aliases: dict[str, str], default_agent: str | None, window: Window
) -> dict[str, Any]:
    items = sorted(zip(group["seq"], group["obs"], strict=True), key=lambda item: int(item[0]))
    observations = [pickle.loads(blob) for _, blob in items]
    owner = TraceAssembler(aliases, default_agent=default_agent, window=window)
    for o in observations:
        owner.by_source[o.source] = owner.by_source.get(o.source, 0) + 1
    events = list(assemble_trace(observations, TraceState(), owner))
    meta = pickle.dumps((owner.by_source, owner.outside_window))
    return {
        "time": [j.event.time.timestamp() for j in events] + [0.0],
        "item": [pickle.dumps((j.event.model_dump(), j.history.calls)) for j in events] + [b""],
        "meta": [b""] * len(events) + [meta],
    }


class PolicyJudge:
    """One regorus engine per Ray worker; the bundle arrives once, with the actor. A regorus engine is bound to the
    thread that made it and Ray may call an actor from another thread than the one that built it, so the engine is
    built on first use, in the calling thread."""

    def __init__(self, bundle: PolicyBundle, contexts: dict[str, dict[str, Any]]) -> None:
        os.environ["RUST_BACKTRACE"] = "0"
        self.bundle, self.contexts = bundle, contexts
        self.local = threading.local()

    @property
    def judge(self) -> BatchJudge:
        judge = getattr(self.local, "judge", None)
        if judge is None:
            judge = self.local.judge = BatchJudge(RegoEngine(self.bundle), self.contexts)
        return judge

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        items: list[Judgeable | None] = []
        for blob in batch["item"]:
            if blob:
                data, history = pickle.loads(blob)
                items.append(Judgeable(TraceEvent.model_validate(data), History.of(history)))
            else:
                items.append(None)
        decided = iter(self.judge.verdicts([j for j in items if j is not None]))
        verdicts = [b"" if j is None or (verdict := next(decided)) is None else pickle.dumps(verdict) for j in items]
        return {
            "time": list(batch["time"]),
            "item": list(batch["item"]),
            "meta": list(batch["meta"]),
            "verdict": verdicts,
        }


def ray_judged_events(
    files: list[Path],
    *,
    bundle: PolicyBundle,
    contexts: dict[str, dict[str, Any]],
    aliases: dict[str, str],
    default_agent: str | None,
    window: Window,
    address: str | None = None,
    workers: int | None = None,
) -> tuple[Iterator[tuple[TraceEvent, list[dict[str, Any]] | None]], RayCounters]:
    """The events of `files` with their violations, from Ray Data tasks; counters fill as the stream is read."""
    counters = RayCounters()
    started = time.perf_counter()
    pool = ray_data.start(address, workers)
    counters.startup_s = time.perf_counter() - started
    rows = ray_data.grouped_pipeline(
        [{"path": str(p), "index": i} for i, p in enumerate(files)],
        read=_read,
        key="key",
        assemble=_assemble,
        assemble_kwargs={"aliases": aliases, "default_agent": default_agent, "window": window},
        judge=PolicyJudge,
        judge_kwargs={"bundle": bundle, "contexts": contexts},
        batch_size=BATCH_SIZE,
        workers=pool,
        sort="time",
    )
    return _drain(rows, counters), counters


def _drain(
    rows: Iterator[dict[str, Any]], counters: RayCounters
) -> Iterator[tuple[TraceEvent, list[dict[str, Any]] | None]]:
    try:
        yield from _events(rows, counters)
    finally:
        ray_data.shutdown()  # a local Ray and every process it started end with the audit (a cluster stays up)


def _events(
    rows: Iterator[dict[str, Any]], counters: RayCounters
) -> Iterator[tuple[TraceEvent, list[dict[str, Any]] | None]]:
    try:
        for row in rows:
            if row["meta"]:
                by_source, outside = pickle.loads(row["meta"])
                for source, n in by_source.items():
                    counters.by_source[source] = counters.by_source.get(source, 0) + n
                counters.outside_window += outside
                continue
            data, _ = pickle.loads(row["item"])
            yield TraceEvent.model_validate(data), pickle.loads(row["verdict"]) if row["verdict"] else None
    except Exception as exc:
        from guardrail.errors import GuardrailError

        cause = _guardrail_cause(exc)
        if cause is not None:
            raise cause from None
        if isinstance(exc, GuardrailError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CouldNotFinish(f"the Ray audit failed: {first}") from exc


def _guardrail_cause(exc: BaseException) -> Exception | None:
    """A task's own error (a ConfigError naming a file and line) reaches the driver wrapped by Ray: unwrap it."""
    from guardrail.errors import GuardrailError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, GuardrailError):
            return current
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return None


__all__ = ["PolicyJudge", "RayCounters", "ray_judged_events"]
