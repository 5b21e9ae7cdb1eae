package audit.audit_test

import rego.v1

import data.audit.agents
import data.audit.budget
import data.audit.fixtures as fx
import data.audit.lib
import data.audit.models
import data.audit.privilege

test_a_roster_agent_within_its_limits_raises_nothing if {
	inp := fx.input_with([fx.seen({})])
	count(agents.deny) == 0 with input as inp
	count(models.deny) == 0 with input as inp
	count(budget.deny) == 0 with input as inp
	count(privilege.warn) == 0 with input as inp
}

test_an_agent_not_on_the_roster_is_denied_with_its_trace if {
	findings := agents.deny with input as fx.input_with([fx.seen({"name": "shadow-bot"})])
	some f in findings
	f.rule == "AUD-001"
	f.agent == "shadow-bot"
	f.trace_id == "t1"
	contains(f.msg, "3 tool call(s)")
}

test_calls_by_an_unnamed_agent_are_denied if {
	findings := agents.deny with input as fx.input_with([fx.seen({"name": "(unnamed)"})])
	some f in findings
	contains(f.msg, "an agent the traces do not name")
}

test_a_different_model_is_denied if {
	other := {"model": "gpt-4.1", "provider": "openai", "id": "openai/gpt-4.1", "calls": 7, "first": {"trace_id": "t9", "span_id": "s9"}}
	findings := models.deny with input as fx.input_with([fx.seen({"models": [other]})])
	some f in findings
	f.rule == "AUD-002"
	f.span_id == "s9"
	contains(f.msg, "ran on openai/gpt-4.1 (7 model call(s)); the roster names openai/gpt-4o-mini")
}

test_a_dated_snapshot_of_the_roster_model_is_the_same_model if {
	dated := {"model": "gpt-4o-mini-2024-07-18", "provider": "openai", "id": "openai/gpt-4o-mini-2024-07-18", "calls": 1, "first": fx.at}
	count(models.deny) == 0 with input as fx.input_with([fx.seen({"models": [dated]})])
}

test_a_bare_model_name_without_provider_matches_the_roster_id if {
	bare := {"model": "gpt-4o-mini", "provider": null, "id": "gpt-4o-mini", "calls": 1, "first": fx.at}
	count(models.deny) == 0 with input as fx.input_with([fx.seen({"models": [bare]})])
}

test_the_same_name_from_another_provider_is_a_different_model if {
	azure := {"model": "gpt-4o-mini", "provider": "azure.ai.openai", "id": "azure/gpt-4o-mini", "calls": 1, "first": fx.at}
	fx.rules(models.deny) == {"AUD-002"} with input as fx.input_with([fx.seen({"models": [azure]})])
}

test_a_model_call_that_names_no_model_is_denied if {
	unnamed := {"model": null, "provider": null, "id": null, "calls": 2, "first": fx.at}
	findings := models.deny with input as fx.input_with([fx.seen({"models": [unnamed]})])
	some f in findings
	contains(f.msg, "a model the trace does not name")
}

test_a_day_over_budget_is_denied_at_the_crossing_span if {
	day := {"day": "2026-11-29", "cost_usd": 21.5, "calls": 40, "unpriced_calls": 0, "crossed": {"trace_id": "tx", "span_id": "sx"}, "last": fx.at}
	findings := budget.deny with input as fx.input_with([fx.seen({"days": [day]})])
	some f in findings
	f.rule == "AUD-003"
	f.span_id == "sx"
	contains(f.msg, "spent $21.50 on 2026-11-29")
	contains(f.msg, "budget of $20.00")
}

test_spending_exactly_the_budget_is_allowed if {
	day := {"day": "2026-11-29", "cost_usd": 20, "calls": 40, "unpriced_calls": 0, "last": fx.at}
	count(budget.deny) == 0 with input as fx.input_with([fx.seen({"days": [day]})])
}

test_an_agent_without_a_budget_is_not_judged_on_spend if {
	day := {"day": "2026-11-29", "cost_usd": 999, "calls": 1, "unpriced_calls": 0, "last": fx.at}
	seen := fx.seen({"name": "content", "days": [day], "models": [], "tools_used": {"cms.draft": 1}})
	count(budget.deny) == 0 with input as fx.input_with([seen])
}

test_a_granted_tool_never_used_is_a_warning_with_the_fix if {
	seen := fx.seen({"tools_used": {"crm.lookup_order": 4, "tickets.route": 4}})
	findings := privilege.warn with input as fx.input_with([seen])
	count(findings) == 1
	some f in findings
	f.rule == "AUD-004"
	contains(f.msg, "holds payments.refund but never called it")
	contains(f.msg, "remove payments.refund from its tools")
}

test_agents_absent_from_the_traces_are_not_judged if {
	count(privilege.warn) == 0 with input as fx.input_with([])
}

test_helpers if {
	lib.undated("claude-haiku-4-5-20251001") == "claude-haiku-4-5"
	lib.bare("openai/gpt-4o-mini") == "gpt-4o-mini"
	lib.bare("gpt-4o-mini") == "gpt-4o-mini"
}
