# A small roster and what the traces showed of each agent, shared by the audit rules' tests.
package audit.fixtures

import rego.v1

roster := {"agents": [
	{
		"name": "support-triage", "model": "openai/gpt-4o-mini", "budget_usd_per_day": 20,
		"tools": ["crm.lookup_order", "tickets.route", "payments.refund"],
	},
	{"name": "content", "model": "anthropic/claude-haiku-4-5", "tools": ["cms.draft"]},
]}

at := {"trace_id": "t1", "span_id": "s1"}

seen(changes) := object.union(object.remove(
	{
		"name": "support-triage", "tool_calls": 3, "model_calls": 1, "first": at,
		"tools_used": {"crm.lookup_order": 1, "tickets.route": 1, "payments.refund": 1},
		"models": [{"model": "gpt-4o-mini", "provider": "openai", "id": "openai/gpt-4o-mini", "calls": 1, "first": at}],
		"days": [{"day": "2026-11-28", "cost_usd": 3.5, "calls": 1, "unpriced_calls": 0, "last": at}],
	},
	object.keys(changes),
), changes)

input_with(agents) := {"roster": roster, "agents": agents, "window": {"since": null, "until": null}}

rules(findings) := {f.rule | some f in findings}
