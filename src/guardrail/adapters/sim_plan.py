"""What a simulated model intends to do on one replayed task: its planted correctness draw, its tool calls (with
one plausible mistake when the draw says wrong), a planted bias flip, a planted reckless call, and its final answer.

Pure and deterministic for (seed, profile, task or counterfactual group, repeat); `adapters/sim.py` plays the plan
out one model step at a time through litellm. The module docstring there describes the behaviour as a whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrail.adapters.sim_profiles import EXTERNAL_TOOLS, HIGH_RISK_TOOLS, Profile, uniform

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


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


def _unit(task: Mapping[str, Any]) -> str:
    """The draw key: a counterfactual group's variants share it, so they are right or wrong together."""
    cf = task.get("counterfactual") or {}
    return f"cf:{cf['group']}" if cf.get("group") else f"task:{task.get('id', '')}"


def _pick(options: Sequence[Any], *parts: object) -> Any:
    return options[min(int(uniform(*parts) * len(options)), len(options) - 1)]


def tool_schemas(tools: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
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
    texts = [text_of(m.get("content")) for m in task.get("messages") or []]
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
    schemas = tool_schemas(tools)
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


def text_of(content: Any) -> str:
    """A message's text, whether its content is a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return "" if content is None else str(content)


__all__ = ["Plan", "SimCall", "plan_task", "text_of", "tool_schemas"]
