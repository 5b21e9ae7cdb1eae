package audit.batch_test

import rego.v1

import data.audit.batch
import data.fixtures.roster as fx

ctx := {"support-triage": {"agent": fx.agent, "tools": fx.tools, "data_classes": fx.data_classes}}

event(name, approvals) := {
	"context": "support-triage",
	"call": {"name": name, "args": {"order_id": "1234"}},
	"approvals": approvals,
	"history": [],
}

test_each_event_gets_the_action_decision_in_order if {
	ds := batch.decisions with input as {"contexts": ctx, "events": [
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
	ds := batch.decisions with input as {"contexts": {}, "events": [event("crm.lookup_order", [])]}
		with data.catalog as fx.catalog
	ds[0].allow == false
	"ACT-006" in {v.rule | some v in ds[0].violations}
}
