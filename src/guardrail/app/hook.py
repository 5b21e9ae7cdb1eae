"""Live enforcement: one runtime tool call, decided by the action policy the replay uses, logged, fail closed.

    payload -> RuntimeCall -> roster agent + catalog tool -> action policy (as is, and as if approved)
            -> allow | ask | deny -> decision log (redacted) -> the runtime's answer

Whatever stops a real decision (a payload that does not parse, no roster, a policy that does not compile, an
engine error, a decision log that cannot be written, the deadline) is a deny that says why. The action policy runs
in a forked child so that even a runaway policy is cut off at the deadline and still answered. Start-up is the
budget (Claude Code starts a fresh process per tool call): nothing here imports pydantic or typer; the roster and
policies come from a snapshot cached by content (app/hook_snapshot.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import guardrail
from guardrail.adapters.claude_code import EXIT_BLOCK, hook_answer, parse_pre_tool_use
from guardrail.adapters.decision_log import append_line, encode_line
from guardrail.adapters.forked import DeadlineExceeded, Forked, deadline
from guardrail.app.hook_snapshot import Snapshot, load_snapshot
from guardrail.core.action import ACTION_QUERY, action_input, violations_by_call
from guardrail.core.decision_line import decision_line
from guardrail.core.live import LiveDecision, RuntimeCall, live_decision
from guardrail.errors import ConfigError, GuardrailError, PolicyError
from guardrail.project import Project

DEFAULT_TIMEOUT_S = 5.0
MAX_LOGGED_STRING = 4000  # characters of one argument string kept in the log


@dataclass(frozen=True)
class HookSettings:
    source: str  # which runtime asks: "claude-code"
    roster: Path | None = None  # default: the project's roster.yaml and/or .claude/agents/
    policies: Path | None = None  # default: the project's policies/
    log: Path | None = None  # default: the project's .guardrail/decisions.jsonl
    default_agent: str | None = None  # the roster agent the runtime's main agent runs as
    timeout_s: float = DEFAULT_TIMEOUT_S
    project_dir: Path | None = None  # where the defaults are looked for (the runtime's project, else the cwd)

    def project(self) -> Project:
        return Project.find(self.project_dir)

    def log_path(self) -> Path:
        return self.log if self.log is not None else self.project().state / "decisions.jsonl"


@dataclass(frozen=True)
class HookOutcome:
    decision: LiveDecision
    call: RuntimeCall | None
    logged_to: Path | None


class _Refused(Exception):
    def __init__(self, decision: LiveDecision) -> None:
        super().__init__(decision.explain())
        self.decision = decision


def decide_live(read_call: Callable[[], RuntimeCall], settings: HookSettings) -> HookOutcome:
    """Never raises. `read_call` parses the runtime's payload (inside the deadline: reading stdin may hang)."""
    call: RuntimeCall | None = None
    snapshot: Snapshot | None = None
    try:
        with deadline(settings.timeout_s, "deciding the tool call"):
            try:
                call = read_call()
            except GuardrailError as exc:
                raise _Refused(LiveDecision.refuse("hook.payload", str(exc))) from None
            snapshot = _snapshot(settings)
            decision, logged = _decide(call, snapshot, settings)
    except _Refused as refused:
        decision, logged = refused.decision, None
    except DeadlineExceeded as exc:
        decision, logged = LiveDecision.refuse("hook.timeout", exc.message), None
    except Exception as exc:  # a bug must still answer no, and say so
        decision, logged = LiveDecision.refuse("hook.error", f"internal error: {type(exc).__name__}: {exc}"), None
    path = settings.log_path()
    try:
        append_line(path, encode_line(_record(settings.source, call, decision, snapshot, logged)))
    except GuardrailError as exc:  # an action nobody can audit later is not allowed now
        return HookOutcome(
            LiveDecision.refuse("hook.log", str(exc), agent=decision.agent, tool=decision.tool), call, None
        )
    return HookOutcome(decision, call, path)


def _snapshot(settings: HookSettings) -> Snapshot:
    project = settings.project()
    try:
        return load_snapshot(
            settings.roster if settings.roster is not None else project.root,
            settings.policies if settings.policies is not None else project.policies,
            project.state / "hook",
        )
    except PolicyError as exc:
        raise _Refused(LiveDecision.refuse("hook.policy", str(exc))) from None
    except ConfigError as exc:
        raise _Refused(LiveDecision.refuse("hook.config", str(exc))) from None


def _decide(call: RuntimeCall, snapshot: Snapshot, settings: HookSettings) -> tuple[LiveDecision, Any]:
    """The decision, and the arguments as the log may keep them (redacted while the policy runs)."""
    asked_as = call.runtime_agent or settings.default_agent
    if asked_as is None:
        raise _Refused(
            LiveDecision.refuse("hook.agent", "the main agent has no roster agent: run the hook with --agent NAME")
        )
    agent = snapshot.agent(asked_as)
    if agent is None:
        raise _Refused(LiveDecision.refuse("hook.agent", f"{asked_as!r} is not an agent of the roster"))
    tool = snapshot.catalog_tool(call.runtime_tool)
    if tool is None:
        msg = f"{call.runtime_tool} is not in the governance catalog (no catalog tool lists it in its aliases)"
        raise _Refused(LiveDecision.refuse("hook.tool", msg, agent=agent))
    try:
        with Forked(lambda: _ask_policy(snapshot, agent, tool, call.args), "the action policy") as asking:
            logged = _redacted(call.args)  # on the other core, while the child evaluates
            violations, if_approved = asking.result()
    except PolicyError as exc:
        raise _Refused(LiveDecision.refuse("hook.policy", str(exc), agent=agent, tool=tool)) from None
    except DeadlineExceeded:
        raise
    except GuardrailError as exc:
        raise _Refused(LiveDecision.refuse("hook.engine", str(exc), agent=agent, tool=tool)) from None
    return live_decision(violations, if_approved, agent=agent, tool=tool), logged


def _ask_policy(snapshot: Snapshot, agent: str, tool: str, args: Any) -> list[list[dict[str, str]]]:
    """In the child: the violations as the call stands and as if a person had approved the tool, in one query."""
    from guardrail.adapters.rego import PolicyBundle, RegoEngine

    engine = RegoEngine(PolicyBundle(modules=snapshot.modules, data=snapshot.data, prepared=True))
    asked = action_input(
        agent=snapshot.agents[agent],
        tools=snapshot.tools,
        data_classes=snapshot.data_classes,
        call=tool,
        args=args,
        and_if_approved=True,
    )
    return violations_by_call(engine.query(ACTION_QUERY, asked), 2)


def _redacted(args: Any) -> Any:
    """What the log may keep of the arguments: personal data and credentials redacted, long strings cut."""
    from guardrail.core.redact import Redactor

    return _cut(Redactor.default().value(args))


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_LOGGED_STRING:
        return f"{value[:MAX_LOGGED_STRING]}[... {len(value) - MAX_LOGGED_STRING} more characters]"
    if isinstance(value, dict):
        return {key: _cut(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item) for item in value]
    return value


def _record(
    source: str, call: RuntimeCall | None, decision: LiveDecision, snapshot: Snapshot | None, args: Any
) -> dict[str, Any]:
    return decision_line(
        time=datetime.now(UTC),
        source=source,
        decision=decision.decision,
        guardrail_version=guardrail.__version__,
        agent=decision.agent,
        runtime_agent=call.runtime_agent if call else None,
        tool=decision.tool,
        runtime_tool=call.runtime_tool if call else None,
        args=args,
        reasons=decision.reasons,
        session_id=call.session_id if call else None,
        tool_use_id=call.tool_use_id if call else None,
        model=call.model if call else None,
        policy_hash=snapshot.policy_hash if snapshot else None,
        roster_hash=snapshot.roster_hash if snapshot else None,
    )


def claude_code_hook(read_stdin: Callable[[], bytes], settings: HookSettings) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) for Claude Code's PreToolUse protocol (adapters/claude_code.py)."""
    outcome = decide_live(lambda: parse_pre_tool_use(read_stdin()), settings)
    out, code = hook_answer(outcome.decision)
    return out, outcome.decision.explain() if code == EXIT_BLOCK else "", code


def project_dir_from_env() -> Path | None:
    """Claude Code tells hooks the project they run for; elsewhere the working directory decides."""
    value = os.environ.get("CLAUDE_PROJECT_DIR")
    return Path(value) if value else None


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "HookOutcome",
    "HookSettings",
    "claude_code_hook",
    "decide_live",
    "project_dir_from_env",
]
