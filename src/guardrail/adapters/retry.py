"""The retry policy: exponential backoff with full jitter, Retry-After honoured, transient failures only.

Why our own: litellm's `num_retries` stacks on the OpenAI SDK's retries (2n+1 requests) and retries what it
should not. Here only CallError kinds in `core.llm.RETRYABLE` (timeout, rate_limit, server, connection) are
retried; a 400/401/403/404 comes back at once, because asking again cannot fix it. Each result records how
many attempts it took, so a run can prove it sent no more requests than attempts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from guardrail.core.llm import CallError, CallResult

Sleep = Callable[[float], Awaitable[None]]
Attempt = Callable[[], Awaitable[tuple[CallResult, float | None]]]  # -> (result, Retry-After seconds or None)


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    base_s: float = 0.25
    cap_s: float = 8.0
    jitter: Literal["full", "none"] = "full"
    retry_after_cap_s: float = 60.0  # a provider asking for longer than this gets this
    sleep: Sleep = asyncio.sleep  # injectable: tests record the delays instead of waiting
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError("backoff times cannot be negative")

    def backoff(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based); a Retry-After the provider sent wins."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap_s)
        ceiling = min(self.cap_s, self.base_s * 2 ** (retry - 1))
        return self.rng.uniform(0, ceiling) if self.jitter == "full" else ceiling

    async def run(self, attempt: Attempt) -> CallResult:
        """Call `attempt` until it succeeds, fails for good or runs out of attempts; stamp the count."""
        tries = 0
        while True:
            tries += 1
            result, retry_after = await attempt()
            if not isinstance(result, CallError) or not result.retryable or tries >= self.max_attempts:
                return result.model_copy(update={"attempts": tries})
            await self.sleep(self.backoff(tries, retry_after))


__all__ = ["Attempt", "RetryPolicy", "Sleep"]
