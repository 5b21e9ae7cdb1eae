"""adapters.throttle: concurrency and rate limits that make requests wait (spaced, never rejected)."""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.support.openai_server import Serve

from guardrail.adapters import throttle as throttle_module
from guardrail.adapters.model_client import ModelClient
from guardrail.adapters.throttle import Throttle, TokenBucket, estimate_tokens
from guardrail.core.llm import Completion, CompletionRequest
from guardrail.core.suite import RateLimit


def req(model: str = "openai/fake", text: str = "hi", **fields: object) -> CompletionRequest:
    return CompletionRequest(model=model, messages=[{"role": "user", "content": text}], **fields)


def test_token_estimate_grows_with_the_request_and_counts_max_tokens() -> None:
    small, large = estimate_tokens(req(text="x")), estimate_tokens(req(text="x" * 4000))
    assert 1 <= small < large and large >= 1000
    assert estimate_tokens(req(text="x", params={"max_tokens": 500})) == small + 500


def test_bucket_spends_a_burst_then_spaces_takers() -> None:
    async def main() -> list[float]:
        bucket = TokenBucket(rate=20.0, capacity=2.0)
        start = time.monotonic()
        stamps = []
        for _ in range(6):
            await bucket.take(1)
            stamps.append(time.monotonic() - start)
        return stamps

    stamps = asyncio.run(main())
    assert stamps[1] < 0.03  # the burst
    assert stamps[-1] >= (6 - 2) / 20 - 0.01  # then one token per 50 ms


def test_bucket_correction_makes_the_next_taker_pay_back() -> None:
    async def main() -> float:
        bucket = TokenBucket(rate=100.0, capacity=10.0)
        await bucket.take(10)
        bucket.adjust(20)  # the call used 20 more tokens than estimated: balance -20
        start = time.monotonic()
        await bucket.take(10)  # needs +30 at 100/s
        return time.monotonic() - start

    assert asyncio.run(main()) >= 0.28


def test_waiters_sleep_once_each_rather_than_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def counting_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await real_sleep(seconds)

    monkeypatch.setattr(throttle_module.asyncio, "sleep", counting_sleep)

    async def main() -> None:
        bucket = TokenBucket(rate=100.0, capacity=1.0)
        await asyncio.gather(*(bucket.take(1) for _ in range(20)))

    asyncio.run(main())
    # one timed sleep per waiter (two when the timer fires a hair early), never a polling loop
    assert len(sleeps) <= 2 * 20


def test_a_throttle_survives_a_new_event_loop() -> None:
    gate = Throttle({"openai": RateLimit(rpm=6000, concurrency=2)})

    async def use() -> None:
        async with gate.slot(req()) as settle:
            settle(5)

    asyncio.run(use())
    asyncio.run(use())  # asyncio primitives are rebuilt for the new loop instead of raising


def test_limits_are_per_provider_with_a_default_concurrency() -> None:
    gate = Throttle({"openai": RateLimit(concurrency=3, rpm=60)}, default_concurrency=9)
    assert gate.provider("openai/a") is gate.provider("openai/b")
    assert gate.provider("openai/a").concurrency == 3 and gate.provider("openai/a").rpm is not None
    assert gate.provider("sim/budget").concurrency == 9 and gate.provider("sim/budget").rpm is None


@pytest.mark.integration
def test_concurrency_cap_holds_and_is_used_fully(serve: Serve) -> None:
    server = serve(latency_ms=50)
    client = ModelClient(limits={"openai": RateLimit(concurrency=5)})
    requests = [req(text=f"q{i}", params=server.params) for i in range(40)]

    results = asyncio.run(_all(client, requests))
    assert all(isinstance(r, Completion) for r in results)
    assert server.log.max_in_flight == 5
    assert client.throttle.provider("openai/fake").max_in_flight == 5


@pytest.mark.integration
def test_default_concurrency_applies_without_a_limit(serve: Serve) -> None:
    server = serve(latency_ms=50)
    client = ModelClient(default_concurrency=3)
    results = asyncio.run(_all(client, [req(text=f"q{i}", params=server.params) for i in range(15)]))
    assert all(isinstance(r, Completion) for r in results)
    assert server.log.max_in_flight == 3


@pytest.mark.integration
def test_a_tiny_rpm_spaces_calls_instead_of_rejecting(serve: Serve) -> None:
    server = serve()
    client = ModelClient(limits={"openai": RateLimit(rpm=600)}, burst_s=0.1)  # 10/s, no burst beyond one
    requests = [req(text=f"q{i}", params=server.params) for i in range(16)]
    results = asyncio.run(_all(client, requests))

    assert all(isinstance(r, Completion) for r in results)  # every call made it: queued, not rejected
    stamps = sorted(e.started for e in server.log.entries)
    assert stamps[-1] - stamps[0] >= (16 - 1) / 10 - 0.05
    # spread out, not a burst then a wall: within any window of w seconds at most rate x w + the one-request burst,
    # plus one for the server's receive-time jitter (a loaded machine delays one request and not the next, so
    # single gaps say little; windows do)
    for window, most in ((1.0, 12), (0.5, 7)):
        for i, start in enumerate(stamps):
            assert sum(1 for t in stamps[i:] if t - start < window) <= most, (window, stamps)


@pytest.mark.integration
def test_tpm_limits_tokens_per_second(serve: Serve) -> None:
    server = serve()
    # ~260 estimated tokens per request (1,000 characters); 60,000 tpm = 1,000 tokens/s with a 1 s bucket
    client = ModelClient(limits={"openai": RateLimit(tpm=60_000)})
    requests = [req(text=f"{i} " + "x" * 1000, params=server.params) for i in range(12)]
    start = time.monotonic()
    results = asyncio.run(_all(client, requests))
    elapsed = time.monotonic() - start
    used = sum(r.prompt_tokens + r.completion_tokens for r in results if isinstance(r, Completion))
    assert all(isinstance(r, Completion) for r in results)
    assert elapsed >= (used - 1000) / 1000 * 0.9  # the budget beyond the first full bucket had to be waited for


async def _all(client: ModelClient, requests: list[CompletionRequest]) -> list[object]:
    return list(await asyncio.gather(*(client.complete(r) for r in requests)))
