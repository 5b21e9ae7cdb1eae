package roster.dataflow_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.dataflow

deny_of(roster) := result if {
	result := dataflow.deny with input as roster with data.catalog as fx.catalog
}

test_sensitive_agent_without_external_tools_passes if {
	count(deny_of(fx.roster)) == 0
}

test_sensitive_agent_with_unapproved_external_tool_is_denied if {
	agent := fx.agent_with({"tools": ["tickets.route", "email.send"], "approval_required_for": []})
	result := deny_of(fx.roster_with([agent]))
	fx.rules(result) == {"GR-003"}
	some f in result
	contains(f.msg, "email.send")
	contains(f.msg, "customer_pii")
}

test_external_tool_with_approval_passes if {
	agent := fx.agent_with({"tools": ["tickets.route", "email.send"], "approval_required_for": ["email.send"]})
	count(deny_of(fx.roster_with([agent]))) == 0
}

test_low_sensitivity_agent_may_use_external_tools if {
	agent := fx.agent_with({"tools": ["web.search"], "data_scopes": ["marketing_content"], "approval_required_for": []})
	count(deny_of(fx.roster_with([agent]))) == 0
}

test_catalog_external_flag_wins if {
	# the roster says web.search is internal; the catalog knows it is external
	tools := object.union(fx.tools, {"web.search": {"external": false}})
	agent := fx.agent_with({"tools": ["web.search"], "approval_required_for": []})
	roster := object.union(fx.roster_with([agent]), {"tools": tools})
	count(deny_of(roster)) == 1
}
