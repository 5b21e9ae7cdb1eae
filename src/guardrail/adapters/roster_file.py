"""Read a roster (a roster.yaml, a Claude Code `.claude/agents/` folder, or a project with both; see
adapters/roster_layout.py) into a validated Roster that remembers the file and line of every field, from the
working tree or from a git ref (for the gate's base)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from guardrail.adapters.catalog import CATALOG_KEY, catalog_file, catalog_tools
from guardrail.adapters.loading import Document, Loc, load_yaml, parse_yaml, read_text, validate
from guardrail.adapters.roster_layout import RosterLayout
from guardrail.core.findings import Finding, Location
from guardrail.core.roster import CatalogNames, Roster
from guardrail.errors import ConfigError
from guardrail.project import Project


@dataclass(frozen=True)
class LoadedRoster:
    roster: Roster
    doc: Document
    findings: tuple[Finding, ...] = field(default_factory=tuple)  # what reading it showed (Claude Code imports)

    @property
    def path(self) -> str:
        return self.doc.path

    def path_of(self, loc: Loc) -> str:
        """The file a field is in: the roster file, or for a Claude Code project the subagent's file or overlay."""
        path_of = getattr(self.doc, "path_of", None)  # a Claude Code project's SourcedDocument (claude_agents)
        return path_of(loc) if callable(path_of) else self.doc.path

    def location_of(self, loc: Loc) -> Location:
        return Location(path=self.path_of(loc), line=self.doc.line_of(loc))

    def agent_location(self, agent: str | None, *fields: str | int) -> Location:
        """The line of an agent (or one of its fields); the file's first line for roster-wide findings."""
        if agent is not None:
            for index, item in enumerate(self.roster.agents):
                if item.name == agent:
                    return self.location_of(("agents", index, *fields))
        return Location(path=self.path_of(()), line=1)


def _check(doc: Document, findings: list[Finding] | None = None, catalog: CatalogNames | None = None) -> LoadedRoster:
    if not isinstance(doc.data, dict):
        raise ConfigError("a roster must be a mapping with version, organization and agents", path=doc.path, line=1)
    context = {"catalog": catalog} if catalog is not None else None
    return LoadedRoster(validate(Roster, doc, context=context), doc, tuple(findings or ()))


def catalog_names(data_dir: Path) -> CatalogNames:
    """The tools the governance catalog in `data_dir` lists (none when it has no catalog), for naming checks."""
    source = catalog_file(data_dir) if data_dir.is_dir() else None
    tools = catalog_tools({CATALOG_KEY: load_yaml(source).data or {}}) if source is not None else {}
    shown = f"{data_dir.parent.name}/{data_dir.name}/{source.name if source else CATALOG_KEY + '.yaml'}"
    return CatalogNames(frozenset(tools), shown)


def _data_dir(near: Path, catalog_dir: Path | None) -> Path:
    return catalog_dir if catalog_dir is not None else Project.find(near).policies / "data"


def shown_path(path: Path) -> str:
    """Paths inside the working directory are shown relative to it: that is what CI annotations expect."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def load_roster(path: Path, *, catalog_dir: Path | None = None) -> LoadedRoster:
    """`catalog_dir` holds the governance catalog: the tools agents may name without the roster declaring them,
    and the map of subagents' tool names (default: the project's policies/data; the gate passes the trusted
    base's, so a change cannot re-alias a tool into a harmless one)."""
    if not path.is_dir():
        doc = load_yaml(path)  # first: the guarded read names a symlink loop or an over-long path as an input error
        doc.path = shown_path(path)
        return _check(doc, catalog=catalog_names(_data_dir(path, catalog_dir)))
    layout = RosterLayout.resolve(path)
    if layout.agents_dir is None and layout.roster_file is not None:
        return load_roster(layout.roster_file, catalog_dir=catalog_dir)
    return assembled(layout, catalog_dir=catalog_dir)


def parse_roster(text: str, path: str, *, catalog: CatalogNames | None = None) -> LoadedRoster:
    """For a roster read from elsewhere (a git ref); `path` is how errors name it; without a `catalog`, an agent's
    tools must be declared in the roster itself."""
    return _check(parse_yaml(text, path), catalog=catalog)


def roster_at_ref(
    path: Path, ref: str, *, display: Callable[[Path], str] = shown_path, catalog_dir: Path | None = None
) -> LoadedRoster:
    """The roster at `path` as it was at git `ref` (the gate's base), read in the layout the working tree has now
    (a subagent added since then is simply absent). Files are named `REF:path`."""
    from guardrail.adapters.git import list_files, show_file

    layout = RosterLayout.resolve(path)
    if layout.agents_dir is None and layout.roster_file is not None:
        catalog = catalog_names(_data_dir(layout.roster_file, catalog_dir))
        return parse_roster(show_file(layout.roster_file, ref), f"{ref}:{display(layout.roster_file)}", catalog=catalog)
    assert layout.agents_dir is not None
    overlay = layout.roster_file
    if overlay is not None and overlay.name not in list_files(overlay.parent, ref):
        overlay = None
    files = [layout.agents_dir / name for name in list_files(layout.agents_dir, ref, suffix=".md")]
    then = layout.at_ref(files, overlay)
    if not then.sources():
        raise ConfigError(f"no roster at {ref}: neither subagent files nor roster.yaml", path=display(path))
    return assembled(then, lambda p: show_file(p, ref), lambda p: f"{ref}:{display(p)}", catalog_dir=catalog_dir)


def assembled(
    layout: RosterLayout,
    read: Callable[[Path], str] = read_text,
    show: Callable[[Path], str] = shown_path,
    *,
    catalog_dir: Path | None = None,
) -> LoadedRoster:
    """A Claude Code project's roster: its subagent files (and overlay) as `read` gives them, named by `show`;
    tool names mapped with the catalog in `catalog_dir` (default: the project's policies/data)."""
    if catalog_dir is None:
        catalog_dir = Project.find(layout.agents_dir or layout.path).policies / "data"
    from guardrail.adapters.claude_agents import assemble  # a Claude Code project only: a plain roster skips it

    doc, findings = assemble(layout, read, show, catalog_dir if catalog_dir.is_dir() else None)
    return _check(doc, findings)


__all__ = ["LoadedRoster", "assembled", "catalog_names", "load_roster", "parse_roster", "roster_at_ref", "shown_path"]
