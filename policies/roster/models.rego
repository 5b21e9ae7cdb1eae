# GR-004: each tier runs only on models the organisation has approved for it; the coordinator runs on the top tier.
package roster.models

import rego.v1

default approved := {}

approved := data.models.approved

default top_tier := []

top_tier := data.models.top_tier

# METADATA
# title: Models are approved for the agent's tier
# description: An agent may run only on a model approved for its tier in policy data (data.models.approved), and a critical-tier agent such as the coordinator only on an approved top-tier model.
# custom:
#   id: GR-004
#   severity: high
#   controls: ["EU AI Act Art. 15", "NIST AI RMF GOVERN 6.1", "NIST AI RMF MANAGE 3.1", "ISO/IEC 42001 A.10.3", "SOC 2 CC9.2"]
deny contains f if {
	some agent in input.agents
	msg := problem(agent)
	f := {"rule": "GR-004", "agent": agent.name, "msg": msg}
}

problem(agent) := msg if {
	agent.tier == "critical"
	not agent.model in top_tier
	msg := sprintf(
		"%s is a critical-tier agent on %s, which is not an approved top-tier model (top tier: %s)",
		[agent.name, agent.model, concat(", ", top_tier)],
	)
} else := msg if {
	not agent.model in object.get(approved, agent.tier, [])
	msg := sprintf(
		"%s runs on %s, which is not approved for the %s tier (approved: %s)",
		[agent.name, agent.model, agent.tier, listing(object.get(approved, agent.tier, []))],
	)
}

listing(models) := concat(", ", models) if count(models) > 0

listing(models) := "none configured" if count(models) == 0
