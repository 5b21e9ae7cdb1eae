# GR-005: every agent has an accountable person and a spending limit the organisation agreed to for its tier.
package roster.ownership

import rego.v1

default caps := {}

caps := data.models.budget_caps

# METADATA
# title: Every agent has an owner and a budget within its tier's cap
# description: Each agent names an accountable owner (an email address) and a daily budget in USD that does not exceed the cap set for its tier in policy data (data.models.budget_caps).
# custom:
#   id: GR-005
#   severity: medium
#   controls: ["EU AI Act Art. 26(2)", "NIST AI RMF GOVERN 2.1", "ISO/IEC 42001 A.3.2", "SOC 2 CC1.3"]
deny contains f if {
	some agent in input.agents
	some msg in problems(agent)
	f := {"rule": "GR-005", "agent": agent.name, "msg": msg}
}

problems(agent) := {msg |
	some check in [owner(agent), budget(agent)]
	msg := check
	msg != ""
}

owner(agent) := sprintf("%s has no owner: name an accountable person's email", [agent.name]) if {
	object.get(agent, "owner", null) == null
} else := sprintf("%s has owner %q, which is not an email address", [agent.name, agent.owner]) if {
	not regex.match(`^[^@\s]+@[^@\s]+\.[^@\s]+$`, agent.owner)
} else := ""

budget(agent) := sprintf("%s has no budget_usd_per_day", [agent.name]) if {
	object.get(agent, "budget_usd_per_day", null) == null
} else := sprintf("%s: no budget cap is configured for the %s tier in data.models.budget_caps", [agent.name, agent.tier]) if {
	not agent.tier in object.keys(caps)
} else := msg if {
	agent.budget_usd_per_day > caps[agent.tier]
	msg := sprintf(
		"%s has a daily budget of %v USD, above the %s tier's cap of %v USD",
		[agent.name, agent.budget_usd_per_day, agent.tier, caps[agent.tier]],
	)
} else := ""
