package roster.autonomy_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.autonomy

deny_of(roster) := result if {
	result := autonomy.deny with input as roster with data.catalog as fx.catalog
}

test_supervised_agent_may_hold_high_risk_write_tool if {
	count(deny_of(fx.roster)) == 0
}

test_autonomous_agent_with_high_risk_write_tool_is_denied if {
	result := deny_of(fx.roster_with([fx.agent_with({"autonomy": "autonomous"})]))
	fx.rules(result) == {"GR-007"}
	some f in result
	contains(f.msg, "payments.refund")
}

test_autonomous_agent_with_high_risk_read_tool_passes if {
	agent := fx.agent_with({"autonomy": "autonomous", "tools": ["crm.export_contacts"], "approval_required_for": ["crm.export_contacts"]})
	count(deny_of(fx.roster_with([agent]))) == 0
}

test_autonomous_agent_with_low_risk_write_tool_passes if {
	agent := fx.agent_with({"autonomy": "autonomous", "tools": ["tickets.route"], "approval_required_for": []})
	count(deny_of(fx.roster_with([agent]))) == 0
}
