"""A tiny, self-contained policy set and roster for testing the engine plumbing independently of the bundled rules."""

from __future__ import annotations

from pathlib import Path

OWNER_RULE = """package roster.owner

import rego.v1

# METADATA
# title: Every agent has an owner
# description: Someone answers for each agent.
# custom:
#   id: T-001
#   severity: high
#   controls: ["ISO/IEC 42001 A.3.2"]
deny contains f if {
  some agent in input.agents
  not agent.owner
  f := {"rule": "T-001", "agent": agent.name, "msg": sprintf("%s has no owner", [agent.name])}
}

# METADATA
# title: Budgets are set
# custom:
#   id: T-002
#   severity: low
#   controls: ["SOC 2 CC1.3"]
warn contains f if {
  some agent in input.agents
  not agent.budget_usd_per_day
  f := {"rule": "T-002", "agent": agent.name, "msg": "no budget"}
}
"""

STRING_RULE = """package roster.plain

import rego.v1

# METADATA
# title: Roster names its organization plainly
# custom:
#   severity: info
deny contains msg if {
  input.organization == "forbidden"
  msg := "organization may not be called forbidden"
}
"""

OWNER_TEST = """package roster.owner_test

import rego.v1
import data.roster.owner

test_missing_owner_denied if {
  count(owner.deny) == 1 with input as {"agents": [{"name": "a"}]}
}

test_owner_ok if {
  count(owner.deny) == 0 with input as {"agents": [{"name": "a", "owner": "x@y.z"}]}
}
"""

ROSTER = """version: 1
organization: Testco
tools:
  tickets.route: {risk: low}
data_classes: {}
agents:
  - name: alpha
    model: sim/balanced
    owner: a@testco.example
    budget_usd_per_day: 5
  - name: beta
    model: sim/balanced
    tools: [tickets.route]
"""


def make_policy_dir(root: Path, *, waivers: str | None = None, with_tests: bool = True) -> Path:
    policies = root / "policies"
    (policies / "roster").mkdir(parents=True, exist_ok=True)
    (policies / "data").mkdir(exist_ok=True)
    (policies / "roster" / "owner.rego").write_text(OWNER_RULE)
    (policies / "roster" / "plain.rego").write_text(STRING_RULE)
    if with_tests:
        (policies / "roster" / "owner_test.rego").write_text(OWNER_TEST)
    if waivers is not None:
        (policies / "data" / "waivers.yaml").write_text(waivers)
    return policies


def make_roster(root: Path, text: str = ROSTER) -> Path:
    path = root / "roster.yaml"
    path.write_text(text)
    return path
