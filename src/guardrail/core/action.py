"""The question put to the action policy (`data.action.deny`), asked the same way everywhere.

Replay (the runner), live enforcement (the hooks) and audits ask the action policy about tool calls: replay one at
a time, the hook two (as asked, and as if a person had approved the tool), the audit a thousand. They build its
input here and read its answer here, so one policy decides the same call the same way in all three places.
Pure and free of pydantic: the live hook's start-up budget has no room for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

ACTION_QUERY = "data.action.deny"
UNDECIDED = {"rule": "action.undecided", "msg": "the action policy gave no decision", "severity": "high"}


def action_context(
    agent: Mapping[str, Any], tools: Mapping[str, Any], data_classes: Mapping[str, Any]
) -> dict[str, Any]:
    """What the policy knows of an agent: its roster entry (as dumped to JSON), the roster's tools and data classes."""
    return {"agent": agent, "tools": tools, "data_classes": data_classes}


def action_call(
    context: str | None, name: str, args: Any, approvals: Iterable[str] = (), history: Sequence[int] = (0, 0, 0)
) -> dict[str, Any]:
    """One call in the policy's `calls`: who made it (a key of `contexts`), the tool and its arguments, the tools a
    person approved in its task, its earlier calls as [log, start, end] of `logs`, and the personal data its
    arguments hold (found here, by the redactor's own search: ACT-003 reads it)."""
    return {
        "context": context,
        "name": name,
        "args": args,
        "approvals": list(approvals),
        "history": list(history),
        "personal_data": _search()(args),
    }


@cache
def _search() -> Callable[[Any], list[list[str]]]:
    """core.redact's personal_data_in, imported on first use: it compiles the shapes, which the live hook's
    parent need not wait for (its forked child searches)."""
    from guardrail.core.redact import personal_data_in

    return personal_data_in


def action_input(
    *,
    agent: Mapping[str, Any],
    tools: Mapping[str, Any],
    data_classes: Mapping[str, Any],
    call: str,
    args: Any,
    approvals: Iterable[str] = (),
    history: Iterable[Mapping[str, Any]] = (),
    and_if_approved: bool = False,
) -> dict[str, Any]:
    """`input` for one call by `agent`, its earlier calls in the task being `history` ({name, args, allowed}).
    With `and_if_approved` a second call follows: the same one as if a person had approved its tool."""
    key = str(agent.get("name") or "agent")
    log = [dict(item) for item in history]
    asked = action_call(key, call, args, approvals, (0, 0, len(log)))
    calls = [asked, {**asked, "approvals": [*asked["approvals"], call]}] if and_if_approved else [asked]
    return {"contexts": {key: action_context(agent, tools, data_classes)}, "logs": [log], "calls": calls}


def violations_by_call(answer: Any, count: int) -> list[list[dict[str, str]]]:
    """The violations the policy's answer names for each of `count` calls, in order; a call's list is empty only
    when the call is allowed. Whoever asks fails closed: an answer that is not a list of violations (undefined,
    malformed) holds every call undecided, and a violation that names no call in range is held against every call.
    """
    found: list[list[dict[str, str]]] = [[] for _ in range(count)]
    if not isinstance(answer, list):
        for row in found:
            row.append(dict(UNDECIDED))
        return found
    for item in answer:
        if not isinstance(item, Mapping):
            item = {"rule": "action.deny", "msg": f"the action policy answered {item!r}, not a violation"}
        index = item.get("call")
        named = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count
        msg = str(item.get("msg", ""))
        violation = {
            "rule": str(item.get("rule", "action.deny")),
            "msg": msg if named else f"{msg} (the violation names no call: held against every call)".lstrip(),
            "severity": str(item.get("severity", "high")),
        }
        for row in [found[index]] if named else found:
            row.append(violation)
    return found


def violations_of(answer: Any) -> list[dict[str, str]]:
    """The violations the answer about one call names (empty only when the call is allowed)."""
    return violations_by_call(answer, 1)[0]


__all__ = ["ACTION_QUERY", "action_call", "action_context", "action_input", "violations_by_call", "violations_of"]
