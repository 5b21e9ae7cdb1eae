"""Simulated candidate models (`sim/<profile>`): a litellm custom provider whose behaviour is planted, so the
harness can be checked against known truth (a planted 10% flip rate must be found; a fair model must not be
flagged).

How a sim answers a replayed task. The provider layer passes the task's answer key in
`metadata={"guardrail_sim": {"task": <Task dump>, "seed": int}, "guardrail_repeat": int}`; the sim then

1. draws, per (seed, profile, task, repeat), whether it handles the task correctly (the profile's
   planted accuracy for the task's difficulty and slice). Variants of one counterfactual group share every
   draw, so a fair profile never moves its decision across variants, and the skewed profile's flips are
   exactly the planted ones;
2. plans its tool calls: the expected calls in order, one call per model step (a realistic agent loop, and
   it lets the policy's denial of one call reach the model before the next); a wrong plan carries one
   plausible mistake (the wrong decision, e.g. another queue; a missing call; or an answer that misses a
   required point); the reckless profile inserts, at its planted rate, a forbidden or unapproved call, or
   one that sends customer data (an e-mail address found in the conversation) to an external tool;
3. reads the conversation to know how far it got (tool calls already answered; denials
   `{"error": "denied by policy"}`) and returns the next call, or the final answer once every planned call is
   answered.

Steps 1 and 2 are `adapters/sim_plan.py` (pure); this module is step 3 and the litellm provider around it.

Without the metadata (someone chats with a sim directly) it gives a short generic reply, labelled as a sim.
Every response says it is simulated (`system_fingerprint`, `_hidden_params["simulated"]`); it also carries the
latency a real model of its class would have taken (`_hidden_params["sim_planted_latency_s"]`), while it waits
only that times GUARDRAIL_SIM_LATENCY_SCALE (default 0.01, so the offline demo finishes in seconds).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guardrail.adapters.sim_plan import SimCall, plan_task, text_of, tool_schemas
from guardrail.adapters.sim_profiles import PROFILES, Profile, latency_s, profile_names
from guardrail.core.llm import SIM_PREFIX, SIM_PROVIDER

PROVIDER = SIM_PROVIDER
FINGERPRINT = "guardrail-sim-v1"
LATENCY_ENV = "GUARDRAIL_SIM_LATENCY_SCALE"
DEFAULT_LATENCY_SCALE = 0.01  # the offline demo finishes in seconds; 1.0 = realistic latencies
CHARS_PER_TOKEN = 4
_NORMALIZE = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class SimReply:
    content: str | None
    tool_calls: list[SimCall] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0  # what this call waits: the planted latency times the latency scale
    planted_latency_s: float = 0.0  # the profile's latency at scale 1.0 (what a real model of its class takes)


# --- one model step ------------------------------------------------------------------------------------


def _wire_names(tools: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Catalog name -> offered name: providers may carry `tickets.route` as `tickets_route`."""
    return {_NORMALIZE.sub("", name.casefold()): name for name in tool_schemas(tools)}


def _progress(messages: Sequence[Mapping[str, Any]], start: int) -> tuple[int, list[str]]:
    """Tool calls already made after the task's own messages, and the names of the calls policy denied."""
    made = 0
    names: dict[str, str] = {}
    denied: list[str] = []
    tool_messages = 0
    for message in messages[start:]:
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                made += 1
                function = call.get("function") or {} if isinstance(call, Mapping) else {}
                names[str(call.get("id"))] = str(function.get("name", "a tool"))
        elif message.get("role") == "tool":
            tool_messages += 1
            content = text_of(message.get("content"))
            if "denied by policy" in content:
                denied.append(names.get(str(message.get("tool_call_id")), "a tool"))
    return max(made, tool_messages), denied


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def latency_scale(params: Mapping[str, Any]) -> float:
    """Per-call `sim_latency_scale`, else GUARDRAIL_SIM_LATENCY_SCALE, else 0.01."""
    value = params.get("sim_latency_scale")
    if value is None:
        value = os.environ.get(LATENCY_ENV, "")
    try:
        return max(0.0, float(value)) if value not in ("", None) else DEFAULT_LATENCY_SCALE
    except (TypeError, ValueError):
        return DEFAULT_LATENCY_SCALE


def profile_for(model: str) -> Profile:
    """`sim/balanced` or `balanced` -> its Profile; an unknown name is a ValueError naming the choices."""
    name = model.removeprefix(SIM_PREFIX)
    if name not in PROFILES:
        raise ValueError(f"unknown simulated model {model!r}; profiles: {', '.join(profile_names())}")
    return PROFILES[name]


def respond(
    profile: Profile,
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] = (),
    metadata: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> SimReply:
    """One model step: the next planned tool call, or the final answer."""
    params = params or {}
    profile = profile.with_overrides(params)
    sim = (metadata or {}).get("guardrail_sim")
    prompt_tokens = _tokens(json.dumps(list(messages), default=str) + json.dumps(list(tools), default=str))
    scale = latency_scale(params)
    if not isinstance(sim, Mapping) or not isinstance(sim.get("task"), Mapping):
        last = next((text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        content = (
            f"[{profile.model} is a simulated model for offline evaluation] I have no task key for this "
            f"conversation, so this is a generic reply. You wrote: {' '.join(last.split())[:120]!r}."
        )
        planted = latency_s(profile, 1.0, "chat", content)
        return SimReply(content, [], prompt_tokens, _tokens(content), planted * scale, planted)

    task = sim["task"]
    seed = int(sim.get("seed") or 0)
    repeat = int((metadata or {}).get("guardrail_repeat") or 0)
    plan = plan_task(profile, task, seed=seed, repeat=repeat, tools=tools)
    step, denied = _progress(messages, len(task.get("messages") or []))
    wire = _wire_names(tools)

    def offered(call: SimCall) -> SimCall | None:
        if not tools:
            return call
        name = wire.get(_NORMALIZE.sub("", call.name.casefold()))
        return SimCall(name, call.args, call.violation) if name else None

    pending = [c for c in (offered(call) for call in plan.calls) if c is not None]
    planted = latency_s(profile, 1.0, seed, task.get("id"), repeat, step)
    delay = planted * scale
    if step < len(pending):
        call = pending[step]
        completion_tokens = _tokens(call.name + json.dumps(call.args)) + 8
        return SimReply(None, [call], prompt_tokens, completion_tokens, delay, planted)
    content = plan.answer
    answer_spec = (task.get("expect") or {}).get("answer") or {}
    honest = [name for name in denied if name not in {c.name for c in plan.calls if c.violation}]
    if honest and not answer_spec.get("one_of") and answer_spec.get("equals") is None:
        content += f" Note: {', '.join(sorted(set(honest)))} was denied by policy; a human needs to follow up."
    return SimReply(content, [], prompt_tokens, _tokens(content), delay, planted)


# --- litellm glue --------------------------------------------------------------------------------------


def _call_id(model: str, messages: Sequence[Mapping[str, Any]], index: int) -> str:
    """Deterministic and unique within a conversation (the step is part of it), so cached replays match."""
    seen = json.dumps(list(messages), default=str, sort_keys=True)
    digest = hashlib.blake2b(f"{model}\x1f{seen}\x1f{index}".encode(), digest_size=8).hexdigest()
    return f"call_{len(messages)}_{index}_{digest}"


def _fill(model_response: Any, model: str, reply: SimReply, messages: Sequence[Mapping[str, Any]]) -> Any:
    """Write a SimReply into litellm's ModelResponse (usage and model set, so litellm computes the cost)."""
    from litellm.types.utils import ChatCompletionMessageToolCall, Function, Usage

    choice = model_response.choices[0]
    choice.message.content = reply.content
    if reply.tool_calls:
        choice.message.tool_calls = [
            ChatCompletionMessageToolCall(
                id=_call_id(model, messages, i),
                type="function",
                function=Function(name=call.name, arguments=json.dumps(call.args)),
            )
            for i, call in enumerate(reply.tool_calls)
        ]
        choice.finish_reason = "tool_calls"
    else:
        choice.finish_reason = "stop"
    model_response.model = f"{SIM_PREFIX}{model.removeprefix(SIM_PREFIX)}"
    model_response.system_fingerprint = FINGERPRINT
    model_response.usage = Usage(
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        total_tokens=reply.prompt_tokens + reply.completion_tokens,
    )
    model_response._hidden_params["simulated"] = True
    model_response._hidden_params["sim_planted_latency_s"] = reply.planted_latency_s
    return model_response


def _reply_for(
    model: str, messages: list[Any], optional_params: Mapping[str, Any] | None, litellm_params: Any
) -> SimReply:
    from litellm.llms.custom_llm import CustomLLMError

    try:
        profile = profile_for(model)
    except ValueError as exc:
        raise CustomLLMError(status_code=404, message=str(exc)) from exc
    params = dict(optional_params or {})
    metadata = (litellm_params or {}).get("metadata") if isinstance(litellm_params, Mapping) else None
    return respond(profile, messages, tools=params.get("tools") or [], metadata=metadata, params=params)


_HANDLER: Any = None


def handler() -> Any:
    """The one CustomLLM instance (created on first use, so litellm is imported only when a sim is needed)."""
    global _HANDLER
    if _HANDLER is not None:
        return _HANDLER
    from litellm import CustomLLM

    class SimLLM(CustomLLM):
        """litellm calls `completion` for sync calls and `acompletion` for async ones; both are here."""

        def completion(self, *args: Any, **kwargs: Any) -> Any:
            model, messages = kwargs["model"], kwargs["messages"]
            reply = _reply_for(model, messages, kwargs.get("optional_params"), kwargs.get("litellm_params"))
            if reply.latency_s > 0:
                time.sleep(reply.latency_s)
            return _fill(kwargs["model_response"], model, reply, messages)

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            model, messages = kwargs["model"], kwargs["messages"]
            reply = _reply_for(model, messages, kwargs.get("optional_params"), kwargs.get("litellm_params"))
            if reply.latency_s > 0:
                await asyncio.sleep(reply.latency_s)  # never blocks the event loop
            return _fill(kwargs["model_response"], model, reply, messages)

    _HANDLER = SimLLM()
    return _HANDLER


def model_prices() -> dict[str, dict[str, Any]]:
    """litellm model-cost entries for every profile (keys `sim/<profile>`)."""
    return {
        profile.model: {
            "litellm_provider": PROVIDER,
            "mode": "chat",
            "input_cost_per_token": profile.input_cost_per_token,
            "output_cost_per_token": profile.output_cost_per_token,
            "cache_creation_input_token_cost": 0.0,
            "cache_read_input_token_cost": 0.0,
            "supports_function_calling": True,
            "supports_tool_choice": True,
        }
        for profile in PROFILES.values()
    }


def register() -> None:
    """Make `sim/<profile>` callable through litellm (idempotent): the provider, and each profile's prices."""
    import litellm

    if not any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": handler()})
    prices = model_prices()
    if any(
        (litellm.model_cost.get(key) or {}).get("input_cost_per_token") != entry["input_cost_per_token"]
        for key, entry in prices.items()
    ):
        litellm.register_model(prices)


__all__ = [
    "DEFAULT_LATENCY_SCALE",
    "FINGERPRINT",
    "LATENCY_ENV",
    "PROFILES",
    "PROVIDER",
    "Profile",
    "SimReply",
    "handler",
    "latency_scale",
    "model_prices",
    "profile_for",
    "profile_names",
    "register",
    "respond",
]
