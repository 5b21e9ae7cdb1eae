"""Claude Code subagent files as roster agents: tool and model mapping, the overlay, lines, errors, git refs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from guardrail.adapters.claude_agents import CLAUDE_CODE_MODELS, INHERITED, model_id
from guardrail.adapters.roster_file import load_roster, roster_at_ref
from guardrail.errors import ConfigError

CATALOG = """tools:
  files.read: {risk: low, aliases: [Read, Grep, Glob]}
  shell.run: {risk: high, writes: true, aliases: [Bash]}
  payments.refund: {risk: high, writes: true, aliases: [mcp__stripe__create_refund]}
"""

AGENT = """---
name: triage
description: Triage tickets.
tools: Read, Grep, Bash(git add *, git commit *), mcp__stripe__create_refund, CustomThing
disallowedTools: Bash
model: {model}
owner: a@acme.example
data_scopes: [{scope}]
---
Prompt.
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "policies" / "data").mkdir(parents=True)
    (tmp_path / "policies" / "data" / "catalog.yaml").write_text(CATALOG)
    (tmp_path / ".claude" / "agents").mkdir(parents=True)
    (tmp_path / "roster.yaml").write_text("version: 1\norganization: Acme\ndata_classes: {pii: {sensitivity: high}}\n")
    (tmp_path / ".git").mkdir()
    return tmp_path


def _write(project: Path, name: str, text: str) -> Path:
    path = project / ".claude" / "agents" / f"{name}.md"
    path.write_text(text)
    return path


def test_model_aliases_map_to_roster_model_ids() -> None:
    assert model_id("haiku") == CLAUDE_CODE_MODELS["haiku"] == "anthropic/claude-haiku-4-5"
    assert model_id("claude-opus-4-6") == "anthropic/claude-opus-4-6"
    assert model_id("openai/gpt-4.1") == "openai/gpt-4.1"


def test_tools_map_through_the_catalog_and_keep_their_lines(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    _write(project, "triage", AGENT.format(model="sonnet", scope="pii"))
    loaded = load_roster(project)
    agent = loaded.roster.agent("triage")
    assert agent is not None
    # Read and Grep are one catalog tool; Bash(...) is Bash, then disallowed; unknown names stay as they are
    assert agent.tools == ["files.read", "payments.refund", "CustomThing"]
    assert agent.model == "anthropic/claude-sonnet-4-5"
    assert loaded.roster.tools["payments.refund"].risk == "high"  # declared as the catalog rates it
    assert str(loaded.agent_location("triage", "model")) == ".claude/agents/triage.md:6"
    assert loaded.agent_location("triage", "tools", 1).line == 4
    assert loaded.agent_location("triage", "owner").line == 7


def test_errors_name_the_subagent_file_line_and_field(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    _write(project, "triage", AGENT.format(model="sonnet", scope="payroll"))
    with pytest.raises(ConfigError) as caught:
        load_roster(project)
    assert str(caught.value) == ".claude/agents/triage.md:8: data_scopes[0]: unknown data class 'payroll'"
    _write(project, "triage", "no front matter\n")
    with pytest.raises(ConfigError, match=r"triage.md:1: no front matter"):
        load_roster(project)
    _write(project, "triage", "---\nname: triage\n")
    with pytest.raises(ConfigError, match="no closing ---"):
        load_roster(project)
    _write(project, "triage", "---\ndescription: x\n---\n")
    with pytest.raises(ConfigError, match="a subagent needs a name"):
        load_roster(project)


def test_the_overlay_fills_governance_and_the_file_wins_on_what_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    _write(project, "coder", "---\nname: coder\ndescription: d\nmodel: haiku\npermissionMode: bypassPermissions\n---\n")
    _write(project, "helper", "---\nname: helper\ndescription: d\ntools: Read\n---\n")
    (project / "roster.yaml").write_text(
        "version: 1\norganization: Acme\nagents:\n"
        "  - name: coder\n    model: sim/frontier\n    owner: c@acme.example\n    budget_usd_per_day: 3\n"
        "  - name: lead\n    model: sim/frontier\n    owner: l@acme.example\n"
    )
    loaded = load_roster(project / ".claude" / "agents")
    assert [a.name for a in loaded.roster.agents] == ["coder", "lead", "helper"]
    coder, helper = loaded.roster.agent("coder"), loaded.roster.agent("helper")
    assert coder is not None and helper is not None
    assert (coder.model, coder.owner, coder.autonomy) == ("anthropic/claude-haiku-4-5", "c@acme.example", "autonomous")
    assert helper.model == INHERITED
    assert loaded.agent_location("coder", "owner").model_dump()["path"] == "roster.yaml"
    assert loaded.agent_location("coder", "model").model_dump()["path"] == ".claude/agents/coder.md"
    messages = [f.msg for f in loaded.findings]
    assert any("roster.yaml gives coder model 'sim/frontier', its subagent file" in m for m in messages)
    assert any("coder lists no tools, so Claude Code gives it every tool" in m for m in messages)
    assert any(m.startswith("helper inherits the session's model") for m in messages)
    assert all(f.kind == "warn" for f in loaded.findings)


def test_a_subagent_name_used_twice_is_an_error(project: Path) -> None:
    _write(project, "a", "---\nname: same\ndescription: d\n---\n")
    _write(project, "b", "---\nname: same\ndescription: d\n---\n")
    with pytest.raises(ConfigError, match="duplicate subagent name 'same'"):
        load_roster(project)


def test_the_roster_at_a_git_ref_has_that_ref_s_subagents(project: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)

    (project / ".git").rmdir()
    _write(project, "first", "---\nname: first\ndescription: d\ntools: Read\nmodel: haiku\n---\n")
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    _write(project, "second", "---\nname: second\ndescription: d\nmodel: opus\n---\n")
    _write(project, "first", "---\nname: first\ndescription: d\ntools: Read\nmodel: sonnet\n---\n")
    then = roster_at_ref(project / ".claude" / "agents", "main", display=lambda p: p.relative_to(project).as_posix())
    assert [(a.name, a.model) for a in then.roster.agents] == [("first", "anthropic/claude-haiku-4-5")]
    assert str(then.agent_location("first", "model")) == "main:.claude/agents/first.md:5"
    with pytest.raises(ConfigError, match="cannot read the base roster at nope"):
        roster_at_ref(project / ".claude" / "agents", "nope")


def test_a_front_matter_syntax_error_is_on_its_file_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    _write(project, "triage", "---\nname: triage\ndescription: [unclosed\nmodel: haiku\n---\n")
    with pytest.raises(ConfigError, match=r"^\.claude/agents/triage\.md:[34]: invalid YAML"):
        load_roster(project)
