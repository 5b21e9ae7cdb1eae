package audit.agents

import rego.v1

import data.audit.lib

# METADATA
# title: Only roster agents run
# description: Every agent that acts in production must be on the roster, with an owner, a model, tools and limits; calls by an agent the roster does not know (or that the trace does not name) ran ungoverned.
# custom:
#   id: AUD-001
#   severity: high
#   controls: ["EU AI Act Art. 72", "ISO/IEC 42001 A.6.2.6", "NIST AI RMF GOVERN 1.6", "SOC 2 CC6.1"]
deny contains {
	"rule": "AUD-001",
	"agent": seen.name,
	"severity": "high",
	"msg": sprintf("%s is not on the roster but made %d tool call(s) and %d model call(s)", [who(seen.name), seen.tool_calls, seen.model_calls]),
	"trace_id": seen.first.trace_id,
	"span_id": seen.first.span_id,
} if {
	some seen in input.agents
	not lib.on_roster(seen.name)
}

who(name) := "an agent the traces do not name" if name == "(unnamed)"

else := name
