package audit.batch_test

import rego.v1

import data.audit.batch
import data.fixtures.roster as fx

ctx := {"support-triage": {"agent": fx.agent, "tools": fx.tools, "data_classes": fx.data_classes}}

event(name, approvals) := {
	"context": "support-triage",
	"call": {"name": name, "args": {"order_id": "1234"}},
	"approvals": approvals,
	"history": [0, 0, 0],
}

test_each_event_gets_the_action_decision_in_order if {
	ds := batch.decisions with input as {"contexts": ctx, "logs": [[]], "events": [
		event("crm.lookup_order", []),
		event("payments.refund", []),
		event("payments.refund", ["payments.refund"]),
	]}
		with data.catalog as fx.catalog
	count(ds) == 3
	ds[0].allow == true
	ds[1].allow == false
	{v.rule | some v in ds[1].violations} == {"ACT-002"}
	ds[2].allow == true
}

test_an_event_without_its_agent_context_is_refused if {
	ds := batch.decisions with input as {"contexts": {}, "logs": [[]], "events": [event("crm.lookup_order", [])]}
		with data.catalog as fx.catalog
	ds[0].allow == false
	"ACT-006" in {v.rule | some v in ds[0].violations}
}

test_an_events_history_is_its_slice_of_a_log if {
	refund := {"name": "payments.refund", "args": {"order_id": "1234"}, "allowed": true}
	lookup := {"name": "crm.lookup_order", "args": {"order_id": "1234"}, "allowed": true}
	again := object.union(event("payments.refund", ["payments.refund"]), {"history": [1, 1, 2]})
	before := object.union(event("payments.refund", ["payments.refund"]), {"history": [1, 0, 1]})
	ds := batch.decisions with input as {"contexts": ctx, "logs": [[], [lookup, refund]], "events": [again, before]}
		with data.catalog as fx.catalog
	{v.rule | some v in ds[0].violations} == {"ACT-005"}
	ds[1].allow == true
}
