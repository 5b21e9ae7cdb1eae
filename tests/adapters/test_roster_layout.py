"""Where a roster lives: the layout rules every command shares, and the content hash that follows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.adapters.roster_layout import RosterLayout
from guardrail.core.hashing import sha256_file
from guardrail.errors import ConfigError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".claude" / "agents").mkdir(parents=True)
    (tmp_path / ".claude" / "agents" / "a.md").write_text("---\nname: a\n---\n")
    (tmp_path / "roster.yaml").write_text("version: 1\n")
    return tmp_path


def test_a_project_a_claude_agents_folder_and_a_file(project: Path) -> None:
    agents = project / ".claude" / "agents"
    assert RosterLayout.resolve(project) == RosterLayout(project, project / "roster.yaml", agents)
    assert RosterLayout.resolve(agents) == RosterLayout(agents, project / "roster.yaml", agents)  # overlay: ../../
    assert RosterLayout.resolve(project / "roster.yaml") == RosterLayout(
        project / "roster.yaml", project / "roster.yaml", None
    )
    copy = project / "elsewhere" / "agents"
    copy.mkdir(parents=True)
    assert RosterLayout.resolve(copy) == RosterLayout(copy, None, copy)
    (project / "docs").mkdir()
    (project / "docs" / "README.md").write_text("# not a subagent\n")
    with pytest.raises(ConfigError, match="no roster here"):
        RosterLayout.resolve(project / "docs")
    with pytest.raises(ConfigError, match="file not found"):
        RosterLayout.resolve(project / "missing.yaml")


def test_the_digest_follows_every_source(project: Path) -> None:
    layout = RosterLayout.resolve(project)
    assert RosterLayout.resolve(project / "roster.yaml").digest() == sha256_file(project / "roster.yaml")
    first = layout.digest()
    (project / ".claude" / "agents" / "b.md").write_text("---\nname: b\n---\n")
    added = layout.digest()
    (project / ".claude" / "agents" / "b.md").rename(project / ".claude" / "agents" / "c.md")
    renamed = layout.digest()
    (project / "roster.yaml").write_text("version: 1\norganization: X\n")
    assert len({first, added, renamed, layout.digest()}) == 4
