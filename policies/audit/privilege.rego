package audit.privilege

import rego.v1

import data.audit.lib

# METADATA
# title: Granted tools are used (least privilege)
# description: A tool the roster grants an agent that the agent never called in the audited window is a privilege it does not need; remove it from the agent's tools (and its approvals) in the roster.
# custom:
#   id: AUD-004
#   severity: low
#   controls: ["ISO/IEC 42001 A.9.4", "NIST AI RMF MANAGE 2.4", "SOC 2 CC6.3"]
warn contains {
	"rule": "AUD-004",
	"agent": seen.name,
	"severity": "low",
	"msg": sprintf("%s holds %s but never called it in %d tool call(s) in this window; fix: remove %s from its tools in the roster", [seen.name, tool, seen.tool_calls, tool]),
} if {
	some seen in input.agents
	agent := lib.roster_agent(seen.name)
	some tool in agent.tools
	not seen.tools_used[tool]
}
