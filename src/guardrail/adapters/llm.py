"""One model call through litellm, with every failure turned into a CallError (data, never an exception).

The only module that talks to litellm's completion API. It sends exactly one request: litellm's and the
OpenAI SDK's own retries are off (`num_retries=n` would send 2n+1 requests), because the retry policy, the
throttle and the cache above it must count and shape every request themselves.

    call_once_with_hint(request) -> (Completion | CallError, retry_after_s | None)   # for the retry loop
    LiteLLMTransport()        # the same, as the transport registry's catch-all (adapters/transport.py)
    classify(exc, model) -> (CallError, retry_after_s | None)
    scrub(text) -> text with credentials marked, by the redactor every output uses
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

import guardrail  # noqa: F401  (offline defaults before litellm is imported)
from guardrail.adapters import price_table
from guardrail.core import secrets
from guardrail.core.llm import (
    CallError,
    CallResult,
    Completion,
    CompletionRequest,
    ErrorKind,
    ToolCall,
    is_simulated,
    provider_of,
)
from guardrail.core.llm import TransportRoute as Route
from guardrail.core.redact import Redactor

Prices = Mapping[str, tuple[float, float]]  # model id -> (input cost per token, output cost per token)

_REDACTOR = Redactor.default()
# Our own deadline, a little after the provider's: it fires only when a provider ignores its timeout.
_TIMEOUT_GRACE_S = 1.0

def scrub(text: str) -> str:
    """`text` with credentials (and any personal data) marked `[REDACTED:<kind>]` by the one redactor every
    output uses (core/redact.py): provider errors echo keys back (OpenAI's 401 does)."""
    return _REDACTOR.text(text)


# Modules litellm imports lazily on its first call (and on the first call with tools): seconds of blocking imports
# that would otherwise run inside the first requests' deadlines and turn them into spurious timeouts.
_LAZY_MODULES = (
    "litellm.llms.openai.openai",
    "openai.resources.chat",
    "litellm.proxy._types",
    "litellm.responses.mcp.litellm_proxy_mcp_handler",
)
_preloaded = False


# litellm's own HTTP handler for OpenAI-compatible chat instead of the OpenAI SDK: the same request body, errors
# and headers, at about half the CPU per call (the SDK re-walks every message and tool schema through its
# TypedDict transform), which is what bounds a latency-bound run on two cores (bench/bench_runner.py).
# A value the user set wins.
_LITELLM_ENV = {"EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER": "true"}


def preload() -> None:
    """Import litellm and what its first call needs, once; call before timing or before any deadline starts."""
    global _preloaded
    if _preloaded:
        return
    import importlib

    for key, value in _LITELLM_ENV.items():
        os.environ.setdefault(key, value)

    litellm: Any = importlib.import_module("litellm")
    litellm.suppress_debug_info = True  # otherwise every exception prints a "Give Feedback" banner to stdout
    for name in _LAZY_MODULES:
        with contextlib.suppress(ImportError):  # a litellm version without it: its first call is slower
            importlib.import_module(name)
    _preloaded = True


def _litellm() -> Any:
    preload()
    import litellm

    return litellm


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header the exception carries, if any."""
    for attr in ("litellm_response_headers", "headers"):
        headers = getattr(exc, attr, None)
        if headers:
            break
    else:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    return retry_after_s(headers) if headers else None


def retry_after_s(headers: Mapping[str, Any]) -> float | None:
    """Seconds a provider asked to wait, from retry-after-ms or Retry-After (case-insensitive headers)."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after")
        return None if value is None else max(0.0, float(value))
    except (TypeError, ValueError):
        return None  # an HTTP-date Retry-After: fall back to backoff


def _caused_by_connection(exc: BaseException) -> bool:
    import httpx

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (httpx.TransportError, ConnectionError)) and not isinstance(
            current, httpx.TimeoutException
        ):
            return True
        current = current.__cause__ or current.__context__
    return "connection error" in str(exc).lower()


def classify(exc: BaseException, model: str) -> tuple[CallError, float | None]:
    """A provider exception as a CallError kind (what the retry policy decides on) plus a Retry-After hint."""
    litellm = _litellm()
    import openai

    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    kind: ErrorKind
    if isinstance(exc, (TimeoutError, litellm.Timeout, openai.APITimeoutError)) or status == 408:
        kind = "timeout"
    elif isinstance(exc, litellm.RateLimitError) or status == 429:
        kind = "rate_limit"
    elif isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)) or status in (
        401,
        403,
    ):
        kind = "auth"
    elif isinstance(exc, openai.APIConnectionError) or _caused_by_connection(exc):
        kind, status = "connection", None  # litellm reports a dropped connection as a 500: look at the cause
    elif isinstance(exc, openai.InternalServerError) or (status is not None and status >= 500):
        kind = "server"
    elif (status is not None and 400 <= status < 500) or isinstance(exc, (openai.BadRequestError, ValueError)):
        kind = "bad_request"  # also litellm's plain errors for unknown providers and malformed arguments
    else:
        kind = "server"
    message = scrub(f"{type(exc).__name__}: {exc}".strip())
    error = CallError(model=model, kind=kind, message=message[:2000], status=status)
    return error, _retry_after(exc) if kind in ("rate_limit", "server") else None


def tool_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict; anything but a JSON object is kept as {"_raw": ...}, never a crash."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {"_raw": str(raw)}
    return value if isinstance(value, dict) else {"_raw": str(raw)}


def token_cost(model: str, prompt: int, completion: int, prices: Prices | None = None) -> float:
    """Tokens x the spec's prices, else the list price (bundled table, then litellm); 0 for a model nobody priced."""
    if prices and model in prices:
        input_cost, output_cost = prices[model]
    else:
        input_cost, output_cost = price_table.list_price(model) or _litellm_price(model)
    return prompt * input_cost + completion * output_cost


@functools.lru_cache(maxsize=256)
def _litellm_price(model: str) -> tuple[float, float]:
    """litellm's price per input and output token, for a model the bundled table lacks (looked up once per model:
    importing litellm takes seconds, and the lookup is slow for a model it does not know, which then costs nothing)."""
    try:
        info = _litellm().get_model_info(model)
    except Exception:  # unknown model: litellm raises rather than returning None
        return 0.0, 0.0
    return float(info.get("input_cost_per_token") or 0.0), float(info.get("output_cost_per_token") or 0.0)


def _cost(response: Any, model: str, prompt: int, completion: int, prices: Prices | None) -> float:
    if prices and model in prices:
        return token_cost(model, prompt, completion, prices)
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:  # litellm already priced it (None: it does not know the model)
        return float(hidden["response_cost"] or 0.0)
    try:
        return float(_litellm().completion_cost(completion_response=response) or 0.0)
    except Exception:  # unknown model: litellm raises rather than returning None
        return 0.0


def to_completion(response: Any, request_model: str, latency_s: float, prices: Prices | None = None) -> Completion:
    """A litellm ModelResponse as a Completion record."""
    message = response.choices[0].message
    calls = [
        ToolCall(
            id=str(call.id or f"call_{i}"),
            name=call.function.name,
            arguments=tool_arguments(call.function.arguments),
        )
        for i, call in enumerate(getattr(message, "tool_calls", None) or [])
    ]
    simulated = is_simulated(request_model)
    if simulated:
        # a simulation's latency is the one it plants (what a real model of its class would take), not how long
        # this machine's event loop took to get round to it: deterministic, and independent of load
        planted = (getattr(response, "_hidden_params", None) or {}).get("sim_planted_latency_s")
        if planted is not None:
            latency_s = float(planted)
    usage = getattr(response, "usage", None)
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    return Completion(
        model=request_model,
        content=message.content,
        tool_calls=calls,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=_cost(response, request_model, prompt, completion, prices),
        latency_s=latency_s,
        simulated=simulated,
    )


def _kwargs(request: CompletionRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = secrets.resolve_env(request.params)  # os.environ/NAME, only on the wire
    kwargs.update(
        model=request.model,
        messages=request.messages,
        tools=request.tools or None,
        timeout=request.timeout_s,
        max_retries=0,
        num_retries=0,
    )
    if is_simulated(request.model):
        metadata = dict(kwargs.get("metadata") or {})
        metadata.update(guardrail_sim=request.sim, guardrail_repeat=request.repeat)
        kwargs["metadata"] = metadata
    return kwargs


async def call_once_with_hint(
    request: CompletionRequest, prices: Prices | None = None
) -> tuple[CallResult, float | None]:
    """Send one request; the second item is the provider's Retry-After in seconds when it gave one."""
    litellm = _litellm()  # blocking imports happen before any deadline starts
    started = time.monotonic()
    try:
        async with asyncio.timeout(request.timeout_s + _TIMEOUT_GRACE_S):
            response = await litellm.acompletion(**_kwargs(request))
        return to_completion(response, request.model, time.monotonic() - started, prices), None
    except Exception as exc:  # every provider failure becomes data
        error, retry_after = classify(exc, request.model)
        return error.model_copy(update={"latency_s": time.monotonic() - started}), retry_after


def register_prices(prices: Prices) -> None:
    """Tell litellm the per-token prices the spec gives, so its own bookkeeping agrees with ours and skips a slow
    search through its price list for a model it does not know (about a third of its per-call CPU here)."""
    priced = {
        model: {
            "input_cost_per_token": input_cost,
            "output_cost_per_token": output_cost,
            "litellm_provider": provider_of(model),
            "mode": "chat",
            "cache_creation_input_token_cost": 0.0,  # stated so litellm does not warn about them on stderr
            "cache_read_input_token_cost": 0.0,
        }
        for model, (input_cost, output_cost) in prices.items()
        if not is_simulated(model)
    }
    if priced:
        _litellm().register_model(priced)


_registered: dict[str, tuple[float, float] | None] = {}  # what this process told litellm (its registries are global)


class LiteLLMTransport:
    """Every call the registry's other transports do not take: simulated models, hosted providers, litellm-only
    params. litellm is imported, and simulated models and spec prices registered, at the first request (or by
    `warm`), never before: a run that needs none of it does not pay seconds of imports."""

    route: Route = "litellm"

    def handles(self, model: str, params: Mapping[str, Any]) -> bool:
        return True

    def warm(self, models: Iterable[str], prices: Prices | None) -> None:
        preload()
        if any(is_simulated(model) for model in models) and "sim" not in _registered:
            from guardrail.adapters import sim

            sim.register()
            _registered["sim"] = None
        new = {m: p for m, p in (prices or {}).items() if _registered.get(m) != p}
        if new:
            register_prices(new)
            _registered.update(new)

    async def send(self, request: CompletionRequest, prices: Prices | None) -> tuple[CallResult, float | None]:
        self.warm((request.model,), prices)  # once per model and price list: a set lookup after that
        return await call_once_with_hint(request, prices)


__all__ = [
    "LiteLLMTransport",
    "Prices",
    "call_once_with_hint",
    "classify",
    "preload",
    "register_prices",
    "retry_after_s",
    "scrub",
    "to_completion",
    "token_cost",
    "tool_arguments",
]
