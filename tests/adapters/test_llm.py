"""adapters.llm and adapters.openai_compat: one real HTTP request to the loopback server, mapped to Completion or
CallError. Every behaviour a provider test checks holds on both transports: through litellm, and straight to the
OpenAI-compatible server (`Transport("auto")`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from tests.support.openai_server import LEAKY_KEY, OpenAIServer, Serve

from guardrail.adapters import llm
from guardrail.adapters.transport import Mode, Transport
from guardrail.core.llm import CallError, Completion, CompletionRequest

Call = Callable[..., Any]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "tickets.route",
            "description": "route a ticket",
            "parameters": {"type": "object", "properties": {"queue": {"type": "string"}}},
        },
    }
]


def request(server: OpenAIServer, text: str = "hello", **fields: Any) -> CompletionRequest:
    fields.setdefault("params", server.params)
    return CompletionRequest(model="openai/fake", messages=[{"role": "user", "content": text}], **fields)


def call(req: CompletionRequest, prices: llm.Prices | None = None) -> Any:
    return asyncio.run(llm.call_once_with_hint(req, prices))


@pytest.fixture(params=["litellm", "auto"], ids=["litellm", "direct"])
def send(request: pytest.FixtureRequest) -> Call:
    """send(request, prices=None) -> (result, retry_after), through one transport."""
    mode: Mode = request.param

    def _send(req: CompletionRequest, prices: llm.Prices | None = None) -> Any:
        return asyncio.run(Transport(mode).send(req, prices))

    return _send


@pytest.mark.integration
def test_success_maps_tool_calls_usage_latency_and_cost(serve: Serve, send: Call) -> None:
    def responder(body: dict[str, Any]) -> dict[str, Any]:
        return {"content": None, "tool_calls": [{"name": "tickets.route", "arguments": {"queue": "billing"}}]}

    server = serve(responder=responder, latency_ms=20)
    result, hint = send(request(server, tools=TOOLS), prices={"openai/fake": (1e-6, 2e-6)})

    assert isinstance(result, Completion) and hint is None
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("tickets.route", {"queue": "billing"})]
    assert result.tool_calls[0].id == "call_0_tickets.route"
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert result.cost_usd == pytest.approx(result.prompt_tokens * 1e-6 + result.completion_tokens * 2e-6)
    assert result.latency_s >= 0.02
    assert not result.simulated and not result.cached and result.attempts == 1
    assert server.log.count == 1


@pytest.mark.integration
def test_default_responder_answers_after_a_tool_result(serve: Serve, send: Call) -> None:
    server = serve()
    messages = [
        {"role": "user", "content": "route it"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "tickets.route", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    req = CompletionRequest(model="openai/fake", messages=messages, tools=TOOLS, params=server.params)
    result, _ = send(req)
    assert isinstance(result, Completion)
    assert result.content == "done" and result.tool_calls == []


@pytest.mark.integration
@pytest.mark.parametrize(
    ("raw", "expected"),
    [("{not json", {"_raw": "{not json"}), ("[1, 2]", {"_raw": "[1, 2]"}), ("", {})],
)
def test_malformed_tool_arguments_are_kept_raw(
    serve: Serve, raw: str, expected: dict[str, Any], send: Call
) -> None:
    server = serve(responder=lambda body: {"tool_calls": [{"name": "tickets.route", "arguments": raw}]})
    result, _ = send(request(server, tools=TOOLS))
    assert isinstance(result, Completion)
    assert result.tool_calls[0].arguments == expected


@pytest.mark.integration
def test_known_model_is_priced_by_litellm_unknown_costs_zero(serve: Serve, send: Call) -> None:
    server = serve()
    known, _ = send(
        CompletionRequest(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}], params=server.params)
    )
    # not openai/fake: other tests give it spec prices, which the litellm transport registers process-wide
    unknown, _ = send(request(server).model_copy(update={"model": "openai/priced-nowhere"}))
    assert isinstance(known, Completion) and isinstance(unknown, Completion)
    assert known.cost_usd > 0
    assert unknown.cost_usd == 0.0


@pytest.mark.integration
@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        ("500", "server", 500),
        ("503", "server", 503),
        ("429", "rate_limit", 429),
        ("400", "bad_request", 400),
        ("401", "auth", 401),
        ("403", "auth", 403),
        ("drop", "connection", None),
    ],
)
def test_faults_are_classified(
    serve: Serve, fault: str, kind: str, status: int | None, send: Call
) -> None:
    server = serve(script=(fault,), retry_after="2")
    result, hint = send(request(server))
    assert isinstance(result, CallError)
    assert (result.kind, result.status, result.attempts) == (kind, status, 1)
    assert hint == (2.0 if fault == "429" else None)
    assert server.log.count == 1  # exactly one request: litellm's and the SDK's retries are off


@pytest.mark.integration
def test_hang_becomes_timeout(serve: Serve, send: Call) -> None:
    server = serve(script=("hang",), hang_s=5)
    result, _ = send(request(server, timeout_s=0.3))
    assert isinstance(result, CallError)
    assert result.kind == "timeout" and result.retryable
    assert 0.25 <= result.latency_s < 3
    assert server.log.count == 1


@pytest.mark.integration
def test_a_refused_connection_is_a_connection_error(send: Call) -> None:
    server = OpenAIServer().start()
    params = server.params
    server.stop()  # nothing listens on that port any more
    result, _ = send(
        CompletionRequest(model="openai/fake", messages=[{"role": "user", "content": "x"}], params=params, timeout_s=5)
    )
    assert isinstance(result, CallError) and result.kind == "connection"


@pytest.mark.integration
def test_keys_in_provider_errors_are_scrubbed(serve: Serve, send: Call) -> None:
    server = serve(script=("401",))
    secret_params = {**server.params, "api_key": "sk-live-SECRET0123456789"}
    result, _ = send(request(server, params=secret_params))
    assert isinstance(result, CallError) and result.kind == "auth"
    assert LEAKY_KEY not in result.message
    assert "SECRET0123456789" not in result.message
    assert "[REDACTED:credential]" in result.message


def test_unknown_provider_is_a_bad_request_not_a_crash() -> None:
    result, _ = call(CompletionRequest(model="no-such-provider/x", messages=[{"role": "user", "content": "x"}]))
    assert isinstance(result, CallError) and result.kind == "bad_request"


FAKE_AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"  # assembled so no key-shaped literal is committed


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Incorrect API key provided: sk-proj-abcdEFGH12345678", "abcdEFGH12345678"),
        ("header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9"),
        ("call failed api_key=hunter2secret&x=1", "hunter2secret"),
        ('{"api-key": "abc123def456"}', "abc123def456"),
        (f"aws {FAKE_AWS_KEY} leaked", FAKE_AWS_KEY),
        ("password: correcthorsebattery", "correcthorsebattery"),
    ],
)
def test_scrub_removes_credentials(text: str, secret: str) -> None:
    cleaned = llm.scrub(text)
    assert secret not in cleaned
    assert "[REDACTED:credential]" in cleaned


def test_scrub_keeps_ordinary_text() -> None:
    text = "RateLimitError: too many requests for model gpt-4o-mini (max_tokens=200, skip-this)"
    assert llm.scrub(text) == text


def test_sim_labels_go_to_sim_models_only() -> None:
    sim = {"expected": "billing", "slice": {"channel": "email"}}
    real = CompletionRequest(model="openai/x", messages=[{"role": "user", "content": "x"}], sim=sim, repeat=2)
    simulated = real.model_copy(update={"model": "sim/budget"})

    real_kwargs = llm._kwargs(real)
    assert "metadata" not in real_kwargs
    assert "billing" not in json.dumps(real_kwargs, default=str)
    assert (real_kwargs["max_retries"], real_kwargs["num_retries"], real_kwargs["tools"]) == (0, 0, None)

    sim_kwargs = llm._kwargs(simulated)
    assert sim_kwargs["metadata"] == {"guardrail_sim": sim, "guardrail_repeat": 2}


@pytest.mark.integration
def test_sim_labels_never_reach_a_real_server(serve: Serve, send: Call) -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return {"content": "ok"}

    server = serve(responder=responder)
    result, _ = send(request(server, sim={"expected": "PLANTED-ANSWER-KEY"}))
    assert isinstance(result, Completion)
    assert "PLANTED-ANSWER-KEY" not in json.dumps(seen)
    assert "metadata" not in seen[0]


def test_classify_honours_retry_after_ms() -> None:
    class Throttled(Exception):
        status_code = 429
        litellm_response_headers = {"retry-after-ms": "1500"}  # noqa: RUF012

    error, hint = llm.classify(Throttled("slow down"), "openai/x")
    assert error.kind == "rate_limit" and hint == 1.5


# ---- the loopback server itself: it must not be the bottleneck of what the provider tests measure ----


@pytest.mark.integration
def test_server_carries_64_concurrent_slow_requests(serve: Serve) -> None:
    import httpx

    server = serve(latency_ms=1000)  # long enough for a loaded machine to open all 64 before the first answers

    async def main() -> float:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=10) as client:
            start = time.monotonic()
            answers = await asyncio.gather(
                *(
                    client.post("/chat/completions", json={"model": "m", "messages": [{"content": str(i)}]})
                    for i in range(64)
                )
            )
            assert all(a.status_code == 200 for a in answers)
            return time.monotonic() - start

    elapsed = asyncio.run(main())
    assert server.log.max_in_flight == 64
    assert elapsed < 8.0  # one latency period plus overhead; one at a time would take 64 s


@pytest.mark.integration
def test_server_faults_are_deterministic_per_seed_body_and_attempt() -> None:
    from tests.support.openai_server import ServerConfig

    one = OpenAIServer(ServerConfig(rate_500=0.3, seed=1))
    two = OpenAIServer(ServerConfig(rate_500=0.3, seed=1))
    other = OpenAIServer(ServerConfig(rate_500=0.3, seed=2))
    draws = [(f"body{i}", attempt) for i in range(200) for attempt in range(2)]
    faults = [one._fault(*d) for d in draws]
    assert faults == [two._fault(*d) for d in draws]
    assert faults != [other._fault(*d) for d in draws]
    assert 0.2 < faults.count("500") / len(faults) < 0.4
    # a fault on one attempt does not doom the next attempt of the same body
    assert any(one._fault(b, 0) == "500" and one._fault(b, 1) is None for b, _ in draws)
