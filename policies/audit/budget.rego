package audit.budget

import rego.v1

import data.audit.lib

# METADATA
# title: Agents stay within their daily budget
# description: An agent's model spend on a UTC day (the cost the trace records, else its tokens at list price) must not exceed the roster's budget_usd_per_day.
# custom:
#   id: AUD-003
#   severity: medium
#   controls: ["EU AI Act Art. 72", "ISO/IEC 42001 A.6.2.6", "NIST AI RMF MANAGE 2.2"]
deny contains {
	"rule": "AUD-003",
	"agent": seen.name,
	"severity": "medium",
	"msg": sprintf("%s spent $%s on %s over %d model call(s), over its budget of $%s a day", [seen.name, usd(day.cost_usd), day.day, day.calls, usd(agent.budget_usd_per_day)]),
	"trace_id": at.trace_id,
	"span_id": at.span_id,
} if {
	some seen in input.agents
	agent := lib.roster_agent(seen.name)
	is_number(agent.budget_usd_per_day)
	some day in seen.days
	day.cost_usd > agent.budget_usd_per_day
	at := object.get(day, "crossed", day.last)
}

# Two decimals in either engine: OPA hands Go's fmt.Sprintf an int for a whole number, and %.2f refuses an int.
usd(x) := sprintf("%d.00", [x]) if x == round(x)

usd(x) := sprintf("%.2f", [x]) if x != round(x)
