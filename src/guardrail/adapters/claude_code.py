"""Claude Code's PreToolUse hook protocol: the payload it sends on stdin, the answer it reads back.

Payload (https://code.claude.com/docs/en/hooks, PreToolUse input): `tool_name`, `tool_input`, `tool_use_id`,
`session_id`, `cwd`, `hook_event_name`, and `agent_type` when the call comes from a subagent (its `name:`) or a
session started with `--agent`. Answer: `{"hookSpecificOutput": {"hookEventName": "PreToolUse",
"permissionDecision": "allow" | "deny" | "ask", "permissionDecisionReason": ...}}` on stdout.

Exit codes are Claude Code's, not guardrail's table: only exit 2 blocks a call whatever else happens; any other
non-zero exit, a crash and a hook timeout all let the call proceed. So a deny is sent both ways (the JSON on stdout
and exit 2 with the reason on stderr), allow and ask exit 0.
"""

from __future__ import annotations

import json
from typing import Any

from guardrail.core.live import LiveDecision, RuntimeCall
from guardrail.errors import ConfigError

SOURCE = "claude-code"
EVENT = "PreToolUse"
EXIT_ANSWERED = 0
EXIT_BLOCK = 2


def parse_pre_tool_use(raw: bytes) -> RuntimeCall:
    """The call a PreToolUse payload describes; anything else is a ConfigError saying what is wrong."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("the hook payload is not UTF-8", path="stdin") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the hook payload is not JSON: {exc.msg} (column {exc.colno})", path="stdin") from None
    if not isinstance(payload, dict):
        raise ConfigError("the hook payload is not a JSON object", path="stdin")
    event = payload.get("hook_event_name", EVENT)
    if event != EVENT:
        raise ConfigError(f"expected a {EVENT} event, got {event!r}: install the hook under PreToolUse", path="stdin")
    tool = payload.get("tool_name")
    if not isinstance(tool, str) or not tool:
        raise ConfigError("no tool_name", path="stdin", field="tool_name")
    args = payload.get("tool_input")
    if not isinstance(args, dict):
        raise ConfigError("tool_input is missing or not an object", path="stdin", field="tool_input")
    return RuntimeCall(
        runtime_tool=tool,
        args=args,
        runtime_agent=_text(payload, "agent_type"),
        session_id=_text(payload, "session_id"),
        tool_use_id=_text(payload, "tool_use_id"),
    )


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} is not a string", path="stdin", field=key)
    return value or None


def hook_answer(decision: LiveDecision) -> tuple[str, int]:
    """(stdout JSON, exit code) for a decision."""
    output = {
        "hookSpecificOutput": {
            "hookEventName": EVENT,
            "permissionDecision": decision.decision,
            "permissionDecisionReason": decision.explain(),
        }
    }
    return json.dumps(output, ensure_ascii=False), EXIT_BLOCK if decision.decision == "deny" else EXIT_ANSWERED


__all__ = ["EXIT_ANSWERED", "EXIT_BLOCK", "SOURCE", "hook_answer", "parse_pre_tool_use"]
