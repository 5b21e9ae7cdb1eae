# GR-002: a human signs off before any high-risk tool acts, whatever autonomy the agent otherwise has.
package roster.approvals

import rego.v1

import data.lib.tools

# The distinct tools agents hold, judged once each rather than once per agent (large rosters).
held := {tool | some agent in input.agents; some tool in agent.tools}

high_risk := {tool | some tool in held; tools.high_risk(tool, input.tools)}

# METADATA
# title: High-risk tools need a human checkpoint
# description: An agent that holds a high-risk tool (by the roster or the governance catalog) must list it in approval_required_for, so a person approves each call, whatever the agent's autonomy.
# custom:
#   id: GR-002
#   severity: high
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MAP 3.5", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.6.2.6"]
deny contains f if {
	some agent in input.agents
	some tool in agent.tools
	tool in high_risk
	not tool in agent.approval_required_for
	f := {
		"rule": "GR-002",
		"agent": agent.name,
		"msg": sprintf("%s holds high-risk tool %s without a human checkpoint: add it to approval_required_for", [agent.name, tool]),
	}
}

# METADATA
# title: Approvals name only tools the agent holds
# description: An approval listed for a tool the agent does not hold protects nothing and usually means the roster drifted; remove it or grant the tool on purpose.
# custom:
#   id: GR-009
#   severity: info
#   controls: ["NIST AI RMF GOVERN 1.6", "ISO/IEC 42001 A.6.2.7"]
warn contains f if {
	some agent in input.agents
	some tool in agent.approval_required_for
	not tool in agent.tools
	f := {
		"rule": "GR-009",
		"agent": agent.name,
		"msg": sprintf("%s lists %s in approval_required_for but does not hold it", [agent.name, tool]),
	}
}
