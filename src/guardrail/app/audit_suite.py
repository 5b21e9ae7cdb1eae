"""`guardrail suite from-traces`: recorded production tasks of one agent become a replay suite.

One task per trace of the agent: its input messages (recorded when the runtime captures content), the tools it
offered (those the agent called, and those the roster grants it), the approvals a person gave, and each call's
recorded result keyed by tool and arguments (`recorded_results`), so a replay on another model meets the same world:
the same call gets the same answer. The calls the agent made become the task's expected calls. Everything written is
redacted first (emails, phone numbers, cards, credentials: core/redact.py), arguments included, so a model that
sends the raw value in replay finds no recorded result for it and is told so. Traces that recorded no input
messages cannot be replayed and are skipped (and counted).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from guardrail.adapters.roster_file import load_roster
from guardrail.adapters.suites import TOOLS_FILE, load_suite
from guardrail.adapters.traces import observations, trace_files
from guardrail.app.audit import catalog_aliases
from guardrail.app.audit_stream import TraceAssembler
from guardrail.app.engine import load_policies
from guardrail.core.audit import TraceEvent
from guardrail.core.redact import Redactor
from guardrail.errors import ConfigError

TASKS_FILE = "recorded.yaml"
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._:~=-]")
_ROLES = ("system", "user", "assistant", "tool")


@dataclass
class _Recorded:
    messages: list[dict[str, Any]] | None = None
    calls: list[TraceEvent] = field(default_factory=list)
    approvals: set[str] = field(default_factory=set)


@dataclass
class FromTraces:
    folder: Path
    traces: int
    tasks: int
    skipped_no_messages: int
    recorded_results: int


def _content(message: dict[str, Any]) -> str:
    """A recorded message's text: OpenAI-style `content`, or the GenAI conventions' text `parts`."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = message.get("parts") if isinstance(message.get("parts"), list) else content
    if isinstance(parts, list):
        texts = [str(p.get("content") or p.get("text") or "") for p in parts if isinstance(p, dict)]
        return "\n".join(t for t in texts if t)
    return ""


def recorded_messages(raw: Any) -> list[dict[str, Any]] | None:
    """Input messages as a model call recorded them (`gen_ai.input.messages`, legacy `gen_ai.prompt`, or
    OpenInference `input.value`): a list of role/content messages, or None when nothing usable was recorded."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            return [{"role": "user", "content": raw}] if raw.strip() else None
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if not isinstance(value, list):
        return None
    out = [
        {"role": m["role"], "content": _content(m)}
        for m in value
        if isinstance(m, dict) and m.get("role") in _ROLES and m["role"] != "tool" and _content(m)
    ]
    return out or None


def _collect(
    files: list[Path], agent: str, aliases: dict[str, str], default_agent: str | None
) -> OrderedDict[str, _Recorded]:
    assembler = TraceAssembler(aliases, default_agent=default_agent)
    traces: OrderedDict[str, _Recorded] = OrderedDict()

    def take(event: TraceEvent) -> None:
        if event.agent != agent:
            return
        key = event.trace_id or event.session_id or f"{event.file}:{event.line}"
        recorded = traces.setdefault(key, _Recorded())
        if event.kind == "model_call" and recorded.messages is None and event.messages is not None:
            recorded.messages = recorded_messages(event.messages)
        if event.kind == "tool_call" and event.executed and event.tool:
            recorded.calls.append(event)
            recorded.approvals.update(event.approvals)

    for path in files:
        for observation in observations(path):
            for item in assembler.feed(observation):
                take(item.event)
    for item in assembler.finish():
        take(item.event)
    return traces


def _task(key: str, agent: str, recorded: _Recorded, granted: list[str]) -> dict[str, Any]:
    tools = sorted({*granted, *(c.tool for c in recorded.calls if c.tool)})
    results = []
    seen: set[str] = set()
    for call in recorded.calls:
        if call.args is None or call.result is None:
            continue
        marker = json.dumps([call.tool, call.args], sort_keys=True, default=str)
        if marker not in seen:  # the first recorded answer to a call is the world's answer
            seen.add(marker)
            results.append({"tool": call.tool, "args": call.args, "result": call.result})
    task: dict[str, Any] = {
        "id": "trace-" + _UNSAFE_ID.sub("-", key)[:80],
        "agent": agent,
        "messages": recorded.messages,
        "tools": tools,
        "approvals": sorted(recorded.approvals),
        "recorded_results": results,
        "expect": {"tool_calls": [{"name": c.tool} for c in recorded.calls]},
    }
    return {k: v for k, v in task.items() if v != []}


def _tool_file(tasks: list[dict[str, Any]], described: dict[str, str]) -> dict[str, Any]:
    """Each offered tool with its catalog description and the argument names seen (any value: the traces do not
    record argument schemas)."""
    names: dict[str, set[str]] = {}
    for task in tasks:
        for tool in task.get("tools", []):
            names.setdefault(tool, set())
        for entry in task.get("recorded_results", []):
            names[entry["tool"]].update(entry["args"])
    return {
        "tools": {
            tool: {
                "description": described.get(tool, ""),
                "parameters": {"type": "object", "properties": {arg: {} for arg in sorted(args)}},
            }
            for tool, args in sorted(names.items())
        }
    }


def suite_from_traces(
    traces: list[Path], *, agent: str, out: Path, roster: Path, policies: Path, default_agent: str | None = None
) -> FromTraces:
    loaded = load_roster(roster)
    entry = loaded.roster.agent(agent)
    if entry is None:
        raise ConfigError(f"unknown agent {agent!r}: not in {loaded.path}", field="--agent")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError("the suite folder exists and is not empty: choose a new one", path=str(out), field="--out")
    bundle = load_policies(policies)
    catalog = (bundle.data.get("catalog") or {}).get("tools") or {}
    described = {name: str((t or {}).get("description") or "") for name, t in catalog.items()}
    described.update({name: t.description or described.get(name, "") for name, t in loaded.roster.tools.items()})
    recorded = _collect(trace_files(traces), agent, catalog_aliases(bundle), default_agent)
    usable = {k: r for k, r in recorded.items() if r.messages}
    if not usable:
        raise ConfigError(
            f"no trace of {agent} recorded its input messages ({len(recorded)} trace(s) of it found)",
            hint="turn on content capture in the runtime (gen_ai.input.messages), e.g. "
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true",
        )
    redactor = Redactor.default()
    tasks = [redactor.value(_task(key, agent, r, list(entry.tools))) for key, r in usable.items()]
    out.mkdir(parents=True, exist_ok=True)
    header = f"# Recorded by `guardrail suite from-traces --agent {agent}` from {len(traces)} input(s); redacted.\n"
    (out / TOOLS_FILE).write_text(header + yaml.safe_dump(_tool_file(tasks, described), sort_keys=False), "utf-8")
    (out / TASKS_FILE).write_text(header + yaml.safe_dump(tasks, sort_keys=False, allow_unicode=True), "utf-8")
    load_suite(out, agents={a.name for a in loaded.roster.agents})  # what we wrote must load as a suite
    return FromTraces(
        folder=out,
        traces=len(recorded),
        tasks=len(tasks),
        skipped_no_messages=len(recorded) - len(usable),
        recorded_results=sum(len(t.get("recorded_results", [])) for t in tasks),
    )


__all__ = ["TASKS_FILE", "FromTraces", "recorded_messages", "suite_from_traces"]
