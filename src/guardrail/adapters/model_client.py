"""ModelClient: the one door the runner uses to reach a model: cache, then throttle, then retries, then the transport
(litellm, or the direct OpenAI-compatible client: `adapters/transport.py`).

    client = ModelClient(cache=ResponseCache(project.cache / "responses.sqlite"),
                         limits=spec.rate_limits, default_concurrency=64, retry=RetryPolicy(),
                         prices={"openai/x": (input_cost_per_token, output_cost_per_token)})
    result = await client.complete(request)        # Completion | CallError, never raises for provider trouble
    client.stats                                   # calls_made, cache_hits, errors, retries

Why this order: a cache hit must cost nothing (no slot, no rate budget, no request); every attempt, retries
included, goes through the throttle so a 429 storm cannot push past the provider's limits; the backoff sleep
holds no slot, so one struggling request does not starve the others. Identical requests in flight at the
same time are sent once when the cache is on: the second waits for the first and is served from its answer.

A result's `attempts` counts the requests it took; its `latency_s` is the last attempt's (the model's own time,
not our backoff). A cache hit keeps the cost and latency first measured, so a cached re-run scores the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from guardrail.adapters import llm
from guardrail.adapters.cache import ResponseCache
from guardrail.adapters.retry import RetryPolicy
from guardrail.adapters.throttle import Throttle
from guardrail.adapters.transport import Transport
from guardrail.core.llm import CallError, CallResult, Completion, CompletionRequest
from guardrail.core.suite import RateLimit

Send = Callable[[CompletionRequest, llm.Prices | None], Awaitable[tuple[CallResult, float | None]]]
PriceInput = Mapping[str, tuple[float | None, float | None]]


@dataclass
class ClientStats:
    """Counters over the client's life; `calls_made` counts requests actually sent, retries included."""

    calls_made: int = 0
    cache_hits: int = 0
    errors: int = 0  # results that were CallErrors after the retry policy gave up
    retries: int = 0
    completions: int = 0  # results that were Completions, cached or not


class ModelClient:
    def __init__(
        self,
        cache: ResponseCache | None = None,
        limits: Mapping[str, RateLimit] | None = None,
        default_concurrency: int = 64,
        retry: RetryPolicy | None = None,
        prices: PriceInput | None = None,
        *,
        send: Send | None = None,
        transport: Transport | None = None,
        burst_s: float = 1.0,
    ) -> None:
        self.cache = cache
        self.throttle = Throttle(limits, default_concurrency=default_concurrency, burst_s=burst_s)
        self.retry = retry or RetryPolicy()
        self.prices: dict[str, tuple[float, float]] = {
            model: (inp or 0.0, out or 0.0) for model, (inp, out) in (prices or {}).items()
        }
        self._send: Send = send or (transport or Transport()).send
        self.stats = ClientStats()
        self._by_model: dict[str, ClientStats] = {}
        self._in_flight: dict[str, asyncio.Future[CallResult]] = {}

    def stats_for(self, model: str) -> ClientStats:
        """The counters of one model id (a zeroed record for a model never asked)."""
        return self._by_model.setdefault(model, ClientStats())

    async def complete(self, request: CompletionRequest) -> CallResult:
        """A Completion, or a CallError once retries are spent; provider trouble never raises."""
        if self.cache is None:
            return self._count(request, await self._fetch(request))
        key = self.cache.key(request)
        hit = self.cache.get(request, key)
        if hit is None and key in self._in_flight:
            hit = await self._wait_for(self._in_flight[key])
        if hit is not None:
            return self._count(request, hit)
        if key in self._in_flight:  # a new leader took over after an error: ask on our own
            return self._count(request, await self._fetch(request))
        future: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await self._fetch(request)
            self.cache.put(request, result, key)
            future.set_result(result)
            return self._count(request, result)
        finally:
            if not future.done():
                future.cancel()  # the leader was cancelled: waiters ask on their own
            del self._in_flight[key]

    @staticmethod
    async def _wait_for(future: asyncio.Future[CallResult]) -> Completion | None:
        """The answer an identical in-flight request got, if it was a Completion (errors are not shared)."""
        await asyncio.wait({future})  # raises only if *this* task is cancelled, not if the leader was
        result = None if future.cancelled() else future.result()
        return result.model_copy(update={"cached": True}) if isinstance(result, Completion) else None

    async def _fetch(self, request: CompletionRequest) -> CallResult:
        async def attempt() -> tuple[CallResult, float | None]:
            async with self.throttle.slot(request) as settle:
                self._bump(request.model, "calls_made")
                result, retry_after = await self._send(request, self.prices)
                if isinstance(result, Completion):
                    settle(result.prompt_tokens + result.completion_tokens)
                return result, retry_after

        result = await self.retry.run(attempt)
        if result.attempts > 1:
            self._bump(request.model, "retries", result.attempts - 1)
        return result

    def _count(self, request: CompletionRequest, result: CallResult) -> CallResult:
        if isinstance(result, CallError):
            self._bump(request.model, "errors")
        else:
            self._bump(request.model, "completions")
            if result.cached:
                self._bump(request.model, "cache_hits")
        return result

    def _bump(self, model: str, counter: str, by: int = 1) -> None:
        for stats in (self.stats, self.stats_for(model)):
            setattr(stats, counter, getattr(stats, counter) + by)

    def forget(self, request: CompletionRequest) -> None:
        """Drop the cached answer to `request`: its caller found it unusable (a judge reply that is not the JSON
        asked for), so the next run asks again instead of being served the same bad answer."""
        if self.cache is not None:
            self.cache.forget(request)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


__all__ = ["ClientStats", "ModelClient", "PriceInput", "Send"]
