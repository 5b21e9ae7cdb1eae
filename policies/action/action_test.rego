# Fake personal data (reserved example domains, the 555-01xx phone range, a well-known test card number) is used
# throughout; nothing here is real.
package action_test

import rego.v1

import data.action
import data.fixtures.roster as fx

base := {
	"agent": fx.agent,
	"tools": fx.tools,
	"data_classes": fx.data_classes,
	"call": {"name": "crm.lookup_order", "args": {"order_id": "1234"}},
	"approvals": [],
	"history": [],
}

decide(changes) := result if {
	result := action.decision with input as object.union(base, changes) with data.catalog as fx.catalog
}

rules_of(decision) := {v.rule | some v in decision.violations}

# The same agent, granted email.send, so personal-data checks can be exercised.
mailer := fx.agent_with({"tools": ["crm.lookup_order", "email.send", "payments.refund"]})

test_granted_low_risk_call_is_allowed if {
	d := decide({})
	d.allow == true
	d.violations == []
}

test_tool_not_granted_is_refused if {
	d := decide({"call": {"name": "web.search", "args": {"q": "refund policy"}}})
	d.allow == false
	rules_of(d) == {"ACT-001"}
	some v in d.violations
	v.severity == "high"
	contains(v.msg, "web.search")
}

test_checkpointed_tool_needs_approval if {
	d := decide({"call": {"name": "payments.refund", "args": {"order_id": "1234", "amount": 40}}})
	rules_of(d) == {"ACT-002"}
}

test_checkpointed_tool_with_approval_is_allowed if {
	d := decide({"call": {"name": "payments.refund", "args": {"order_id": "1234"}}, "approvals": ["payments.refund"]})
	d.allow == true
}

test_high_risk_tool_needs_approval_even_if_not_listed if {
	agent := fx.agent_with({"approval_required_for": []})
	d := decide({"agent": agent, "call": {"name": "payments.refund", "args": {}}})
	rules_of(d) == {"ACT-002"}
}

test_listed_tool_needs_approval_even_if_low_risk if {
	agent := fx.agent_with({"approval_required_for": ["payments.refund", "tickets.route"]})
	d := decide({"agent": agent, "call": {"name": "tickets.route", "args": {"queue": "billing"}}})
	rules_of(d) == {"ACT-002"}
}

test_email_address_to_external_tool_is_refused if {
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": {"to": "jane.doe@example.com", "body": "hi"}}})
	rules_of(d) == {"ACT-003"}
	some v in d.violations
	contains(v.msg, "an email address (to)")
	contains(v.msg, "customer_pii")
	not contains(v.msg, "jane.doe")
}

test_without_the_personal_data_patterns_an_external_call_is_refused if {
	call := {"name": "email.send", "args": {"to": "team", "body": "weekly numbers"}}
	d := action.decision with input as object.union(base, {"agent": mailer, "call": call})
		with data.catalog as fx.catalog
		with data.personal_data as {}
	rules_of(d) == {"ACT-003"}
	some v in d.violations
	contains(v.msg, "data.personal_data (policies/data/personal_data.yaml) is missing")
}

test_an_external_call_without_personal_data_is_allowed if {
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": {"to": "team", "body": "order LK-50063, 12/26"}}})
	not "ACT-003" in rules_of(d)
}

test_phone_and_card_in_nested_args_are_found if {
	args := {"body": {"lines": ["call me on +1 415 555 0199", "card 4111 1111 1111 1111"]}}
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": args}})
	some v in d.violations
	contains(v.msg, "a phone number (body.lines.0)")
	contains(v.msg, "a payment card number (body.lines.1)")
}

test_us_style_phone_number_is_found if {
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": {"body": "ring (415) 555-0123"}}})
	rules_of(d) == {"ACT-003"}
}

test_order_numbers_are_not_cards if {
	# 16 digits that fail the Luhn check, and a date: neither is personal data
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": {"body": "order 4111 1111 1111 1112 on 2026-11-21"}}})
	d.allow == true
}

test_personal_data_with_approval_is_allowed if {
	d := decide({
		"agent": mailer,
		"call": {"name": "email.send", "args": {"to": "jane.doe@example.com"}},
		"approvals": ["email.send"],
	})
	d.allow == true
}

test_personal_data_leaving_a_low_sensitivity_agent_is_a_scope_breach if {
	agent := object.union(mailer, {"data_scopes": ["marketing_content"]})
	d := decide({"agent": agent, "call": {"name": "email.send", "args": {"to": "jane.doe@example.com"}}})
	rules_of(d) == {"ACT-003"}
	some v in d.violations
	contains(v.msg, "declares no personal-data scope")
}

test_autonomous_agent_calling_high_risk_write_is_refused if {
	agent := fx.agent_with({"autonomy": "autonomous"})
	d := decide({"agent": agent, "call": {"name": "payments.refund", "args": {}}, "approvals": ["payments.refund"]})
	rules_of(d) == {"ACT-004"}
	some v in d.violations
	v.severity == "critical"
}

test_repeated_write_with_same_args_is_refused if {
	call := {"name": "payments.refund", "args": {"order_id": "1234", "amount": 40}}
	d := decide({"call": call, "approvals": ["payments.refund"], "history": [{"name": "crm.lookup_order", "args": {}}, call]})
	rules_of(d) == {"ACT-005"}
}

test_repeated_write_with_other_args_is_allowed if {
	call := {"name": "payments.refund", "args": {"order_id": "1234"}}
	earlier := {"name": "payments.refund", "args": {"order_id": "9999"}}
	d := decide({"call": call, "approvals": ["payments.refund"], "history": [earlier]})
	d.allow == true
}

test_retry_after_a_denied_write_is_not_a_duplicate if {
	call := {"name": "payments.refund", "args": {"order_id": "1234"}}
	earlier := object.union(call, {"allowed": false})
	d := decide({"call": call, "approvals": ["payments.refund"], "history": [earlier]})
	d.allow == true
}

test_runner_shaped_agent_with_nulls_is_judged_the_same if {
	agent := fx.agent_with({"office": null, "description": null, "owner": null, "budget_usd_per_day": null})
	d := decide({"agent": agent, "call": {"name": "payments.refund", "args": {}}})
	rules_of(d) == {"ACT-002"}
}

test_repeated_read_is_allowed if {
	d := decide({"history": [base.call]})
	d.allow == true
}

test_incomplete_input_is_refused if {
	d := action.decision with input as {"call": {"name": "crm.lookup_order"}} with data.catalog as fx.catalog
	d.allow == false
	"ACT-006" in rules_of(d)
}

test_call_without_a_name_is_refused if {
	d := action.decision with input as {"agent": fx.agent, "call": {"args": {}}} with data.catalog as fx.catalog
	rules_of(d) == {"ACT-006"}
}

test_several_violations_are_all_reported if {
	agent := fx.agent_with({"autonomy": "autonomous", "tools": []})
	d := decide({"agent": agent, "call": {"name": "payments.refund", "args": {}}})
	rules_of(d) == {"ACT-001", "ACT-002", "ACT-004"}
}

test_card_numbers_with_high_digits_pass_luhn if {
	# the standard Mastercard test number doubles digits >= 5, the other Luhn branch
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": {"note": "5555-5555-5555-4444"}}})
	some v in d.violations
	contains(v.msg, "a payment card number (note)")
}

# A card-shaped number that starts with 0 is judged, not an evaluation error (the embedded engine's to_number
# refuses "01"); it reads as a phone number here, as the redactor reads it.
test_a_card_shaped_number_with_a_leading_zero_is_judged if {
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": {"body": "0123 4111 1111 1111 1112"}}})
	some v in d.violations
	contains(v.msg, "a phone number (body)")
	not contains(v.msg, "a payment card number")
}
