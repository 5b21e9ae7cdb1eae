"""The per-call question put to the action policy (`data.action.decision`), asked the same way everywhere.

Replay (the runner), live enforcement (the hooks) and audits ask the action policy about one tool call. They build
its input here and read its answer here, so one policy decides the same call the same way in all three places.
Pure and free of pydantic: the live hook's start-up budget has no room for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ACTION_QUERY = "data.action.decision"


def action_input(
    *,
    agent: Mapping[str, Any],
    tools: Mapping[str, Any],
    data_classes: Mapping[str, Any],
    call: str,
    args: Any,
    approvals: Iterable[str] = (),
    history: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """`input` for the action policy: the roster agent (as dumped to JSON), the roster's tools and data classes,
    the call, the tools a person approved in this task, and the earlier calls ({name, args, allowed})."""
    return {
        "agent": agent,
        "tools": tools,
        "data_classes": data_classes,
        "call": {"name": call, "args": args},
        "approvals": list(approvals),
        "history": [dict(item) for item in history],
    }


def violations_of(decision: Any) -> list[dict[str, str]]:
    """The violations an answer names, each {rule, msg, severity}; empty only when the call is allowed.

    An answer that is not a decision (undefined, malformed) is itself a violation, and so is a denial that names
    no rule: whoever asks fails closed.
    """
    if not isinstance(decision, Mapping):
        return [{"rule": "action.undecided", "msg": "the action policy gave no decision", "severity": "high"}]
    found = [
        {
            "rule": str(v.get("rule", "action.deny")),
            "msg": str(v.get("msg", "")),
            "severity": str(v.get("severity", "high")),
        }
        for v in decision.get("violations") or []
        if isinstance(v, Mapping)
    ]
    if decision.get("allow", False) is not True and not found:
        found.append({"rule": "action.deny", "msg": "denied by the action policy", "severity": "high"})
    return found


__all__ = ["ACTION_QUERY", "action_input", "violations_of"]
