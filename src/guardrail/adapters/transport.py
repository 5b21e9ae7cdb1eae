"""Which client sends a model call: the direct OpenAI-compatible client where it can, litellm for everything else.

    route("auto", "openai/x", params)          # "openai-compatible" | "litellm", recorded in run.json per candidate
    transport = Transport("auto")              # or "litellm": every call through litellm
    result, retry_after = await transport.send(request, prices)   # connections close when the event loop ends

"auto" sends `openai/<name>` calls with an `api_base` and only OpenAI's own params straight to the server
(`adapters/openai_compat.py`, why there); simulated models, hosted providers and anything else go through litellm.
Both paths return the same records and errors, so the cache, throttle and retry policy above cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guardrail.adapters import llm, openai_compat
from guardrail.core.llm import CallResult, CompletionRequest
from guardrail.core.llm import TransportMode as Mode
from guardrail.core.llm import TransportRoute as Route


def route(mode: Mode, model: str, params: Mapping[str, Any]) -> Route:
    return "openai-compatible" if mode == "auto" and openai_compat.handles(model, params) else "litellm"


class Transport:
    def __init__(self, mode: Mode = "auto") -> None:
        self.mode = mode
        self._direct = openai_compat.OpenAICompatClient()

    async def send(
        self, request: CompletionRequest, prices: llm.Prices | None = None
    ) -> tuple[CallResult, float | None]:
        if route(self.mode, request.model, request.params) == "openai-compatible":
            return await self._direct.call_once_with_hint(request, prices)
        return await llm.call_once_with_hint(request, prices)


__all__ = ["Mode", "Route", "Transport", "route"]
