"""What the live hook decides with: the policies, their data, the roster's agents and the catalog's aliases.

Building it means validating the roster (pydantic) and parsing YAML data files, which costs more than the hook's
whole budget. So it is built once and cached as one JSON file under `.guardrail/hook/`, keyed by the content of
every file it was built from (roster sources, policies and data) and by guardrail's version: an edit to any of
them selects a new key, and the hook rebuilds. A cache that cannot be written or read is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import guardrail
from guardrail.adapters.catalog import catalog_tools
from guardrail.adapters.roster_layout import RosterLayout
from guardrail.core.hashing import POLICY_SUFFIXES, sha256_tree

SNAPSHOT_FORMAT = 2  # bump when what a snapshot holds, or how it is built, changes
SNAPSHOT_PREFIX = "live-"
KEEP_SNAPSHOTS = 8


@dataclass(frozen=True)
class Snapshot:
    policy_hash: str
    roster_hash: str
    modules: list[tuple[str, str]]
    data: dict[str, Any]
    tools: dict[str, Any]  # the roster's tool declarations, as the action policy sees them
    data_classes: dict[str, Any]
    agents: dict[str, dict[str, Any]]  # roster agent name -> the agent as the action policy sees it
    aliases: dict[str, str] = field(default_factory=dict)  # runtime tool name -> catalog tool

    def catalog_tool(self, runtime_name: str) -> str | None:
        """The catalog tool a runtime name stands for: itself when catalogued, else the tool that lists it."""
        if runtime_name in catalog_tools(self.data):
            return runtime_name
        return self.aliases.get(runtime_name)

    def agent(self, name: str) -> str | None:
        """The roster agent a runtime name stands for (exact, then ignoring case: Claude's `Explore`)."""
        if name in self.agents:
            return name
        folded = [agent for agent in self.agents if agent.casefold() == name.casefold()]
        return folded[0] if len(folded) == 1 else None


def load_snapshot(roster: Path, policies: Path, cache_dir: Path | None) -> Snapshot:
    """The snapshot for these inputs: from the cache when their content is unchanged, else built and cached."""
    layout = RosterLayout.resolve(roster)
    if not policies.is_dir():
        from guardrail.errors import PolicyError

        raise PolicyError(f"{policies}: policy directory not found", hint="pass --policies DIR")
    key = hashlib.sha256(
        "\0".join(
            [
                str(SNAPSHOT_FORMAT),
                guardrail.__version__,
                str(layout.path.resolve()),
                layout.digest(),
                str(policies.resolve()),
                sha256_tree(policies, POLICY_SUFFIXES),
            ]
        ).encode()
    ).hexdigest()
    cached = _read(cache_dir / f"{SNAPSHOT_PREFIX}{key[:40]}.json") if cache_dir is not None else None
    if cached is not None:
        return cached
    snapshot = build_snapshot(layout, policies)
    if cache_dir is not None:
        _write(cache_dir, f"{SNAPSHOT_PREFIX}{key[:40]}.json", snapshot)
    return snapshot


def build_snapshot(layout: RosterLayout, policies: Path) -> Snapshot:
    """The slow path: the same loaders `roster check` and the runner use."""
    from guardrail.adapters.catalog import catalog_aliases
    from guardrail.adapters.rego import load_bundle, prepare
    from guardrail.adapters.roster_file import assembled, load_roster
    from guardrail.app.agent_loop import AgentContext
    from guardrail.core.hashing import policies_hash

    # subagents' tool names are mapped with the catalog the hook decides with
    loaded = load_roster(layout.path) if layout.agents_dir is None else assembled(layout, catalog_dir=policies / "data")
    roster = loaded.roster
    bundle = prepare(load_bundle(policies, include_tests=False, display_root=policies.parent))  # checked once
    dump = roster.model_dump(mode="json")
    return Snapshot(
        policy_hash=f"sha256:{policies_hash(policies)}",
        roster_hash=f"sha256:{layout.digest()}",
        modules=list(bundle.modules),
        data=bundle.data,
        tools=dump["tools"],
        data_classes=dump["data_classes"],
        agents={agent.name: AgentContext.from_roster(roster, agent.name).agent for agent in roster.agents},
        aliases=catalog_aliases(bundle.data, policies / "data"),
    )


def _read(path: Path) -> Snapshot | None:
    try:
        raw = json.loads(path.read_bytes())
        return Snapshot(
            policy_hash=raw["policy_hash"],
            roster_hash=raw["roster_hash"],
            modules=[(p, s) for p, s in raw["modules"]],
            data=raw["data"],
            tools=raw["tools"],
            data_classes=raw["data_classes"],
            agents=raw["agents"],
            aliases=raw["aliases"],
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None  # absent, or damaged: rebuild


def _write(directory: Path, name: str, snapshot: Snapshot) -> None:
    """Atomically, then drop older snapshots; a cache that cannot be written is skipped, never an error."""
    import tempfile  # only on a rebuild: the hook's common path never writes

    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".snapshot-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(snapshot.__dict__, handle, separators=(",", ":"))
        os.replace(tmp, directory / name)
        # a few hooks (several rosters in one project) share the folder; older snapshots go
        older = sorted(directory.glob(f"{SNAPSHOT_PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in older[KEEP_SNAPSHOTS:]:
            old.unlink(missing_ok=True)


__all__ = ["SNAPSHOT_FORMAT", "Snapshot", "build_snapshot", "load_snapshot"]
