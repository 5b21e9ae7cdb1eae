# GR-003: high-sensitivity data does not leave through an external tool unless a person approves each call.
package roster.dataflow

import rego.v1

import data.lib.tools

# The distinct tools agents hold, judged once each rather than once per agent (large rosters).
held := {tool | some agent in input.agents; some tool in agent.tools}

external := {tool | some tool in held; tools.external(tool, input.tools)}

# METADATA
# title: No toxic data flow
# description: An agent that can read high-sensitivity data (customer PII, payment data) may hold a tool through which data leaves the company only if that tool needs a human approval on every call.
# custom:
#   id: GR-003
#   severity: critical
#   controls: ["EU AI Act Art. 10", "GDPR Art. 32", "NIST AI RMF MEASURE 2.10", "ISO/IEC 42001 A.7.2", "SOC 2 CC6.7"]
deny contains f if {
	some agent in input.agents
	scopes := tools.sensitive_scopes(agent, input.data_classes)
	count(scopes) > 0
	some tool in agent.tools
	tool in external
	not tool in agent.approval_required_for
	f := {
		"rule": "GR-003",
		"agent": agent.name,
		"msg": sprintf(
			"%s reads high-sensitivity data (%s) and holds external tool %s without approval: data can leave unchecked",
			[agent.name, concat(", ", scopes), tool],
		),
	}
}
