package roster.catalog_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.catalog

findings(roster) := result if {
	result := catalog.deny with input as roster with data.catalog as fx.catalog
}

test_catalogued_tools_pass if {
	count(findings(fx.roster)) == 0
}

test_tool_outside_catalog_is_denied if {
	tools := object.union(fx.tools, {"shell.exec": {"risk": "low", "writes": true, "external": false}})
	agent := fx.agent_with({"tools": ["tickets.route", "shell.exec"]})
	roster := object.union(fx.roster_with([agent]), {"tools": tools})
	result := findings(roster)
	count(result) == 1
	some f in result
	f.rule == "GR-001"
	f.agent == "support-triage"
	contains(f.msg, "shell.exec")
}

test_understated_risk_is_denied_for_the_roster if {
	tools := object.union(fx.tools, {"payments.refund": {"risk": "medium"}})
	roster := object.union(fx.roster, {"tools": tools})
	result := findings(roster)
	count(result) == 1
	some f in result
	not f.agent
	contains(f.msg, "payments.refund as medium risk")
	contains(f.msg, "rates it high")
}

test_overstated_risk_is_fine if {
	tools := object.union(fx.tools, {"web.search": {"risk": "high"}})
	count(findings(object.union(fx.roster, {"tools": tools}))) == 0
}

test_no_catalog_loaded_denies_every_tool if {
	result := catalog.deny with input as fx.roster with data.catalog as {}
	count(result) == 3
}
