package audit.models

import rego.v1

import data.audit.lib

# METADATA
# title: Agents run the model the roster names
# description: An agent must run on the model its roster entry names (the model its evals and the gate approved); a different model in production is an unapproved switch.
# custom:
#   id: AUD-002
#   severity: high
#   controls: ["EU AI Act Art. 72", "ISO/IEC 42001 A.6.2.8", "NIST AI RMF MANAGE 4.1", "SOC 2 CC8.1"]
deny contains {
	"rule": "AUD-002",
	"agent": seen.name,
	"severity": "high",
	"msg": sprintf("%s ran on %s (%d model call(s)); the roster names %s", [seen.name, shown(m), m.calls, agent.model]),
	"trace_id": m.first.trace_id,
	"span_id": m.first.span_id,
} if {
	some seen in input.agents
	agent := lib.roster_agent(seen.name)
	some m in seen.models
	not lib.same_model(agent.model, m)
}

shown(m) := m.id if is_string(m.id)

else := "a model the trace does not name"
