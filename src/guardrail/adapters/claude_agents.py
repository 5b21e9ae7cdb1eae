"""Claude Code subagents (`.claude/agents/<name>.md`) read as roster agents, with the lines they came from.

A subagent file is YAML front matter between `---` lines, then its system prompt. Claude Code reads `name`,
`description`, `tools` (a comma-separated string or a list; omitted means every tool), `disallowedTools`, `model`
and `permissionMode`, among others. Governance fields Claude Code has no notion of come from extra front-matter
keys spelled as in roster.yaml (`owner`, `tier`, `budget_usd_per_day`, `autonomy`, `data_scopes`,
`approval_required_for`, `office`, `suites`, `params`) or from the overlay, the project's `roster.yaml`, whose
entry of the same name fills what the front matter leaves out (its organization, tools, data classes and other
agents join the roster too). What stays missing is reported as a finding; the roster's defaults then apply.

Runtime tool names map to catalog tools through the catalog's `aliases` (`Read` -> `files.read`); a
`Bash(git *)` pattern counts as its tool; a name no catalog tool lists is kept as it is (GR-001 flags it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrail.adapters.catalog import CATALOG_KEY, catalog_aliases, catalog_file, catalog_tools
from guardrail.adapters.loading import Document, Loc, format_loc, load_yaml, parse_yaml
from guardrail.adapters.roster_layout import RosterLayout
from guardrail.core.findings import Finding, Location, Severity
from guardrail.core.roster import Agent
from guardrail.errors import ConfigError

# Claude Code's model aliases as roster model ids (litellm ids), stated once. `inherit` (the default) runs on
# whatever the session runs on, which a roster cannot approve: the overlay's model is used, else INHERITED.
CLAUDE_CODE_MODELS: dict[str, str] = {
    "haiku": "anthropic/claude-haiku-4-5",
    "sonnet": "anthropic/claude-sonnet-4-5",
    "opus": "anthropic/claude-opus-4-1",
}
INHERIT = "inherit"
INHERITED = "claude-code/inherit"
GOVERNANCE_FIELDS = (
    "office",
    "tier",
    "autonomy",
    "data_scopes",
    "approval_required_for",
    "budget_usd_per_day",
    "owner",
    "suites",
    "params",
)
EXPECTED = ("owner", "tier", "budget_usd_per_day", "autonomy", "data_scopes")  # reported when missing
RULE = "claude-code.governance"
_TOOL = re.compile(r"^\s*([A-Za-z0-9_.:-]+)\s*(?:\(.*\))?\s*$")


def model_id(value: str) -> str:
    """A subagent's `model:` as a roster model id: an alias, a bare Claude id, or a litellm id as given."""
    if value in CLAUDE_CODE_MODELS:
        return CLAUDE_CODE_MODELS[value]
    if "/" not in value and value.startswith("claude-"):
        return f"anthropic/{value}"
    return value


@dataclass
class SourcedDocument(Document):
    """A roster assembled from several files: each field knows the file its line is in (deepest prefix wins)."""

    sources: dict[Loc, str] = field(default_factory=dict)

    def path_of(self, loc: Loc) -> str:
        for cut in range(len(loc), -1, -1):
            found = self.sources.get(tuple(loc[:cut]))
            if found is not None:
                return found
        return self.path

    def error(self, message: str, loc: Loc = (), hint: str | None = None) -> ConfigError:
        path = self.path_of(loc)
        shown = loc[2:] if loc[:1] == ("agents",) and self.sources.get(tuple(loc[:2])) == path else loc
        return ConfigError(message, path=path, line=self.line_of(loc), field=format_loc(shown) or None, hint=hint)


@dataclass
class _Agent:
    data: dict[str, Any]
    lines: dict[Loc, int]  # field loc (within the agent) -> line
    sources: dict[Loc, str]  # field loc -> file, where it differs from the agent's own file
    path: str
    lists_tools: bool = True  # False: Claude Code gives it every tool
    findings: list[Finding] = field(default_factory=list)


Show = Callable[[Path], str]


def assemble(
    layout: RosterLayout,
    read: Callable[[Path], str],
    show: Show,
    catalog_dir: Path | None,
) -> tuple[SourcedDocument, list[Finding]]:
    """The merged roster document (not yet validated) and the import findings. `read` gets a file's text (from
    the working tree or a git ref), `show` how to name it, `catalog_dir` the policy data with the catalog."""
    catalog: Mapping[str, Any] = {}
    aliases: dict[str, str] = {}
    source = catalog_file(catalog_dir) if catalog_dir is not None else None
    if catalog_dir is not None and source is not None:
        catalog = {CATALOG_KEY: load_yaml(source).data or {}}
        aliases = catalog_aliases(catalog, catalog_dir)
    known = catalog_tools(catalog)

    def to_catalog(name: str) -> str:
        return name if name in known else aliases.get(name, name)

    overlay = parse_yaml(read(layout.roster_file), show(layout.roster_file)) if layout.roster_file else None
    base = overlay.data if overlay is not None and isinstance(overlay.data, dict) else {}
    if overlay is not None and not isinstance(overlay.data, dict):
        raise ConfigError("the overlay must be a mapping like roster.yaml", path=overlay.path, line=1)
    overlay_path = overlay.path if overlay is not None else show(layout.agents_dir or layout.path)
    entries = {a.get("name"): (i, a) for i, a in enumerate(base.get("agents") or []) if isinstance(a, dict)}

    subagents = [_read_agent(path, read, show, to_catalog) for path in layout.agent_files()]
    by_name: dict[str, _Agent] = {}
    for sub in subagents:
        name = sub.data["name"]
        if name in by_name:
            raise ConfigError(f"duplicate subagent name {name!r} (also in {by_name[name].path})", path=sub.path)
        by_name[name] = sub

    doc = SourcedDocument(path=show(layout.path), data=None, sources={(): overlay_path})
    if overlay is not None:
        doc.lines.update({loc: line for loc, line in overlay.lines.items() if loc[:1] != ("agents",)})
    agents: list[dict[str, Any]] = []
    findings: list[Finding] = []

    def place(index: int, agent: _Agent) -> None:
        doc.sources[("agents", index)] = agent.path
        for loc, line in agent.lines.items():
            doc.lines[("agents", index, *loc)] = line
        for loc, path in agent.sources.items():
            doc.sources[("agents", index, *loc)] = path

    merged: list[_Agent] = []
    for name, (position, entry) in entries.items():
        found = by_name.pop(name) if isinstance(name, str) and name in by_name else None
        lines = _lines_under(overlay, ("agents", position)) if overlay is not None else {}
        if found is None:  # an agent only the overlay knows (not a Claude Code subagent)
            merged.append(_Agent(dict(entry), lines, {}, overlay_path))
        else:
            merged.append(_merge(found, entry, lines, overlay_path, to_catalog))
    for sub in by_name.values():
        _finish(sub)
        merged.append(sub)
    for index, agent in enumerate(merged):
        place(index, agent)
        agents.append(agent.data)
        findings += agent.findings

    tools = base.get("tools", {})
    tools = dict(tools) if isinstance(tools, dict) else tools
    if isinstance(tools, dict):
        for data in agents:
            for tool in [*(data.get("tools") or []), *(data.get("approval_required_for") or [])]:
                if isinstance(tool, str) and tool not in tools:
                    tools[tool] = _declaration(known.get(tool))
    organization = base.get("organization")
    if organization is None:
        organization = _project_name(layout)
        findings.append(
            _finding(None, f"no organization: named {organization!r} after the project folder", overlay_path)
        )
    doc.data = {
        "version": base.get("version", 1),
        "organization": organization,
        "tools": tools,
        "data_classes": base.get("data_classes", {}),
        "agents": agents,
        **{k: v for k, v in base.items() if k not in ("version", "organization", "tools", "data_classes", "agents")},
    }
    return doc, findings


def _project_name(layout: RosterLayout) -> str:
    folder = (layout.agents_dir or layout.path).resolve()
    return (folder.parent.parent if folder.parent.name == ".claude" else folder).name or "unnamed"


def _read_agent(path: Path, read: Callable[[Path], str], show: Show, to_catalog: Callable[[str], str]) -> _Agent:
    shown = show(path)
    text = read(path).lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ConfigError("no front matter: a subagent file starts with a --- line", path=shown, line=1)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise ConfigError("the front matter has no closing --- line", path=shown, line=1)
    front = parse_yaml("\n" + "\n".join(lines[1:end]), shown)  # the blank first line keeps the file's line numbers
    if not isinstance(front.data, dict):
        raise ConfigError("the front matter must be a mapping (name, description, tools, model)", path=shown, line=2)
    at = front.lines
    meta: dict[str, Any] = front.data
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError("a subagent needs a name", path=shown, line=at.get((), 2), field="name")
    data: dict[str, Any] = {"name": name}
    field_lines: dict[Loc, int] = {(): at.get(("name",), 2)}
    for key in ("name", "description"):
        if key in meta:
            data[key] = meta[key]
            field_lines[(key,)] = at[(key,)]
    if meta.get("model", INHERIT) != INHERIT:  # inherit is what an absent model means
        raw_model = meta["model"]
        data["model"] = raw_model if not isinstance(raw_model, str) else model_id(raw_model.strip())
        field_lines[("model",)] = at[("model",)]
    if "tools" in meta:
        data["tools"], tool_lines = _tools(meta["tools"], ("tools",), at, shown, to_catalog)
        denied, _ = _tools(meta.get("disallowedTools", []), ("disallowedTools",), at, shown, to_catalog)
        kept = [(t, line) for t, line in zip(data["tools"], tool_lines, strict=True) if t not in denied]
        data["tools"] = [t for t, _ in kept]
        field_lines[("tools",)] = at[("tools",)]
        field_lines.update({("tools", i): line for i, (_, line) in enumerate(kept)})
    for key in GOVERNANCE_FIELDS:
        if key in meta:
            value = meta[key]
            if key == "approval_required_for" and isinstance(value, list):
                value = [to_catalog(v) if isinstance(v, str) else v for v in value]
            data[key] = value
            field_lines.update({loc: line for loc, line in at.items() if loc[:1] == (key,)})
    if "autonomy" not in meta and meta.get("permissionMode") == "bypassPermissions":
        data["autonomy"] = "autonomous"  # it runs without asking anyone: that is what autonomy means
        field_lines[("autonomy",)] = at[("permissionMode",)]
    return _Agent(data, field_lines, {}, shown, lists_tools="tools" in meta)


def _tools(
    raw: Any, loc: Loc, at: dict[Loc, int], shown: str, to_catalog: Callable[[str], str]
) -> tuple[list[str], list[int]]:
    """Catalog names (first mention wins) and the line each came from."""
    if isinstance(raw, str):
        items = [(part, at.get(loc, 1)) for part in _split(raw)]
    elif isinstance(raw, list):
        items = [(part, at.get((*loc, i), at.get(loc, 1))) for i, part in enumerate(raw)]
    else:
        raise ConfigError(
            "expected a comma-separated string or a list", path=shown, line=at.get(loc), field=str(loc[0])
        )
    names: list[str] = []
    lines: list[int] = []
    for part, line in items:
        match = _TOOL.match(part) if isinstance(part, str) else None
        if match is None:
            raise ConfigError(f"not a tool name: {part!r}", path=shown, line=line, field=str(loc[0]))
        name = to_catalog(match.group(1))
        if name not in names:
            names.append(name)
            lines.append(line)
    return names, lines


def _split(text: str) -> list[str]:
    """`Read, Grep, Bash(git add *, git commit *)`: commas inside parentheses belong to the pattern."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _lines_under(doc: Document, prefix: Loc) -> dict[Loc, int]:
    return {loc[len(prefix) :]: line for loc, line in doc.lines.items() if loc[: len(prefix)] == prefix}


def _merge(
    sub: _Agent, entry: dict[str, Any], lines: dict[Loc, int], overlay_path: str, to_catalog: Callable[[str], str]
) -> _Agent:
    """The subagent's file says what runs and wins; the overlay fills what the file leaves out."""
    for key, value in entry.items():
        if key in ("tools", "approval_required_for") and isinstance(value, list):
            value = [to_catalog(v) if isinstance(v, str) else v for v in value]
        if key in sub.data:
            if key in ("model", "tools") and value != sub.data[key]:
                msg = f"roster.yaml gives {sub.data['name']} {key} {value!r}, its subagent file {sub.data[key]!r}"
                line = sub.lines.get((key,), sub.lines[()])
                sub.findings.append(
                    _finding(sub.data["name"], f"{msg}: the file wins, it is what runs", sub.path, line=line)
                )
            continue
        sub.data[key] = value
        for loc, line in lines.items():
            if loc[:1] == (key,):
                sub.lines[loc], sub.sources[loc] = line, overlay_path
    _finish(sub)
    return sub


def _finish(sub: _Agent) -> None:
    """Defaults for what nobody said, each reported."""
    name = sub.data["name"]
    if "model" not in sub.data:
        sub.data["model"] = INHERITED
        msg = (
            f"{name} inherits the session's model, which no tier can approve: pin one with model: (haiku, sonnet, opus)"
        )
        sub.findings.append(_finding(name, msg, sub.path, line=sub.lines[()]))
    if not sub.lists_tools:
        granted = ", ".join(sub.data.get("tools") or []) or "none"
        msg = f"{name} lists no tools, so Claude Code gives it every tool; the roster grants it {granted}"
        sub.findings.append(_finding(name, msg, sub.path, line=sub.lines[()], severity="high"))
    sub.data.setdefault("tools", [])
    missing = [key for key in EXPECTED if key not in sub.data]
    if missing:
        defaults = [f"{key} {_default(key)}" for key in missing if _default(key) is not None]
        msg = f"{name} has no {', '.join(missing)} in its front matter or roster.yaml"
        msg += f" (so: {', '.join(defaults)})" if defaults else ""
        sub.findings.append(_finding(name, msg, sub.path, line=sub.lines[()]))


def _default(key: str) -> str | None:
    """The roster's own default for a field, as a reader would say it (none when it must be set)."""
    default = Agent.model_fields[key].get_default(call_default_factory=True)
    return None if default is None else str(default) if default != [] else "none"


def _declaration(entry: Any) -> dict[str, Any]:
    """How the roster declares a tool a subagent holds: as the catalog rates it (nothing, when uncatalogued)."""
    if not isinstance(entry, Mapping):
        return {}
    return {key: entry[key] for key in ("risk", "writes", "external", "description") if key in entry}


def _finding(agent: str | None, msg: str, path: str, *, line: int = 1, severity: Severity = "medium") -> Finding:
    return Finding(
        rule=RULE,
        kind="warn",
        msg=msg,
        agent=agent,
        severity=severity,
        title="Governance fields Claude Code does not carry",
        policy="claude-code",
        location=Location(path=path, line=line),
    )


__all__ = ["CLAUDE_CODE_MODELS", "INHERITED", "SourcedDocument", "assemble", "model_id"]
