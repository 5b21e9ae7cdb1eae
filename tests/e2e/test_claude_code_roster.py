"""End to end in a temporary git repository: a Claude Code project's `.claude/agents/` is the roster.

Three subagents (one with its governance in front matter, one governed through the project's roster.yaml, one
with nothing), imported, checked and gated as CI would: a pull request that moves a subagent from haiku to opus
and gives another a new tool is gated like any roster change, with each change on its line in the `.md` file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from tests.e2e.test_gate_git import git
from tests.support.cli import run_cli

from guardrail.adapters.roster_file import load_roster

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

TRIAGE = """---
name: support-triage
description: Triage support tickets; refund duplicate charges.
tools: Read, Grep, mcp__stripe__create_refund
model: haiku
owner: support-lead@acme.example
tier: standard
budget_usd_per_day: 20
autonomy: human_approval
data_scopes: [customer_pii]
approval_required_for: [mcp__stripe__create_refund]
---
You triage support tickets.
"""

RESEARCHER = """---
name: researcher
description: Research the public web.
tools: WebSearch, WebFetch
model: haiku
---
You research.
"""

DRAFTER = """---
name: drafter
description: Drafts files.
tools:
  - Read
  - Write
---
"""

OVERLAY = """version: 1
organization: Acme
data_classes: {customer_pii: {sensitivity: high}}
agents:
  - name: researcher
    owner: research@acme.example
    tier: low
    budget_usd_per_day: 5
    autonomy: autonomous
    data_scopes: []
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "support-triage.md").write_text(TRIAGE)
    (agents / "researcher.md").write_text(RESEARCHER)
    (agents / "drafter.md").write_text(DRAFTER)
    (tmp_path / "roster.yaml").write_text(OVERLAY)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "roster")
    git(tmp_path, "checkout", "-q", "-b", "pr")
    return tmp_path


def test_import_writes_a_roster_that_loads_and_warns_about_missing_governance(repo: Path) -> None:
    result = run_cli("roster", "import", "claude-code", ".claude/agents", "-o", "imported.yaml", cwd=repo)
    assert result.code == 0, result.err
    assert (
        "warning: .claude/agents/drafter.md:2: drafter has no owner, tier, budget_usd_per_day, autonomy" in result.err
    )
    assert "drafter inherits the session's model" in result.err
    data = yaml.safe_load((repo / "imported.yaml").read_text())
    agents = {a["name"]: a for a in data["agents"]}
    assert agents["support-triage"]["tools"] == ["files.read", "payments.refund"]  # Read and Grep are one tool
    assert agents["support-triage"]["model"] == "anthropic/claude-haiku-4-5"
    assert agents["researcher"]["owner"] == "research@acme.example"  # from the overlay
    assert data["tools"]["payments.refund"]["risk"] == "high"  # declared as the catalog rates it
    imported = load_roster(repo / "imported.yaml").roster
    assert imported == load_roster(repo / ".claude" / "agents").roster

    (repo / "plain").mkdir()
    shutil.copy(repo / "imported.yaml", repo / "plain" / "roster.yaml")
    bad = run_cli("roster", "import", "claude-code", "plain", cwd=repo)
    assert bad.code == 2 and "plain: no Claude Code subagents here" in bad.err


def test_check_and_gate_read_the_subagent_files_directly(repo: Path) -> None:
    check = run_cli("roster", "check", ".claude/agents", "--format", "json", cwd=repo)
    assert check.code == 1  # drafter has no owner or budget (GR-005)
    found = json.loads(check.out)["findings"]
    owners = [f for f in found if f["rule"] == "GR-005" and f["agent"] == "drafter"]
    assert owners and owners[0]["location"]["path"] == ".claude/agents/drafter.md"
    assert any(f["rule"] == "claude-code.governance" and f["kind"] == "warn" for f in found)

    # the pull request: researcher haiku -> opus, support-triage gains Bash (a high-risk write, unapproved)
    agents = repo / ".claude" / "agents"
    (agents / "researcher.md").write_text(RESEARCHER.replace("model: haiku", "model: opus"))
    (agents / "support-triage.md").write_text(
        TRIAGE.replace("mcp__stripe__create_refund\n", "mcp__stripe__create_refund, Bash\n", 1)
    )
    # and the same PR tries to re-alias Bash as a harmless tool: the gate maps names with the base's catalog
    catalog = repo / "policies" / "data" / "catalog.yaml"
    text = catalog.read_text().replace("aliases: [Bash, PowerShell]", "aliases: [PowerShell]")
    catalog.write_text(text.replace("aliases: [Read, Glob, Grep]", "aliases: [Read, Glob, Grep, Bash]"))
    git(repo, "commit", "-qam", "switch models, add a tool")
    gate = run_cli("gate", "--roster", ".claude/agents", "--base-ref", "main", "--format", "json", cwd=repo)
    assert gate.code == 1, gate.err
    report = json.loads(gate.out)["gate"]
    changes = {(c["kind"], c["agent"]): c for c in report["changes"]}
    switch = changes[("model_switch", "researcher")]
    assert (switch["details"]["from"], switch["details"]["to"]) == (
        "anthropic/claude-haiku-4-5",
        "anthropic/claude-opus-4-1",
    )
    assert switch["location"] == {"path": ".claude/agents/researcher.md", "line": 5, "col": None}
    added = changes[("tool_added", "support-triage")]
    assert added["subject"] == "shell.run" and added["location"]["path"] == ".claude/agents/support-triage.md"
    assert added["location"]["line"] == 4
    blocking = {(b["rule"], b["agent"]) for b in report["blocking"]}
    assert ("evidence_missing", "researcher") in blocking  # a model switch needs evidence
    assert ("approval_required", "support-triage") in blocking  # a new high-risk tool needs a recorded approval

    unchanged = run_cli("gate", "--roster", ".claude/agents", "--base-ref", "pr", "--format", "json", cwd=repo)
    assert json.loads(unchanged.out)["gate"]["changes"] == []
