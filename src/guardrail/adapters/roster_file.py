"""Read a roster file (or a roster's text from git) into a validated Roster that remembers its lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from guardrail.adapters.loading import Document, load_yaml, parse_yaml, validate
from guardrail.core.findings import Location
from guardrail.core.roster import Roster
from guardrail.errors import ConfigError


@dataclass(frozen=True)
class LoadedRoster:
    roster: Roster
    doc: Document

    @property
    def path(self) -> str:
        return self.doc.path

    def agent_location(self, agent: str | None, *fields: str | int) -> Location:
        """The line of an agent (or one of its fields); the file's first line for roster-wide findings."""
        if agent is not None:
            for index, item in enumerate(self.roster.agents):
                if item.name == agent:
                    return Location(path=self.path, line=self.doc.line_of(("agents", index, *fields)))
        return Location(path=self.path, line=1)


def _check(doc: Document) -> LoadedRoster:
    if not isinstance(doc.data, dict):
        raise ConfigError("a roster must be a mapping with version, organization and agents", path=doc.path, line=1)
    return LoadedRoster(validate(Roster, doc), doc)


def load_roster(path: Path) -> LoadedRoster:
    """Paths inside the working directory are shown relative to it: that is what CI annotations expect."""
    doc = load_yaml(path)  # first: the guarded read names a symlink loop or an over-long path as an input error
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = path
    doc.path = shown.as_posix()
    return _check(doc)


def parse_roster(text: str, path: str) -> LoadedRoster:
    """For a roster read from elsewhere (a git ref); `path` is how errors name it."""
    return _check(parse_yaml(text, path))
