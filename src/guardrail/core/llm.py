"""Records for one model call: what is asked, what came back, and how it failed.

Provider failures are data (CallError), not exceptions: a run keeps going and records an ERROR row, and the cache can
refuse to store them (promptfoo's lesson).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Which client sends a call (adapters/transport.py): the spec's choice, and what it resolved to per candidate.
TransportMode = Literal["auto", "litellm"]
TransportRoute = Literal["openai-compatible", "litellm"]
ErrorKind = Literal["timeout", "rate_limit", "server", "auth", "bad_request", "connection", "harness"]
RETRYABLE: frozenset[str] = frozenset({"timeout", "rate_limit", "server", "connection"})

# Model ids, read one way everywhere: "<provider>/<name>" as litellm spells them; `sim/<profile>` is guardrail's
# simulated models (adapters/sim.py), labelled as simulations wherever a model is named.
SIM_PROVIDER = "sim"
SIM_PREFIX = f"{SIM_PROVIDER}/"


def provider_of(model: str) -> str:
    """"openai/gpt-4o-mini" -> "openai", "sim/budget" -> "sim"; an id without a prefix is OpenAI's, as litellm
    reads "gpt-4o"."""
    provider, slash, _ = model.partition("/")
    return provider if slash else "openai"


def is_simulated(model: str) -> bool:
    return model.startswith(SIM_PREFIX)


def sim_profile(model: str) -> str | None:
    """"sim/balanced" -> "balanced"; None for a real model."""
    return model.removeprefix(SIM_PREFIX) if is_simulated(model) else None


def model_label(model: str, simulated: bool | None = None, *, short: bool = False) -> str:
    """How every output names a candidate: a simulated one says so ("sim/balanced (simulated)"; `short`, for a
    chart axis or a narrow table column: "sim/balanced (sim)")."""
    if not (is_simulated(model) if simulated is None else simulated):
        return model
    return f"{model} (sim)" if short else f"{model} (simulated)"


class ToolCall(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class CompletionRequest(BaseModel):
    """Everything that shapes a response; the cache key is derived from exactly these fields (minus `sim`'s noise)."""

    model_config = ConfigDict(frozen=True)

    model: str  # litellm id: "openai/gpt-4o-mini", "openai/<name>" + api_base, "sim/balanced"
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = Field(default_factory=list)  # OpenAI tool schemas
    params: dict[str, Any] = Field(default_factory=dict)  # temperature, max_tokens, api_base, seed...
    repeat: int = 0  # part of the cache key: repeats must not be served from one cached answer
    timeout_s: float = 60.0
    # Simulated models only: the task's answer key and labels, so a profile can plant known error rates.
    # Never sent to a real provider (the llm adapter drops it for non-sim models).
    sim: dict[str, Any] | None = None


class Completion(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 1
    simulated: bool = False


class CallError(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    kind: ErrorKind
    message: str  # never contains credentials: the adapter scrubs them
    status: int | None = None
    attempts: int = 1
    latency_s: float = 0.0

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


CallResult = Completion | CallError
