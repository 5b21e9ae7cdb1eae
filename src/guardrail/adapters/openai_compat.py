"""A direct client for OpenAI-compatible chat servers: `openai/<name>` with an `api_base`, one aiohttp POST per call.

Why not litellm for these: litellm spends about 6 ms of CPU on every call here (it builds the request in a thread,
computes its cost bookkeeping and logging payloads, and runs httpx over an aiohttp transport), against 0.3 ms for
the request itself (bench/bench_runner.py prints both). Against a fast local server (vLLM, llama.cpp, Ollama, the
test server) a run is then bound by litellm's CPU, not by the model. Such a server speaks the OpenAI wire format
already, so there is nothing for litellm to translate: the request body is the model name, the messages, the tools
and the params as given. Every other provider, and any call with a param this client does not send verbatim, goes
through litellm (`adapters/transport.py` decides; `transport: litellm` in the spec sends everything there).

The contract is adapters.llm's: exactly one request (no retries here), a Completion or a CallError (never raises for
provider trouble), credentials scrubbed from every message, the provider's Retry-After returned as a hint.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any

from guardrail.adapters import llm
from guardrail.core import secrets
from guardrail.core.llm import CallError, CallResult, Completion, CompletionRequest, ErrorKind, ToolCall
from guardrail.core.llm import TransportRoute as Route

PREFIX = "openai/"
# Params sent verbatim in the request body (the OpenAI chat completions API's own names).
BODY_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "response_format",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning_effort",
        "user",
    }
)
# Params that shape the HTTP request rather than its body.
CLIENT_PARAMS = frozenset({"api_base", "base_url", "api_key", "extra_headers", "extra_body"})
_MAX_ERROR_CHARS = 2000


def handles(model: str, params: Mapping[str, Any]) -> bool:
    """An OpenAI-compatible server named by its address, with nothing litellm would have to translate."""
    return (
        model.startswith(PREFIX)
        and bool(params.get("api_base") or params.get("base_url"))
        and all(key in BODY_PARAMS or key in CLIENT_PARAMS for key in params)
    )


def _url(params: Mapping[str, Any]) -> str:
    base = str(params.get("api_base") or params.get("base_url")).rstrip("/")
    return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


def _body(request: CompletionRequest) -> bytes:
    """The JSON litellm would send for the same request (it leaves out a message's null fields, such as an
    assistant's `content` beside its tool calls), so a server answers both transports alike."""
    params = request.params
    messages = [{k: v for k, v in m.items() if v is not None} for m in request.messages]
    body: dict[str, Any] = {"model": request.model[len(PREFIX) :], "messages": messages}
    if request.tools:
        body["tools"] = request.tools
    body.update((key, value) for key, value in params.items() if key in BODY_PARAMS)
    body.update(params.get("extra_body") or {})
    return json.dumps(body, separators=(",", ":")).encode()


def _headers(params: Mapping[str, Any]) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = params.get("api_key") or os.environ.get("OPENAI_API_KEY")  # litellm's fallback for `openai/` ids too
    if key:
        headers["Authorization"] = f"Bearer {key}"
    headers.update({str(k): str(v) for k, v in (params.get("extra_headers") or {}).items()})
    return headers


def _kind(status: int) -> ErrorKind:
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate_limit"
    if status in (401, 403):
        return "auth"
    if status >= 500:
        return "server"
    return "bad_request"


def _error_text(raw: bytes) -> str:
    """The provider's own message when it sent OpenAI's error shape, else the start of the body."""
    text = raw.decode("utf-8", "replace")
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return text


def to_completion(data: Any, model: str, latency_s: float, prices: llm.Prices | None = None) -> CallResult:
    """A chat completion body as a Completion; a 200 whose body is not one is the server's error."""
    try:
        message = data["choices"][0]["message"]
        calls = [
            ToolCall(
                id=str(call.get("id") or f"call_{i}"),
                name=str(call["function"]["name"]),
                arguments=llm.tool_arguments(call["function"].get("arguments")),
            )
            for i, call in enumerate(message.get("tool_calls") or [])
        ]
        usage = data.get("usage") or {}
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        content = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        detail = f"not a chat completion ({type(exc).__name__}: {exc})"
        return CallError(model=model, kind="server", message=llm.scrub(detail), status=200, latency_s=latency_s)
    return Completion(
        model=model,
        content=None if content is None else str(content),
        tool_calls=calls,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=llm.token_cost(model, prompt, completion, prices),
        latency_s=latency_s,
    )


class OpenAICompatClient:
    """The transport for plain OpenAI-compatible servers (`adapters/transport.py`).

    One aiohttp session per event loop, opened at the first request, kept open across calls (keep-alive) and
    closed when the loop ends: asyncio.run() closes every unfinished async generator before it closes its loop,
    and a generator started with the session closes it then, inside that loop. No caller has to remember to."""

    route: Route = "openai-compatible"

    def __init__(self) -> None:
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None

    def handles(self, model: str, params: Mapping[str, Any]) -> bool:
        return handles(model, params)

    def warm(self, models: Iterable[str], prices: llm.Prices | None) -> None:
        import aiohttp  # noqa: F401  (its import is this client's only set-up outside an event loop)

    async def send(
        self, request: CompletionRequest, prices: llm.Prices | None = None
    ) -> tuple[CallResult, float | None]:
        """Send one request; the second item is the provider's Retry-After in seconds when it gave one."""
        import aiohttp

        session = await self._session_here()
        params = secrets.resolve_env(request.params)  # os.environ/NAME, only on the wire
        started = time.monotonic()

        def failed(kind: ErrorKind, message: str, status: int | None = None) -> CallError:
            message = llm.scrub(message)[:_MAX_ERROR_CHARS]
            latency = time.monotonic() - started
            return CallError(model=request.model, kind=kind, message=message, status=status, latency_s=latency)

        try:
            async with asyncio.timeout(request.timeout_s):
                async with session.post(_url(params), data=_body(request), headers=_headers(params)) as response:
                    raw = await response.read()
                    status = response.status
                    headers = response.headers
        except TimeoutError:
            return failed("timeout", f"Timeout: no answer within {request.timeout_s:g} s"), None
        except aiohttp.InvalidURL as exc:
            return failed("bad_request", f"Invalid api_base: {exc}"), None
        except (aiohttp.ClientError, OSError) as exc:
            return failed("connection", f"Connection error: {type(exc).__name__}: {exc}"), None
        latency_s = time.monotonic() - started
        if status != 200:
            kind = _kind(status)
            hint = llm.retry_after_s(headers) if kind in ("rate_limit", "server") else None
            return failed(kind, f"HTTP {status}: {_error_text(raw)}", status), hint
        try:
            data = json.loads(raw)
        except ValueError:
            return failed("server", f"HTTP 200 with a body that is not JSON: {raw[:200]!r}", status), None
        return to_completion(data, request.model, latency_s, prices), None

    async def _session_here(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            import aiohttp

            # Only our throttle limits connections (limit=0); proxies from the environment as httpx would.
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=True)
            self._loop = loop
            self._guard = _close_at_loop_end(self._session)
            await anext(self._guard)
        return self._session


async def _close_at_loop_end(session: Any) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await session.close()


__all__ = ["BODY_PARAMS", "CLIENT_PARAMS", "PREFIX", "OpenAICompatClient", "handles", "to_completion"]
