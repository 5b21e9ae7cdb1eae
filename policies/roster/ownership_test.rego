package roster.ownership_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.ownership

deny_of(roster) := result if {
	result := ownership.deny with input as roster with data.models as fx.models
}

msgs(roster) := {f.msg | some f in deny_of(roster)}

test_owner_and_budget_within_cap_pass if {
	count(deny_of(fx.roster)) == 0
}

test_budget_equal_to_cap_passes if {
	count(deny_of(fx.roster_with([fx.agent_with({"budget_usd_per_day": 50})]))) == 0
}

test_missing_owner_is_denied if {
	result := deny_of(fx.roster_with([object.remove(fx.agent, ["owner"])]))
	fx.rules(result) == {"GR-005"}
	some f in result
	contains(f.msg, "has no owner")
}

test_owner_must_be_an_email if {
	some m in msgs(fx.roster_with([fx.agent_with({"owner": "the support team"})]))
	contains(m, "not an email address")
}

test_missing_budget_is_denied if {
	some m in msgs(fx.roster_with([object.remove(fx.agent, ["budget_usd_per_day"])]))
	contains(m, "no budget_usd_per_day")
}

test_budget_above_tier_cap_is_denied if {
	some m in msgs(fx.roster_with([fx.agent_with({"budget_usd_per_day": 75.5})]))
	contains(m, "75.5 USD")
	contains(m, "cap of 50 USD")
}

test_null_owner_and_budget_count_as_missing if {
	# the runner dumps agents with nulls; policy_input() drops them: both shapes mean "not set"
	m := msgs(fx.roster_with([fx.agent_with({"owner": null, "budget_usd_per_day": null})]))
	count(m) == 2
}

test_owner_and_budget_problems_reported_separately if {
	count(deny_of(fx.roster_with([fx.agent_with({"owner": null, "budget_usd_per_day": 500})]))) == 2
}

test_tier_without_cap_fails_closed if {
	result := ownership.deny with input as fx.roster with data.models as {"budget_caps": {}}
	some f in result
	contains(f.msg, "no budget cap is configured for the standard tier")
}
