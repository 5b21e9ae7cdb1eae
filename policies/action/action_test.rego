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

# One call as replay asks it (core/action.py builds the same): `changes` over base, and the personal data in the
# call's arguments (the redactor's search finds it in Python; here each test states what it would find).
one_call(c, found) := {
	"contexts": {"a": {"agent": c.agent, "tools": c.tools, "data_classes": c.data_classes}},
	"logs": [c.history],
	"calls": [{
		"context": "a",
		"name": c.call.name,
		"args": object.get(c.call, "args", {}),
		"approvals": c.approvals,
		"history": [0, 0, count(c.history)],
		"personal_data": found,
	}],
}

decide_found(changes, found) := {"allow": count(violations) == 0, "violations": violations} if {
	violations := [v | some v in action.deny with input as one_call(object.union(base, changes), found) with data.catalog as fx.catalog]
}

decide(changes) := decide_found(changes, [])

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

test_several_violations_are_all_reported if {
	agent := fx.agent_with({"autonomy": "autonomous", "tools": []})
	d := decide({"agent": agent, "call": {"name": "payments.refund", "args": {}}})
	rules_of(d) == {"ACT-001", "ACT-002", "ACT-004"}
}

email := [["to", "an email address"]]

test_personal_data_to_an_external_tool_is_refused if {
	args := {"to": "jane.doe@example.com", "body": "hi"}
	d := decide_found({"agent": mailer, "call": {"name": "email.send", "args": args}}, email)
	rules_of(d) == {"ACT-003"}
	some v in d.violations
	contains(v.msg, "an email address (to)")
	contains(v.msg, "customer_pii")
	not contains(v.msg, "jane.doe")
}

test_every_kind_and_place_is_named if {
	found := [["body.lines.0", "a phone number"], ["body.lines.1", "a payment card number"]]
	d := decide_found({"agent": mailer, "call": {"name": "email.send", "args": {}}}, found)
	some v in d.violations
	contains(v.msg, "a payment card number (body.lines.1), a phone number (body.lines.0)")
}

test_an_external_call_without_personal_data_is_allowed if {
	d := decide({"agent": mailer, "call": {"name": "email.send", "args": {"to": "team"}}})
	d.allow == true
}

test_an_external_call_nobody_searched_is_refused if {
	c := object.union(base, {"agent": mailer, "call": {"name": "email.send", "args": {"to": "team"}}})
	asked := one_call(c, [])
	unsearched := object.union(asked, {"calls": [object.remove(asked.calls[0], ["personal_data"])]})
	violations := [v | some v in action.deny with input as unsearched with data.catalog as fx.catalog]
	{v.rule | some v in violations} == {"ACT-003"}
	some v in violations
	contains(v.msg, "nobody checked")
}

test_personal_data_to_an_internal_tool_is_allowed if {
	d := decide_found({}, [["order_id", "an email address"]])
	d.allow == true
}

test_personal_data_with_approval_is_allowed if {
	d := decide_found({"agent": mailer, "call": {"name": "email.send", "args": {}}, "approvals": ["email.send"]}, email)
	d.allow == true
}

test_personal_data_leaving_a_low_sensitivity_agent_is_a_scope_breach if {
	agent := object.union(mailer, {"data_scopes": ["marketing_content"]})
	d := decide_found({"agent": agent, "call": {"name": "email.send", "args": {}}}, email)
	rules_of(d) == {"ACT-003"}
	some v in d.violations
	contains(v.msg, "declares no personal-data scope")
}

test_a_call_by_an_agent_the_input_does_not_describe_is_refused if {
	asked := one_call(base, [])
	stranger := object.union(asked, {"calls": [object.union(asked.calls[0], {"context": "b"})]})
	violations := [v | some v in action.deny with input as stranger with data.catalog as fx.catalog]
	"ACT-006" in {v.rule | some v in violations}
	some v in violations
	v.call == 0
	contains(v.msg, "no agent object")
}

test_call_without_a_name_is_refused if {
	asked := one_call(base, [])
	nameless := object.union(asked, {"calls": [object.remove(asked.calls[0], ["name"])]})
	violations := [v | some v in action.deny with input as nameless with data.catalog as fx.catalog]
	{v.rule | some v in violations} == {"ACT-006"}
}

test_each_call_of_a_batch_is_judged_on_its_own if {
	asked := one_call(base, [])
	refund := object.union(asked.calls[0], {"name": "payments.refund"})
	batch := object.union(asked, {"calls": [asked.calls[0], refund, object.union(refund, {"approvals": ["payments.refund"]})]})
	violations := action.deny with input as batch with data.catalog as fx.catalog
	{[v.call, v.rule] | some v in violations} == {[1, "ACT-002"]}
}

test_a_call_that_is_not_an_object_is_refused if {
	asked := one_call(base, [])
	batch := object.union(asked, {"calls": [asked.calls[0], "garbage", 42]})
	violations := action.deny with input as batch with data.catalog as fx.catalog
	{[v.call, v.rule] | some v in violations} == {[1, "ACT-006"], [2, "ACT-006"]}
}

test_calls_that_are_not_a_list_are_all_refused if {
	asked := one_call(base, [])
	violations := action.deny with input as object.union(asked, {"calls": {"0": asked.calls[0]}})
		with data.catalog as fx.catalog
	some v in violations
	v.call == null
	v.rule == "ACT-006"
}
