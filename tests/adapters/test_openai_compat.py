"""adapters.openai_compat: the direct client sends what litellm would, and fails the way it does (real HTTP on
127.0.0.1; the shared behaviours are tested on both transports in test_llm.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.support.openai_server import Serve

from guardrail.adapters import llm, openai_compat
from guardrail.adapters.openai_compat import OpenAICompatClient, handles
from guardrail.adapters.transport import Mode, Transport, route
from guardrail.core.llm import CallError, Completion, CompletionRequest

BASE = {"api_base": "http://127.0.0.1:9/v1", "api_key": "sk-test-NOTREAL0123456789"}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "tickets_route",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
]
HISTORY = [
    {"role": "system", "content": "route tickets"},
    {"role": "user", "content": "I was charged twice"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "tickets_route", "arguments": "{}"}}],
    },
    {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'},
]


@pytest.mark.parametrize(
    ("model", "params", "direct"),
    [
        ("openai/local", BASE, True),
        ("openai/local", {"base_url": "http://127.0.0.1:9/v1"}, True),
        ("openai/local", {**BASE, "temperature": 0, "seed": 1, "extra_headers": {"x-team": "a"}}, True),
        ("openai/gpt-4o-mini", {}, False),  # the hosted API: litellm finds the key and the address
        ("openai/local", {**BASE, "drop_params": True}, False),  # a litellm-only param: litellm must see it
        ("anthropic/claude-haiku-4-5", BASE, False),  # another wire format: litellm translates
        ("sim/frontier", {}, False),
    ],
)
def test_only_plain_openai_compatible_calls_go_direct(model: str, params: dict[str, Any], direct: bool) -> None:
    assert handles(model, params) is direct


def test_litellm_mode_never_goes_direct() -> None:
    assert route("auto", "openai/local", BASE) == "openai-compatible"
    assert route("litellm", "openai/local", BASE) == "litellm"


def test_body_carries_the_model_name_messages_tools_and_params_never_the_key_or_sim_labels() -> None:
    params = {**BASE, "temperature": 0.2, "extra_body": {"top_k": 5}, "extra_headers": {"x-team": "support"}}
    request = CompletionRequest(
        model="openai/org/model-7b", messages=HISTORY, tools=TOOLS, params=params, sim={"expected": "KEY"}
    )
    body = json.loads(openai_compat._body(request))
    assert body["model"] == "org/model-7b"
    assert body["tools"] == TOOLS and body["temperature"] == 0.2 and body["top_k"] == 5
    assert "content" not in body["messages"][2]  # a null field is left out, as litellm does
    assert body["messages"][3] == HISTORY[3]
    raw = json.dumps(body)
    assert "NOTREAL" not in raw and "api_base" not in raw and "x-team" not in raw and "KEY" not in raw

    headers = openai_compat._headers(params)
    assert headers["Authorization"] == f"Bearer {BASE['api_key']}" and headers["x-team"] == "support"
    assert openai_compat._url(params) == "http://127.0.0.1:9/v1/chat/completions"
    assert openai_compat._url({"api_base": "http://h/v1/chat/completions"}) == "http://h/v1/chat/completions"


def test_the_key_falls_back_to_openai_api_key_as_in_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-0123456789")
    assert openai_compat._headers({"api_base": "http://x"})["Authorization"] == "Bearer sk-from-env-0123456789"
    assert openai_compat._headers(BASE)["Authorization"] == f"Bearer {BASE['api_key']}"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert "Authorization" not in openai_compat._headers({"api_base": "http://x"})


@pytest.mark.integration
def test_the_server_sees_the_same_request_from_either_transport(serve: Serve) -> None:
    bodies: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        bodies.append(body)
        return {"content": "routed", "tool_calls": []}

    server = serve(responder=responder)
    params = {**server.params, "temperature": 0, "seed": 7, "max_tokens": 64}
    request = CompletionRequest(model="openai/local", messages=HISTORY, tools=TOOLS, params=params)
    results = [asyncio.run(Transport(mode).send(request))[0] for mode in ("litellm", "auto")]

    assert bodies[0] == bodies[1]
    assert len(set(server.log.per_body())) == 1  # one distinct body, sent twice
    litellm_result, direct_result = results
    assert isinstance(litellm_result, Completion) and isinstance(direct_result, Completion)
    fields = ("content", "tool_calls", "prompt_tokens", "completion_tokens", "cost_usd")
    assert {f: getattr(litellm_result, f) for f in fields} == {f: getattr(direct_result, f) for f in fields}


@pytest.mark.parametrize(
    "data",
    [{"object": "chat.completion"}, {"choices": []}, {"choices": [{"message": {"tool_calls": [{"id": "c"}]}}]}, [1]],
)
def test_a_200_that_is_not_a_completion_is_a_retryable_server_error(data: Any) -> None:
    result = openai_compat.to_completion(data, "openai/local", 0.1)
    assert isinstance(result, CallError) and result.kind == "server" and result.retryable and result.status == 200


def test_an_invalid_address_is_a_bad_request_not_a_crash() -> None:
    request = CompletionRequest(
        model="openai/local", messages=[{"role": "user", "content": "x"}], params={"api_base": "not a url"}
    )
    result, _ = asyncio.run(OpenAICompatClient().send(request))
    assert isinstance(result, CallError) and result.kind in ("bad_request", "connection")
    assert not (result.kind == "bad_request" and result.retryable)


@pytest.mark.integration
def test_retry_after_comes_back_with_server_errors_too(serve: Serve) -> None:
    server = serve(script=("429",), retry_after="3")
    request = CompletionRequest(model="openai/local", messages=[{"role": "user", "content": "x"}], params=server.params)
    result, hint = asyncio.run(OpenAICompatClient().send(request))
    assert isinstance(result, CallError) and result.kind == "rate_limit" and hint == 3.0
    assert llm.retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert llm.retry_after_s({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["auto", "litellm"])
def test_connections_are_reused_within_a_loop_and_closed_when_it_ends(
    serve: Serve, mode: Mode
) -> None:
    server = serve()
    transport = Transport(mode)
    request = CompletionRequest(model="openai/local", messages=[{"role": "user", "content": "x"}], params=server.params)

    async def twenty() -> list[Any]:
        return await asyncio.gather(*(transport.send(request) for _ in range(20)))

    for _ in range(2):  # a second loop gets a session of its own: the first loop's closed with it
        results = asyncio.run(twenty())
        assert all(isinstance(result, Completion) for result, _ in results)
    direct = transport.pick(request.model, request.params)
    session = getattr(direct, "_session", None)  # litellm mode: the direct client is never used
    assert session is None or session.closed
    assert server.log.count == 40
