"""Which client sends a model call: an ordered registry of transports, the first that handles a call sends it.

    route("auto", "openai/x", params)          # "openai-compatible" | "litellm", recorded in run.json per candidate
    transport = Transport("auto")              # or "litellm": every call through litellm
    result, retry_after = await transport.send(request, prices)   # connections close when the event loop ends

In "auto" mode the direct OpenAI-compatible client (`adapters/openai_compat.py`, why there) comes first: it takes
`openai/<name>` calls with an `api_base` and only OpenAI's own params; litellm (`adapters/llm.py`) takes everything
else (simulated models, hosted providers). Both return the same records and errors, so the cache, throttle and
retry policy above cannot tell them apart. A new transport is a class with `route`, `handles()` and `send()`, put in
`_registry` before the ones it should win over.

Nothing is imported or set up until a transport sends its first request (litellm alone costs seconds), so a run
whose every answer is in the cache does no client set-up at all. `Transport.send` is the one place every request
passes before it leaves, whichever transport sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from guardrail.adapters.llm import LiteLLMTransport, Prices
from guardrail.adapters.openai_compat import OpenAICompatClient
from guardrail.core.llm import CallResult, CompletionRequest
from guardrail.core.llm import TransportMode as Mode
from guardrail.core.llm import TransportRoute as Route


class ModelTransport(Protocol):
    """One way of sending a request: exactly one attempt, provider trouble returned as a CallError."""

    route: Route

    def handles(self, model: str, params: Mapping[str, Any]) -> bool: ...

    async def send(self, request: CompletionRequest, prices: Prices | None) -> tuple[CallResult, float | None]: ...

    def warm(self, models: Iterable[str], prices: Prices | None) -> None:
        """Pay the transport's imports and registrations now (before a fork, or before any deadline starts)."""


def _registry(mode: Mode) -> list[ModelTransport]:
    """The transports in the order they are asked; the last one handles every call."""
    last: list[ModelTransport] = [LiteLLMTransport()]
    return last if mode == "litellm" else [OpenAICompatClient(), *last]


def route(mode: Mode, model: str, params: Mapping[str, Any]) -> Route:
    """Which transport sends calls to `model` with `params` in this mode."""
    return next(t.route for t in _registry(mode) if t.handles(model, params))


class Transport:
    def __init__(self, mode: Mode = "auto") -> None:
        self.mode = mode
        self._transports = _registry(mode)

    def pick(self, model: str, params: Mapping[str, Any]) -> ModelTransport:
        return next(t for t in self._transports if t.handles(model, params))

    def warm(self, calls: Iterable[tuple[str, Mapping[str, Any]]], prices: Prices | None = None) -> None:
        """Set up, now, every transport that these (model, params) would use."""
        used: dict[int, tuple[ModelTransport, list[str]]] = {}
        for model, params in calls:
            transport = self.pick(model, params)
            used.setdefault(id(transport), (transport, []))[1].append(model)
        for transport, models in used.values():
            transport.warm(models, prices)

    async def send(self, request: CompletionRequest, prices: Prices | None = None) -> tuple[CallResult, float | None]:
        return await self.pick(request.model, request.params).send(request, prices)


__all__ = ["Mode", "ModelTransport", "Route", "Transport", "route"]
