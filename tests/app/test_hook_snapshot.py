"""The hook's cached snapshot: reused while its inputs are unchanged, rebuilt when any of them changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guardrail.app import hook_snapshot
from guardrail.app.hook_snapshot import load_snapshot

REPO = Path(__file__).resolve().parents[2]
ROSTER = """version: 1
organization: Testco
tools: {web.search: {risk: low, external: true}}
agents:
  - {name: research, model: sim/budget, tools: [web.search], owner: r@testco.example}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "roster.yaml").write_text(ROSTER)
    return tmp_path


def _builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = hook_snapshot.build_snapshot

    def counting(*args: object) -> hook_snapshot.Snapshot:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(hook_snapshot, "build_snapshot", counting)
    return calls


def test_built_once_then_read_until_an_input_changes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = _builds(monkeypatch)
    cache = project / ".guardrail" / "hook"
    first = load_snapshot(project / "roster.yaml", project / "policies", cache)
    assert load_snapshot(project / "roster.yaml", project / "policies", cache) == first
    assert len(builds) == 1
    assert first.catalog_tool("WebSearch") == "web.search" and first.catalog_tool("web.search") == "web.search"
    assert first.catalog_tool("Nope") is None and first.agent("Research") == "research"

    (project / "policies" / "data" / "waivers.yaml").write_text("waivers: []\n")  # any policy data file counts
    second = load_snapshot(project / "roster.yaml", project / "policies", cache)
    assert len(builds) == 2 and second.policy_hash == first.policy_hash  # waivers are not part of the policy hash
    (project / "roster.yaml").write_text(ROSTER.replace("sim/budget", "sim/balanced"))
    third = load_snapshot(project / "roster.yaml", project / "policies", cache)
    assert len(builds) == 3 and third.roster_hash != first.roster_hash
    assert third.agents["research"]["model"] == "sim/balanced"


def test_a_damaged_or_unwritable_cache_is_not_used(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = _builds(monkeypatch)
    cache = project / ".guardrail" / "hook"
    load_snapshot(project / "roster.yaml", project / "policies", cache)
    (snapshot_file,) = cache.glob("live-*.json")
    snapshot_file.write_text("{truncated")
    load_snapshot(project / "roster.yaml", project / "policies", cache)
    assert len(builds) == 2
    (project / "blocked").write_text("")
    load_snapshot(project / "roster.yaml", project / "policies", project / "blocked" / "hook")
    assert len(builds) == 3
