"""`guardrail roster import claude-code DIR`: a Claude Code project's subagents written out as one roster.yaml.

Most commands read `.claude/agents/` directly (load_roster takes the folder); the import is for teams that want a
standalone roster file, and shows what the subagent files leave unsaid (the findings).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from guardrail.adapters.roster_file import LoadedRoster, assembled
from guardrail.adapters.roster_layout import RosterLayout
from guardrail.core.findings import Finding
from guardrail.errors import ConfigError

HEADER = (
    "# Imported by `guardrail roster import claude-code {source}` from the subagent files{overlay}.\n"
    "# `guardrail roster check {source}` and `guardrail gate --roster {source}` read those files directly.\n"
)


def import_claude_code(directory: Path, overlay: Path | None = None) -> tuple[str, list[Finding]]:
    """(roster.yaml text, findings) for a `.claude/agents` folder or a project holding one."""
    layout = RosterLayout.resolve(directory)
    if layout.agents_dir is None:
        raise ConfigError("no Claude Code subagents here (.claude/agents/*.md)", path=str(directory))
    if overlay is not None:
        if not overlay.is_file():
            raise ConfigError("file not found", path=str(overlay), field="--overlay")
        layout = replace(layout, roster_file=overlay)
    loaded: LoadedRoster = assembled(layout)
    data = loaded.doc.data
    header = HEADER.format(
        source=directory.as_posix(), overlay=f" and {loaded.path}" if layout.roster_file is not None else ""
    )
    return header + yaml.safe_dump(_pruned(data), sort_keys=False, allow_unicode=True, width=118), list(loaded.findings)


def _pruned(value: object) -> object:
    """Without the nulls a roster file would not spell out."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


__all__ = ["import_claude_code"]
