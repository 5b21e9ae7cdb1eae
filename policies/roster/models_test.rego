package roster.models_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.models

deny_of(roster) := result if {
	result := models.deny with input as roster with data.models as fx.models
}

test_approved_model_passes if {
	count(deny_of(fx.roster)) == 0
}

test_model_not_approved_for_tier_is_denied if {
	agent := fx.agent_with({"model": "openai/gpt-3.5-turbo"})
	result := deny_of(fx.roster_with([agent]))
	fx.rules(result) == {"GR-004"}
	some f in result
	contains(f.msg, "openai/gpt-3.5-turbo")
	contains(f.msg, "standard tier")
}

test_critical_agent_must_run_on_top_tier if {
	agent := fx.agent_with({"name": "coordinator", "tier": "critical", "model": "sim/balanced", "budget_usd_per_day": 100})
	result := deny_of(fx.roster_with([agent]))
	count(result) == 1
	some f in result
	f.agent == "coordinator"
	contains(f.msg, "top-tier")
}

test_critical_agent_on_top_tier_passes if {
	agent := fx.agent_with({"name": "coordinator", "tier": "critical", "model": "sim/frontier"})
	count(deny_of(fx.roster_with([agent]))) == 0
}

test_tier_without_approved_models_denies if {
	agent := fx.agent_with({"tier": "low", "model": "sim/budget"})
	result := models.deny with input as fx.roster_with([agent]) with data.models as {"approved": {}, "top_tier": []}
	some f in result
	contains(f.msg, "none configured")
}

test_missing_model_data_fails_closed if {
	agent := fx.agent_with({"name": "coordinator", "tier": "critical", "model": "sim/frontier"})
	count(models.deny) == 1 with input as fx.roster_with([agent]) with data.models as {}
}
