"""Per-provider limits that queue rather than reject: a concurrency cap and token buckets for rpm and tpm.

Why our own: litellm's Router rejects a request over its limit; a replay wants it to wait its turn. Requests
to one provider (the model id's prefix: "openai", "anthropic", "sim") share one semaphore and, when the spec
sets them, one requests-per-minute bucket and one tokens-per-minute bucket. A bucket holds `burst_s` seconds
of its rate, so calls are spaced evenly instead of spent in a burst at the top of each minute. Waiting is a
single timed sleep per waiter in FIFO order (an asyncio.Lock), never a polling loop.

Tokens are estimated from the request's size before it is sent (about 4 characters per token) and corrected
with the real usage afterwards, so a run that underestimates pays it back before the next request goes out.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from guardrail.core.llm import CompletionRequest, provider_of
from guardrail.core.suite import RateLimit

Clock = Callable[[], float]
CHARS_PER_TOKEN = 4


def estimate_tokens(request: CompletionRequest) -> int:
    """A cheap pre-call estimate of the tokens a request will use: its size / 4, plus max_tokens if set."""
    size = len(json.dumps(request.messages, default=str))
    if request.tools:
        size += len(json.dumps(request.tools, default=str))
    max_tokens = request.params.get("max_tokens") or request.params.get("max_completion_tokens") or 0
    return max(1, size // CHARS_PER_TOKEN + int(max_tokens))


class _PerLoop:
    """asyncio primitives bind to the loop that first uses them; recreate them when a new loop comes along."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def _fresh(self) -> bool:
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return False
        self._loop = loop
        return True


class TokenBucket(_PerLoop):
    """`rate` tokens per second up to `capacity`; `take` waits its turn until enough are there."""

    def __init__(self, rate: float, capacity: float, clock: Clock = time.monotonic) -> None:
        super().__init__()
        if rate <= 0 or capacity <= 0:
            raise ValueError("a token bucket needs a positive rate and capacity")
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self.tokens = capacity
        self.updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float) -> None:
        """Wait until `amount` tokens (at most a full bucket) are available, then spend them."""
        amount = min(amount, self.capacity)
        if self._fresh():
            self._lock = asyncio.Lock()
        async with self._lock:
            self._refill()
            while self.tokens < amount:
                await asyncio.sleep((amount - self.tokens) / self.rate)
                self._refill()
            self.tokens -= amount

    def adjust(self, extra: float) -> None:
        """Charge (or refund, when negative) tokens after the fact; the balance may go below zero."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens - extra)


@dataclass
class ProviderLimits(_PerLoop):
    """The limits of one provider and their live state."""

    concurrency: int
    rpm: TokenBucket | None = None
    tpm: TokenBucket | None = None
    in_flight: int = 0
    max_in_flight: int = 0
    _semaphore: asyncio.Semaphore | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _PerLoop.__init__(self)

    def semaphore(self) -> asyncio.Semaphore:
        if self._fresh() or self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._semaphore


class Throttle:
    """Per-provider slots: `async with throttle.slot(request) as settle:` ... `settle(actual_tokens)`."""

    def __init__(
        self,
        limits: Mapping[str, RateLimit] | None = None,
        default_concurrency: int = 64,
        burst_s: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if default_concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.limits = dict(limits or {})
        self.default_concurrency = default_concurrency
        self.burst_s = burst_s
        self.clock = clock
        self._providers: dict[str, ProviderLimits] = {}

    def provider(self, model: str) -> ProviderLimits:
        key = provider_of(model)
        state = self._providers.get(key)
        if state is None:
            limit = self.limits.get(key) or RateLimit()
            state = ProviderLimits(
                concurrency=limit.concurrency or self.default_concurrency,
                rpm=self._bucket(limit.rpm),
                tpm=self._bucket(limit.tpm),
            )
            self._providers[key] = state
        return state

    def _bucket(self, per_minute: int | None) -> TokenBucket | None:
        if per_minute is None:
            return None
        rate = per_minute / 60.0
        return TokenBucket(rate, max(1.0, rate * self.burst_s), self.clock)

    @asynccontextmanager
    async def slot(self, request: CompletionRequest) -> AsyncIterator[Callable[[int], None]]:
        """Wait for a concurrency slot, then for rpm and tpm budget; yield a callback to settle real usage."""
        state = self.provider(request.model)
        async with state.semaphore():
            estimate = 0
            if state.rpm is not None:
                await state.rpm.take(1)
            if state.tpm is not None:
                estimate = estimate_tokens(request)
                await state.tpm.take(estimate)
            tpm = state.tpm

            def settle(actual_tokens: int) -> None:
                if tpm is not None:
                    tpm.adjust(actual_tokens - min(estimate, tpm.capacity))

            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                yield settle
            finally:
                state.in_flight -= 1


__all__ = ["ProviderLimits", "Throttle", "TokenBucket", "estimate_tokens"]
