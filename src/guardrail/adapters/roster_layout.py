"""Where a roster lives: a `roster.yaml`, a Claude Code `.claude/agents/` folder, or a project with both.

The one statement of the layout rules, shared by every command that takes a roster (check, gate, hook, import,
audit) and by `roster_at_ref`:

- a file is a roster file;
- a folder holding `.claude/agents/` is a project: its subagents, with the project's `roster.yaml` (when there is
  one) as the overlay that supplies what Claude Code does not say (organization, tool and data catalogs, owners,
  tiers, budgets, autonomy, data scopes, other agents);
- a `.claude/agents` folder is the same project seen from inside: the overlay is `../../roster.yaml`;
- any other folder named `agents` (a copy, `~/.claude/agents`) holds subagent files, with no overlay;
- a folder with only a `roster.yaml` is that roster file.

No pydantic here: the live hook hashes these files on every call to know whether its cached roster still holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from guardrail.core.hashing import sha256_file
from guardrail.errors import ConfigError

ROSTER_FILE = "roster.yaml"
CLAUDE_AGENTS = Path(".claude") / "agents"


@dataclass(frozen=True)
class RosterLayout:
    """The files one roster is read from. `agents_dir` is None for a plain roster file."""

    path: Path  # what the user named
    roster_file: Path | None  # the roster, or the overlay of a Claude Code project
    agents_dir: Path | None
    listed: tuple[Path, ...] | None = None  # the subagent files, when not those on disk (a git ref's)

    @classmethod
    def resolve(cls, path: Path) -> RosterLayout:
        if path.is_file():
            return cls(path, path, None)
        if not path.is_dir():
            raise ConfigError("file not found", path=str(path))
        if (path / CLAUDE_AGENTS).is_dir():
            return cls(path, _existing(path / ROSTER_FILE), path / CLAUDE_AGENTS)
        if path.name == CLAUDE_AGENTS.name and path.parent.name == CLAUDE_AGENTS.parent.name:
            return cls(path, _existing(path.parent.parent / ROSTER_FILE), path)
        if path.name == CLAUDE_AGENTS.name:
            return cls(path, None, path)
        if (path / ROSTER_FILE).is_file():
            return cls(path, path / ROSTER_FILE, None)
        raise ConfigError(
            "no roster here: expected a roster.yaml or a .claude/agents/ folder of subagent files",
            path=str(path),
        )

    def at_ref(self, agent_files: list[Path], roster_file: Path | None) -> RosterLayout:
        """The same layout with the files another version (a git ref) has."""
        return replace(self, roster_file=roster_file, listed=tuple(agent_files))

    def agent_files(self) -> list[Path]:
        """The subagent definitions, in name order (Claude Code reads `*.md` directly in the folder)."""
        if self.listed is not None:
            return sorted(self.listed)
        if self.agents_dir is None:
            return []
        return sorted(p for p in self.agents_dir.glob("*.md") if p.is_file())

    def sources(self) -> list[Path]:
        """Every file the roster is read from."""
        overlay = [self.roster_file] if self.roster_file is not None else []
        return [*overlay, *self.agent_files()]

    def digest(self) -> str:
        """The roster's content hash: a roster file's own sha256 (as evidence records it); for a Claude Code
        project, sha256 over each source's name and bytes, so any edit, addition or removal changes it."""
        if self.agents_dir is None and self.roster_file is not None:
            return sha256_file(self.roster_file)
        digest = hashlib.sha256()
        for source in self.sources():
            digest.update(source.name.encode() + b"\0" + hashlib.sha256(source.read_bytes()).digest())
        return digest.hexdigest()


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


__all__ = ["CLAUDE_AGENTS", "ROSTER_FILE", "RosterLayout"]
