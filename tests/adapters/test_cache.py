"""adapters.cache: the key covers what shapes a response and no credentials; only Completions are stored."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from guardrail.adapters.cache import ResponseCache, cache_key
from guardrail.core.llm import CallError, Completion, CompletionRequest, ToolCall
from guardrail.errors import CouldNotFinish

BASE = CompletionRequest(
    model="openai/gpt-4o-mini",
    messages=[{"role": "user", "content": "I was charged twice"}],
    tools=[{"type": "function", "function": {"name": "tickets.route", "parameters": {}}}],
    params={"temperature": 0, "api_base": "http://127.0.0.1:1/v1", "api_key": "sk-one-1111111111"},
    repeat=0,
    sim={"expected": "billing"},
)
ANSWER = Completion(
    model="openai/gpt-4o-mini",
    content=None,
    tool_calls=[ToolCall(id="c1", name="tickets.route", arguments={"queue": "billing"})],
    prompt_tokens=12,
    completion_tokens=7,
    cost_usd=0.0001,
    latency_s=0.4,
    attempts=2,
)


def variant(**changes: Any) -> CompletionRequest:
    return BASE.model_copy(update=changes)


def test_key_ignores_credentials_transport_knobs_and_dict_order() -> None:
    key = cache_key(BASE)
    same = [
        variant(params={**BASE.params, "api_key": "sk-two-2222222222"}),
        variant(params={**BASE.params, "timeout": 5, "max_retries": 3, "num_retries": 1}),
        variant(params=dict(reversed(list(BASE.params.items())))),
        variant(timeout_s=1.0),
    ]
    assert [cache_key(r) for r in same] == [key] * len(same)
    one = variant(params={**BASE.params, "extra_headers": {"Authorization": "Bearer abc", "X-Api-Key": "k1"}})
    two = variant(params={**BASE.params, "extra_headers": {"Authorization": "Bearer xyz", "X-Api-Key": "k2"}})
    assert cache_key(one) == cache_key(two)


def test_key_changes_with_everything_that_shapes_the_answer() -> None:
    key = cache_key(BASE)
    different = [
        variant(model="openai/gpt-4o"),
        variant(messages=[{"role": "user", "content": "I was charged three times"}]),
        variant(tools=[]),
        variant(params={**BASE.params, "temperature": 0.7}),
        variant(params={**BASE.params, "max_tokens": 10}),
        variant(params={**BASE.params, "api_base": "http://127.0.0.1:2/v1"}),
        variant(repeat=1),
        variant(sim={"expected": "refund"}),
    ]
    keys = [cache_key(r) for r in different]
    assert key not in keys and len(set(keys)) == len(keys)


def test_roundtrip_marks_hits_cached_and_keeps_the_measurements(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "responses.sqlite") as cache:
        assert cache.get(BASE) is None
        assert cache.put(BASE, ANSWER) is True
        hit = cache.get(BASE)
    assert hit is not None and hit.cached
    assert hit.model_copy(update={"cached": False}) == ANSWER  # cost, latency, attempts: as first measured


def test_errors_are_never_stored(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "responses.sqlite") as cache:
        assert cache.put(BASE, CallError(model=BASE.model, kind="server", message="boom", status=500)) is False
        assert len(cache) == 0 and cache.get(BASE) is None


def test_entries_persist_in_a_wal_database_without_credentials(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "responses.sqlite"
    with ResponseCache(path) as cache:
        cache.put(BASE, ANSWER)
    with ResponseCache(path) as reopened:
        assert reopened.get(BASE) is not None and len(reopened) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    stored = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert b"sk-one-1111111111" not in stored


def test_an_unreadable_entry_is_a_miss(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "responses.sqlite") as cache:
        cache.put(BASE, ANSWER)
        cache.flush()
        cache._db.execute("UPDATE responses SET value = ?", ('{"model": 1}',))
        assert cache.get(BASE) is None


def test_a_corrupt_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CouldNotFinish, match="--no-cache"):
        ResponseCache(path)


def test_puts_and_gets_from_many_threads(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "responses.sqlite")
    requests = [variant(repeat=i) for i in range(200)]
    failures: list[BaseException] = []

    def work(chunk: list[CompletionRequest]) -> None:
        try:
            for r in chunk:
                cache.put(r, ANSWER)
                assert cache.get(r) is not None
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(requests[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and len(cache) == 200
    cache.close()


def test_writes_are_batched_but_readable_at_once_and_flushed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"

    def on_disk() -> int:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    cache = ResponseCache(path)
    batch = [variant(repeat=i) for i in range(ResponseCache.FLUSH_ENTRIES + 1)]
    for r in batch[:-2]:
        cache.put(r, ANSWER)
    assert on_disk() == 0  # a commit per answer was the cost this batching removes
    assert all(cache.get(r) is not None for r in batch[:-2])  # pending answers are served already
    cache.put(batch[-2], ANSWER)  # the batch is full: one transaction
    assert on_disk() == ResponseCache.FLUSH_ENTRIES
    cache.put(batch[-1], ANSWER)
    cache.close()
    assert on_disk() == len(batch)


def test_a_forgotten_answer_is_gone_pending_or_stored(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "responses.sqlite") as cache:
        stored, pending = variant(repeat=1), variant(repeat=2)
        cache.put(stored, ANSWER)
        cache.flush()
        cache.put(pending, ANSWER)
        cache.forget(stored)
        cache.forget(pending)
        assert cache.get(stored) is None and cache.get(pending) is None and len(cache) == 0
