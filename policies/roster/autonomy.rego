# GR-007: an agent that acts without a person in the loop cannot hold a tool that moves money or changes records at
# high risk.
package roster.autonomy

import rego.v1

import data.lib.tools

# The distinct tools agents hold, judged once each rather than once per agent (large rosters).
held := {tool | some agent in input.agents; some tool in agent.tools}

high_risk_writes := {tool | some tool in held; tools.high_risk(tool, input.tools); tools.writes(tool, input.tools)}

# METADATA
# title: Autonomous agents hold no high-risk write tools
# description: An agent running with autonomy autonomous may not hold a tool that writes and is high risk (by the roster or the governance catalog); lower its autonomy or remove the tool.
# custom:
#   id: GR-007
#   severity: critical
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.9.2", "SOC 2 CC6.3"]
deny contains f if {
	some agent in input.agents
	agent.autonomy == "autonomous"
	some tool in agent.tools
	tool in high_risk_writes
	f := {
		"rule": "GR-007",
		"agent": agent.name,
		"msg": sprintf("%s is autonomous and holds high-risk write tool %s", [agent.name, tool]),
	}
}
