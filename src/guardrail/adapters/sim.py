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

from guardrail.adapters.sim_profiles import (
    EXTERNAL_TOOLS,
    HIGH_RISK_TOOLS,
    PROFILES,
    Profile,
    latency_s,
    profile_names,
    uniform,
)
from guardrail.core.llm import SIM_PREFIX, SIM_PROVIDER

PROVIDER = SIM_PROVIDER
FINGERPRINT = "guardrail-sim-v1"
LATENCY_ENV = "GUARDRAIL_SIM_LATENCY_SCALE"
DEFAULT_LATENCY_SCALE = 0.01  # the offline demo finishes in seconds; 1.0 = realistic latencies
CHARS_PER_TOKEN = 4
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_NORMALIZE = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class SimCall:
    name: str
    args: dict[str, Any]
    violation: bool = False  # planted by the reckless profile; the sim's answer never mentions it


@dataclass(frozen=True)
class Plan:
    """What the sim will do on one task: its calls (one per step), its final answer, and why."""

    calls: tuple[SimCall, ...]
    answer: str
    correct: bool  # the planted correctness draw (before any bias flip or violation)
    mistake: str | None = None  # "wrong_decision" | "missing_call" | "bad_answer"
    decision: str | None = None  # the decision the plan expresses (tool argument or answer choice)
    flipped: bool = False  # the planted bias changed this variant's decision
    violation: SimCall | None = None


@dataclass(frozen=True)
class SimReply:
    content: str | None
    tool_calls: list[SimCall] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0  # what this call waits: the planted latency times the latency scale
    planted_latency_s: float = 0.0  # the profile's latency at scale 1.0 (what a real model of its class takes)


# --- planning ------------------------------------------------------------------------------------------


def _unit(task: Mapping[str, Any]) -> str:
    """The draw key: a counterfactual group's variants share it, so they are right or wrong together."""
    cf = task.get("counterfactual") or {}
    return f"cf:{cf['group']}" if cf.get("group") else f"task:{task.get('id', '')}"


def _pick(options: Sequence[Any], *parts: object) -> Any:
    return options[min(int(uniform(*parts) * len(options)), len(options) - 1)]


def _schemas(tools: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tool name -> JSON schema of its parameters, from OpenAI-style tool definitions."""
    out: dict[str, dict[str, Any]] = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            params = function.get("parameters")
            out[function["name"]] = dict(params) if isinstance(params, Mapping) else {}
    return out


def _decision_info(task: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> tuple[str | None, list[str]]:
    """The correct decision and the alternatives a mistaken or biased model could pick."""
    spec = task.get("decision") or {}
    expect = task.get("expect") or {}
    correct = expect.get("decision")
    tool, arg = spec.get("tool"), spec.get("arg")
    if tool and arg and correct is None:
        for call in expect.get("tool_calls") or []:
            if call.get("name") == tool and arg in (call.get("args") or {}):
                correct = str(call["args"][arg])
                break
    choices = [str(c) for c in spec.get("choices") or []]
    if not choices and tool and arg:
        prop = ((schemas.get(tool) or {}).get("properties") or {}).get(arg) or {}
        choices = [str(c) for c in prop.get("enum") or []]
    return (str(correct) if correct is not None else None), choices


def _other(value: str | None, choices: Sequence[str], *parts: object) -> str | None:
    others = [c for c in choices if value is None or c.casefold() != value.casefold()]
    return _pick(others, *parts) if others else None


def _set_decision(calls: list[SimCall], spec: Mapping[str, Any], decision: str) -> list[SimCall]:
    tool, arg = spec.get("tool"), spec.get("arg")
    return [SimCall(c.name, {**c.args, arg: decision}) if c.name == tool and arg else c for c in calls]


def _customer_data(task: Mapping[str, Any]) -> str:
    """Something personal from the conversation: an e-mail address if there is one (what gets leaked)."""
    texts = [_text(m.get("content")) for m in task.get("messages") or []]
    texts.append(json.dumps(task.get("tool_results") or {}))
    for text in texts:
        match = _EMAIL.search(text)
        if match:
            return match.group(0)
    last_user = next(
        (t for m, t in zip(task.get("messages") or [], texts, strict=False) if m.get("role") == "user"), ""
    )
    return " ".join(last_user.split())[:80]


def _leak_args(schema: Mapping[str, Any], task: Mapping[str, Any], leak: str, *, external: bool) -> dict[str, Any]:
    """Arguments for a reckless call: schema-shaped; customer data goes wherever a string fits on an external
    tool (and into address fields anywhere)."""
    results = json.dumps(task.get("tool_results") or {})
    amount_match = re.search(r'"(?:amount|total)":\s*([0-9.]+)', results)
    amount = float(amount_match.group(1)) if amount_match else 50.0
    known: dict[str, Any] = {}
    for call in (task.get("expect") or {}).get("tool_calls") or []:
        known.update(call.get("args") or {})
    args: dict[str, Any] = {}
    for prop, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        if prop in known:
            args[prop] = known[prop]
        elif isinstance(spec, Mapping) and spec.get("enum"):
            args[prop] = spec["enum"][0]
        elif kind in ("number", "integer"):
            args[prop] = amount if kind == "number" else int(amount)
        elif kind == "boolean":
            args[prop] = True
        elif kind in ("array", "object"):
            continue
        elif external or "mail" in prop or prop in {"to", "recipient"}:
            args[prop] = leak if ("mail" in prop or prop in {"to", "recipient", "query", "q"}) else f"Re: {leak}"
        else:
            args[prop] = "requested by the customer"
    return args or {"note": leak}


def _complete_args(call: SimCall, schema: Mapping[str, Any]) -> SimCall:
    """Fill required string arguments the answer key leaves open (a draft's body), as a real model would."""
    props = schema.get("properties") or {}
    missing = [
        p
        for p in schema.get("required") or []
        if p not in call.args
        and isinstance(props.get(p), Mapping)
        and props[p].get("type") == "string"
        and not props[p].get("enum")
    ]
    if not missing:
        return call
    topic = str(call.args.get("slug") or call.args.get("title") or call.name).replace("-", " ").strip().capitalize()
    filled = {p: topic if p in {"title", "subject", "name"} else f"{topic}: text written by the agent" for p in missing}
    return SimCall(call.name, {**call.args, **filled}, call.violation)


def _violation(
    profile: Profile, task: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]], *key: object
) -> SimCall | None:
    """The reckless act, if the profile commits one on this task: a forbidden call, an unapproved high-risk
    call, or customer data sent to an external tool (in that order of preference, among the offered tools)."""
    if profile.violation_rate <= 0 or uniform("violate", profile.name, *key) >= profile.violation_rate:
        return None
    offered = list(task.get("tools") or [])
    expect = task.get("expect") or {}
    approved = set(task.get("approvals") or [])
    expected = {c.get("name") for c in expect.get("tool_calls") or []}
    forbidden = [t for t in offered if t in set(expect.get("must_not_call") or [])]
    unapproved = [t for t in offered if t in HIGH_RISK_TOOLS and t not in approved and t not in expected]
    external = [t for t in offered if t in EXTERNAL_TOOLS]
    choice = (forbidden or unapproved or external or [None])[0]
    if choice is None:
        return None
    args = _leak_args(schemas.get(choice) or {}, task, _customer_data(task), external=choice in EXTERNAL_TOOLS)
    return SimCall(choice, args, violation=True)


def _short(value: Any, limit: int = 48) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer(
    task: Mapping[str, Any],
    calls: Sequence[SimCall],
    decision: str | None,
    correct_decision: str | None,
    *,
    drop: str | None,
) -> str:
    """The final answer: meets expect.answer when the plan is right; reflects the plan's decision."""
    expect = (task.get("expect") or {}).get("answer") or {}
    spec = task.get("decision") or {}
    if expect.get("one_of"):
        choices = [str(c) for c in expect["one_of"]]
        if decision and any(decision.casefold() == c.casefold() for c in choices):
            return decision if drop is None else _other(decision, choices, "bad", drop) or decision
        return choices[0] if drop is None else f"Unsure between {', '.join(choices)}."
    if expect.get("equals") is not None:
        wanted = str(expect["equals"])
        if drop is not None:
            return f"{wanted} (pending review)"
        if decision and correct_decision and decision.casefold() != correct_decision.casefold():
            return wanted.replace(correct_decision, decision) if correct_decision in wanted else decision
        return wanted
    points = [str(p) for p in expect.get("contains") or []]
    if decision and correct_decision and decision.casefold() != correct_decision.casefold():
        points = [decision if p.casefold() == correct_decision.casefold() else p for p in points]
    if drop is not None:
        # a vague answer that misses one required point (and says nothing that could contain it by accident)
        rest = [p for p in points if p != drop]
        return "I looked into this and passed it on for follow-up." + (f" Notes: {'; '.join(rest)}." if rest else "")
    parts: list[str] = []
    done = [c for c in calls if not c.violation]
    if done:
        parts.append(
            "Done: "
            + "; ".join(f"{c.name} ({', '.join(f'{k}: {_short(v)}' for k, v in c.args.items())})" for c in done)
            + "."
        )
    if decision and not (spec.get("tool") and spec.get("arg")):
        parts.append(f"Decision: {decision}.")
    if points:
        parts.append(f"Summary: {'; '.join(points)}.")
    return " ".join(parts) or "Done."


def plan_task(
    profile: Profile,
    task: Mapping[str, Any],
    *,
    seed: int = 0,
    repeat: int = 0,
    tools: Sequence[Mapping[str, Any]] = (),
) -> Plan:
    """The sim's whole behaviour on one task, deterministic for (seed, profile, task or group, repeat)."""
    schemas = _schemas(tools)
    expect = task.get("expect") or {}
    spec = task.get("decision") or {}
    unit = _unit(task)
    key = (seed, unit, repeat)
    expected = [
        _complete_args(SimCall(str(c.get("name")), dict(c.get("args") or {})), schemas.get(str(c.get("name"))) or {})
        for c in expect.get("tool_calls") or []
    ]
    correct_decision, choices = _decision_info(task, schemas)

    # correctness: a mixture of a latent shared by all profiles (hard tasks are hard for everyone) and the
    # profile's own draw; both are uniform, so P(correct) is exactly the planted rate
    shared = uniform("mix", profile.name, *key) < profile.shared_difficulty
    u = uniform("shared", *key) if shared else uniform("own", profile.name, *key)
    correct = u < profile.p_correct(task)

    calls, decision, mistake, drop = list(expected), correct_decision, None, None
    if not correct:
        answer_spec = expect.get("answer") or {}
        kinds: list[str] = []
        if correct_decision is not None and _other(correct_decision, choices, "probe"):
            kinds += ["wrong_decision"] * 3
        if expected:
            kinds.append("missing_call")
        if answer_spec.get("contains") or answer_spec.get("one_of") or answer_spec.get("equals") is not None:
            kinds.append("bad_answer")
        mistake = _pick(kinds, "mistake", profile.name, *key) if kinds else None
        if mistake == "wrong_decision":
            decision = _other(correct_decision, choices, "wrong", profile.name, *key)
            calls = _set_decision(calls, spec, decision) if decision else calls
        elif mistake == "missing_call":
            gone = _pick(range(len(calls)), "missing", profile.name, *key)
            if spec.get("tool") and calls[gone].name == spec.get("tool"):
                decision = None
            calls = [c for i, c in enumerate(calls) if i != gone]
        elif mistake == "bad_answer":
            contains = [str(p) for p in answer_spec.get("contains") or []]
            drop = _pick(contains, "drop", profile.name, *key) if contains else "answer"

    flipped = False
    bias = profile.bias
    cf = task.get("counterfactual") or {}
    if (
        bias is not None
        and cf.get("attribute") == bias.attribute
        and cf.get("value") != bias.reference
        and uniform("flip", profile.name, *key) < bias.rate
    ):
        # the reference variant made no decision: this one makes the correct call, then flips it
        if decision is None:
            calls, decision = list(expected), correct_decision
        flipped_to = _other(decision, choices, "flip", profile.name, *key)
        if flipped_to is not None:
            decision, flipped = flipped_to, True
            calls = _set_decision(calls, spec, decision)

    violation = _violation(profile, task, schemas, *key)
    if violation is not None:
        position = _pick(range(len(calls) + 1), "where", profile.name, *key)
        calls.insert(position, violation)

    answer = _answer(task, calls, decision, correct_decision, drop=drop)
    return Plan(tuple(calls), answer, correct, mistake, decision, flipped, violation)


# --- one model step ------------------------------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return "" if content is None else str(content)


def _wire_names(tools: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Catalog name -> offered name: providers may carry `tickets.route` as `tickets_route`."""
    return {_NORMALIZE.sub("", name.casefold()): name for name in _schemas(tools)}


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
            content = _text(message.get("content"))
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
        last = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
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
    "Plan",
    "Profile",
    "SimCall",
    "SimReply",
    "handler",
    "latency_scale",
    "model_prices",
    "plan_task",
    "profile_for",
    "profile_names",
    "register",
    "respond",
]
