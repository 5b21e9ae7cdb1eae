"""adapters.retry: backoff shape, what is retried, Retry-After, and each fault kind end to end over real HTTP."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest
from tests.support.openai_server import OpenAIServer, Serve

from guardrail.adapters.model_client import ModelClient
from guardrail.adapters.retry import RetryPolicy
from guardrail.core.llm import CallError, CallResult, Completion, CompletionRequest


class Recorder:
    """An injected sleep: records each delay instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def scripted(*results: CallResult, hint: float | None = None) -> tuple[Callable[[], Any], list[int]]:
    """An attempt function answering `results` in order; also returns a call counter."""
    calls = [0]

    async def attempt() -> tuple[CallResult, float | None]:
        calls[0] += 1
        return results[min(calls[0], len(results)) - 1], hint

    return attempt, calls


def error(kind: Any) -> CallError:
    return CallError(model="m", kind=kind, message=kind)


OK = Completion(model="m", content="fine")


def test_full_jitter_backoff_stays_under_the_exponential_ceiling_and_the_cap() -> None:
    policy = RetryPolicy(base_s=0.25, cap_s=2.0, rng=random.Random(7))
    for retry, ceiling in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (5, 2.0), (12, 2.0)]:
        delays = [policy.backoff(retry) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spreads over the whole range
    assert RetryPolicy(base_s=0.25, cap_s=2.0, jitter="none").backoff(3) == 1.0


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    policy = RetryPolicy(base_s=0.25, retry_after_cap_s=30.0)
    assert policy.backoff(1, retry_after=7.0) == 7.0
    assert policy.backoff(1, retry_after=3600.0) == 30.0


@pytest.mark.parametrize("kind", ["timeout", "rate_limit", "server", "connection"])
def test_transient_errors_are_retried_until_success(kind: str) -> None:
    sleep = Recorder()
    attempt, calls = scripted(error(kind), error(kind), OK)
    result = asyncio.run(RetryPolicy(sleep=sleep, rng=random.Random(1)).run(attempt))
    assert isinstance(result, Completion) and result.attempts == 3
    assert calls[0] == 3 and len(sleep.delays) == 2


@pytest.mark.parametrize("kind", ["bad_request", "auth", "harness"])
def test_other_errors_are_not_retried(kind: str) -> None:
    sleep = Recorder()
    attempt, calls = scripted(error(kind), OK)
    result = asyncio.run(RetryPolicy(sleep=sleep).run(attempt))
    assert isinstance(result, CallError) and result.kind == kind and result.attempts == 1
    assert calls[0] == 1 and sleep.delays == []


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    sleep = Recorder()
    attempt, calls = scripted(error("server"))
    result = asyncio.run(RetryPolicy(max_attempts=3, sleep=sleep).run(attempt))
    assert isinstance(result, CallError) and result.kind == "server" and result.attempts == 3
    assert calls[0] == 3 and len(sleep.delays) == 2


def test_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# ---- end to end: litellm over HTTP to the loopback server, through ModelClient ----


def complete(server: OpenAIServer, policy: RetryPolicy, timeout_s: float = 10.0) -> CallResult:
    client = ModelClient(retry=policy)
    req = CompletionRequest(
        model="openai/fake", messages=[{"role": "user", "content": "hi"}], params=server.params, timeout_s=timeout_s
    )
    result = asyncio.run(client.complete(req))
    assert client.stats.calls_made == result.attempts
    return result


@pytest.mark.integration
@pytest.mark.parametrize("fault", ["500", "503", "429", "drop", "hang"])
def test_each_fault_kind_is_retried_then_succeeds(serve: Serve, fault: str) -> None:
    server = serve(script=(fault,), hang_s=5)
    sleep = Recorder()
    result = complete(server, RetryPolicy(sleep=sleep), timeout_s=0.5 if fault == "hang" else 10.0)
    assert isinstance(result, Completion) and result.content == "done"
    assert result.attempts == 2
    assert server.log.count == 2 and server.log.outcomes() == {fault: 1, "ok": 1}
    assert len(sleep.delays) == 1


@pytest.mark.integration
@pytest.mark.parametrize(("fault", "kind"), [("400", "bad_request"), ("401", "auth"), ("403", "auth")])
def test_client_errors_are_not_retried(serve: Serve, fault: str, kind: str) -> None:
    server = serve(script=(fault,))
    sleep = Recorder()
    result = complete(server, RetryPolicy(sleep=sleep))
    assert isinstance(result, CallError) and result.kind == kind and result.attempts == 1
    assert server.log.count == 1 and sleep.delays == []


@pytest.mark.integration
def test_not_found_from_a_responder_is_not_retried(serve: Serve) -> None:
    server = serve(responder=lambda body: {"status": 404, "message": "model not found"})
    result = complete(server, RetryPolicy(sleep=Recorder()))
    assert isinstance(result, CallError) and result.kind == "bad_request" and result.status == 404
    assert server.log.count == 1


@pytest.mark.integration
def test_retry_after_is_honoured(serve: Serve) -> None:
    server = serve(script=("429", "429"), retry_after="3")
    sleep = Recorder()
    result = complete(server, RetryPolicy(sleep=sleep, base_s=0.01))
    assert isinstance(result, Completion) and result.attempts == 3
    assert sleep.delays == [3.0, 3.0]


@pytest.mark.integration
def test_retry_after_absent_falls_back_to_backoff(serve: Serve) -> None:
    server = serve(script=("429",), retry_after=None)
    sleep = Recorder()
    result = complete(server, RetryPolicy(sleep=sleep, base_s=0.5, cap_s=0.5, jitter="none"))
    assert isinstance(result, Completion)
    assert sleep.delays == [0.5]


@pytest.mark.integration
def test_hangs_become_a_timeout_after_the_retries(serve: Serve) -> None:
    server = serve(script=("hang", "hang", "hang"), hang_s=5)
    result = complete(server, RetryPolicy(max_attempts=3, sleep=Recorder()), timeout_s=0.3)
    assert isinstance(result, CallError) and result.kind == "timeout" and result.attempts == 3
    assert server.log.count == 3 and server.log.outcomes() == {"hang": 3}
