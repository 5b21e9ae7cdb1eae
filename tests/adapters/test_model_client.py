"""ModelClient: cache -> throttle -> retry -> litellm, and the soak test: every request ends in exactly one outcome."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest
from tests.support.openai_server import OpenAIServer, Serve

from guardrail.adapters.cache import ResponseCache, cache_key
from guardrail.adapters.model_client import ModelClient
from guardrail.adapters.retry import RetryPolicy
from guardrail.core.llm import CallError, CallResult, Completion, CompletionRequest
from guardrail.core.suite import RateLimit


def req(server: OpenAIServer | None, text: str, model: str = "openai/fake", **fields: object) -> CompletionRequest:
    params = server.params if server is not None else {}
    return CompletionRequest(
        model=model,
        messages=[{"role": "user", "content": text}],
        params=params,
        **fields,
    )


def run_all(client: ModelClient, requests: list[CompletionRequest]) -> list[CallResult]:
    async def main() -> list[CallResult]:
        return list(await asyncio.gather(*(client.complete(r) for r in requests)))

    return asyncio.run(main())


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.mark.integration
def test_a_rerun_of_identical_requests_makes_zero_calls(serve: Serve, tmp_path: Path) -> None:
    server = serve(latency_ms=5)
    requests = [req(server, f"task {i}") for i in range(30)]
    cache_path = tmp_path / "responses.sqlite"

    first = ModelClient(cache=ResponseCache(cache_path))
    fresh = run_all(first, requests)
    first.close()
    assert server.log.count == 30 and first.stats.calls_made == 30 and first.stats.cache_hits == 0

    second = ModelClient(cache=ResponseCache(cache_path))  # a new process would see the same file
    again = run_all(second, requests)
    assert server.log.count == 30  # nothing new reached the server
    assert second.stats.calls_made == 0 and second.stats.cache_hits == 30
    assert all(isinstance(r, Completion) and r.cached for r in again)
    assert [r.model_copy(update={"cached": False}) for r in again] == fresh


@pytest.mark.integration
def test_errors_are_not_cached_so_the_next_run_asks_again(serve: Serve, tmp_path: Path) -> None:
    server = serve(script=("400",))  # the first attempt of each request is refused, later ones succeed
    client = ModelClient(cache=ResponseCache(tmp_path / "c.sqlite"), retry=RetryPolicy(sleep=_no_sleep))
    request = req(server, "flaky")

    first = asyncio.run(client.complete(request))
    second = asyncio.run(client.complete(request))
    third = asyncio.run(client.complete(request))
    assert isinstance(first, CallError) and first.kind == "bad_request"
    assert isinstance(second, Completion) and not second.cached
    assert isinstance(third, Completion) and third.cached
    assert server.log.count == 2
    assert asdict(client.stats) == {"calls_made": 2, "cache_hits": 1, "errors": 1, "retries": 0, "completions": 2}


@pytest.mark.integration
def test_without_a_cache_every_request_is_sent(serve: Serve) -> None:
    server = serve()
    client = ModelClient(cache=None)
    results = run_all(client, [req(server, "same")] * 3)
    assert server.log.count == 3 and client.stats.cache_hits == 0
    assert not any(isinstance(r, Completion) and r.cached for r in results)


@pytest.mark.integration
def test_identical_requests_in_flight_are_sent_once(serve: Serve, tmp_path: Path) -> None:
    server = serve(latency_ms=100)
    client = ModelClient(cache=ResponseCache(tmp_path / "c.sqlite"))
    results = run_all(client, [req(server, "same")] * 5 + [req(server, "same", repeat=1)])
    assert server.log.count == 2  # one per distinct (request, repeat)
    assert client.stats.calls_made == 2 and client.stats.cache_hits == 4
    assert sum(1 for r in results if isinstance(r, Completion) and r.cached) == 4


@pytest.mark.integration
def test_prices_given_for_a_model_set_its_cost(serve: Serve) -> None:
    server = serve()
    client = ModelClient(prices={"openai/fake": (0.5, None)})  # a missing side costs nothing
    result = asyncio.run(client.complete(req(server, "price me")))
    assert isinstance(result, Completion)
    assert result.cost_usd == pytest.approx(result.prompt_tokens * 0.5)


@pytest.mark.integration
def test_soak_mixed_faults_every_request_ends_in_exactly_one_outcome(serve: Serve) -> None:
    server = serve(rate_500=0.10, rate_429=0.05, rate_hang=0.02, latency_ms=10, hang_s=10, seed=3)
    client = ModelClient(retry=RetryPolicy(base_s=0.02, cap_s=0.1, rng=random.Random(0)))
    requests = [req(server, f"task {i}", timeout_s=1.5) for i in range(200)]

    results = run_all(client, requests)

    assert len(results) == len(requests)
    assert all(isinstance(r, Completion | CallError) for r in results)
    assert all(r.kind in ("timeout", "rate_limit", "server", "connection") for r in results if isinstance(r, CallError))
    attempts = sum(r.attempts for r in results)
    assert client.stats.calls_made == attempts
    assert client.stats.retries == attempts - len(results)
    assert client.stats.completions + client.stats.errors == len(results)
    # the server saw no more requests than attempts, and no body more often than its request's attempts
    assert server.log.count <= attempts
    by_body = server.log.per_body()
    assert len(by_body) == len(requests)
    assert max(by_body.values()) <= max(r.attempts for r in results)
    outcomes = server.log.outcomes()
    assert outcomes.get("500", 0) > 0 and outcomes.get("429", 0) > 0 and outcomes.get("hang", 0) > 0
    assert outcomes["ok"] >= sum(1 for r in results if isinstance(r, Completion))
    assert sum(1 for r in results if isinstance(r, Completion)) >= 195  # 4 attempts beat 17% faults


def test_order_cache_hit_first_then_throttled_attempts(tmp_path: Path) -> None:
    """With a scripted transport: a hit sends nothing; each attempt (retries too) takes a throttle slot."""
    sent: list[str] = []

    async def send(request: CompletionRequest, prices: object) -> tuple[CallResult, float | None]:
        sent.append(request.messages[0]["content"])
        if sent.count(request.messages[0]["content"]) == 1:
            return CallError(model=request.model, kind="server", message="first attempt fails"), None
        return Completion(model=request.model, content="ok", prompt_tokens=3, completion_tokens=2), None

    cache = ResponseCache(tmp_path / "c.sqlite")
    client = ModelClient(
        cache=cache,
        limits={"sim": RateLimit(rpm=600_000, concurrency=1)},
        retry=RetryPolicy(sleep=_no_sleep),
        send=send,
    )
    first = asyncio.run(client.complete(req(None, "a", model="sim/x")))
    again = asyncio.run(client.complete(req(None, "a", model="sim/x")))
    assert isinstance(first, Completion) and first.attempts == 2
    assert isinstance(again, Completion) and again.cached
    assert sent == ["a", "a"]
    assert cache.get(req(None, "a", model="sim/x"), cache_key(req(None, "a", model="sim/x"))) is not None
    assert client.stats_for("sim/x").calls_made == 2 and client.stats_for("sim/x").cache_hits == 1
    assert client.stats_for("openai/other").calls_made == 0
    assert client.throttle.provider("sim/x").max_in_flight == 1


def test_a_cancelled_leader_does_not_strand_identical_waiters(tmp_path: Path) -> None:
    calls: list[int] = []

    async def send(request: CompletionRequest, prices: object) -> tuple[CallResult, float | None]:
        calls.append(1)
        await asyncio.sleep(0.2)
        return Completion(model=request.model, content="ok"), None

    client = ModelClient(cache=ResponseCache(tmp_path / "c.sqlite"), send=send)

    async def main() -> CallResult:
        leader = asyncio.create_task(client.complete(req(None, "same", model="sim/x")))
        await asyncio.sleep(0.01)
        follower = asyncio.create_task(client.complete(req(None, "same", model="sim/x")))
        await asyncio.sleep(0.01)
        leader.cancel()
        return await follower

    result = asyncio.run(main())
    assert isinstance(result, Completion) and not result.cached
    assert len(calls) == 2  # the follower asked on its own once the leader was gone


def test_stats_count_kinds_of_outcome() -> None:
    async def send(request: CompletionRequest, prices: object) -> tuple[CallResult, float | None]:
        if "bad" in request.messages[0]["content"]:
            return CallError(model=request.model, kind="auth", message="no"), None
        return Completion(model=request.model, content="ok"), None

    client = ModelClient(send=send)
    results = run_all(client, [req(None, t, model="sim/x") for t in ("good", "bad", "good 2")])
    assert Counter(type(r).__name__ for r in results) == {"Completion": 2, "CallError": 1}
    assert asdict(client.stats) == {"calls_made": 3, "cache_hits": 0, "errors": 1, "retries": 0, "completions": 2}
