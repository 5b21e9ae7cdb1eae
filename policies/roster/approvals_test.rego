package roster.approvals_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.approvals

deny_of(roster) := result if {
	result := approvals.deny with input as roster with data.catalog as fx.catalog
}

warn_of(roster) := result if {
	result := approvals.warn with input as roster with data.catalog as fx.catalog
}

test_high_risk_tool_with_checkpoint_passes if {
	count(deny_of(fx.roster)) == 0
	count(warn_of(fx.roster)) == 0
}

test_high_risk_tool_without_checkpoint_is_denied if {
	agent := fx.agent_with({"approval_required_for": []})
	result := deny_of(fx.roster_with([agent]))
	fx.rules(result) == {"GR-002"}
	some f in result
	f.agent == "support-triage"
	contains(f.msg, "payments.refund")
}

test_checkpoint_required_whatever_the_autonomy if {
	some autonomy in ["autonomous", "logged", "human_approval"]
	agent := fx.agent_with({"approval_required_for": [], "autonomy": autonomy})
	count(deny_of(fx.roster_with([agent]))) == 1
}

test_catalog_risk_wins_over_roster_declaration if {
	# the roster calls the tool low risk; the catalog's "high" still demands a checkpoint
	tools := object.union(fx.tools, {"payments.refund": {"risk": "low"}})
	agent := fx.agent_with({"approval_required_for": []})
	roster := object.union(fx.roster_with([agent]), {"tools": tools})
	count(deny_of(roster)) == 1
}

test_approval_for_a_tool_not_held_warns if {
	agent := fx.agent_with({"approval_required_for": ["payments.refund", "email.send"]})
	result := warn_of(fx.roster_with([agent]))
	fx.rules(result) == {"GR-009"}
	some f in result
	contains(f.msg, "email.send")
}
