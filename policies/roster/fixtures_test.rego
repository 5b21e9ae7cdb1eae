# Shared fixtures for the roster and action policy tests: a compliant roster shaped as Roster.policy_input() dumps it
# (defaults filled, unset optional fields absent), and small catalog/model data so tests do not depend on the bundled
# data files.
package fixtures.roster

import rego.v1

catalog := {"tools": {
	"tickets.route": {"risk": "low", "writes": true},
	"crm.lookup_order": {"risk": "low"},
	"payments.refund": {"risk": "high", "writes": true},
	"email.send": {"risk": "medium", "external": true},
	"web.search": {"risk": "low", "external": true},
	"crm.export_contacts": {"risk": "high", "external": true},
}}

models := {
	"approved": {
		"critical": ["sim/frontier"],
		"standard": ["sim/frontier", "sim/balanced"],
		"low": ["sim/budget"],
	},
	"top_tier": ["sim/frontier"],
	"budget_caps": {"critical": 200, "standard": 50, "low": 10},
}

tools := {
	"tickets.route": {"risk": "low", "writes": true, "external": false},
	"crm.lookup_order": {"risk": "low", "writes": false, "external": false},
	"payments.refund": {"risk": "high", "writes": true, "external": false},
	"email.send": {"risk": "medium", "writes": false, "external": true},
	"web.search": {"risk": "low", "writes": false, "external": true},
	"crm.export_contacts": {"risk": "high", "writes": false, "external": true},
}

data_classes := {
	"customer_pii": {"sensitivity": "high"},
	"marketing_content": {"sensitivity": "low"},
}

agent := {
	"name": "support-triage",
	"office": "operations",
	"tier": "standard",
	"model": "sim/balanced",
	"description": "Routes support tickets",
	"tools": ["tickets.route", "crm.lookup_order", "payments.refund"],
	"data_scopes": ["customer_pii"],
	"autonomy": "human_approval",
	"approval_required_for": ["payments.refund"],
	"budget_usd_per_day": 20,
	"owner": "support-lead@acme.example",
	"suites": ["support-triage"],
	"params": {"temperature": 0},
}

agent_with(changes) := object.union(agent, changes)

roster_with(agents) := {
	"version": 1,
	"organization": "Acme",
	"tools": tools,
	"data_classes": data_classes,
	"agents": agents,
}

roster := roster_with([agent])

# Rule ids in a finding set, and the findings of one agent.
rules(findings) := {f.rule | some f in findings}

of_agent(findings, name) := {f | some f in findings; f.agent == name}
