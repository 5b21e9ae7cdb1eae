package gate.change_test

import rego.v1

import data.gate.change

now := "2026-06-15T12:00:00Z"

switch := {
	"kind": "model_switch", "agent": "support-triage", "subject": "sim/budget", "key": "model_switch:sim/budget",
	"details": {"from": "sim/frontier", "to": "sim/budget", "suites": ["support-triage"]},
	"evidence_key": "support-triage|sim/budget", "official_spec": "evals/support-triage.yaml",
	"fix": "guardrail run evals/support-triage.yaml --candidates sim/budget",
}

good_checks := {
	"address_ok": true, "signature": "not_required", "hash_match": true,
	"mismatched": [], "missing_suites": [], "age_days": 2, "official": true, "future": false,
}

evidence(checks, verdict) := {"support-triage|sim/budget": {
	"file": "evidence/abc.json", "run_id": "r1", "spec_path": "evals/support-triage.yaml",
	"verdict": verdict, "checks": checks,
}}

passing := {"passed": true, "reasons": []}

gate_input(changes, findings, ev) := {
	"changes": changes, "findings": findings, "evidence": ev, "now": now,
	"config": {"max_evidence_age_days": 30},
}

decide(changes, ev) := d if {
	d := change.decision with input as gate_input(changes, [], ev)
}

blocked(d) := {b.rule | some b in d.blocking}

warned(d) := {w.rule | some w in d.warnings}

tool_added(risk) := {
	"kind": "tool_added", "agent": "refunds", "subject": "payments.refund", "key": "tool_added:payments.refund",
	"details": {"tool": "payments.refund", "risk": risk},
}

approval(change_key, approved_at, expires) := {"approvals": [{
	"agent": "refunds", "change": change_key, "approver": "cfo@acme.example", "reason": "refund pilot",
	"approved_at": approved_at, "expires": expires,
}]}

# --- allow ---------------------------------------------------------------------------------------------------------

test_no_changes_allows if {
	d := decide([], {})
	d.allow
	count(d.blocking) == 0
}

test_owner_only_change_has_no_change_records_and_allows if {
	d := decide([{"kind": "tool_removed", "agent": "a", "subject": "crm.lookup", "key": "tool_removed:crm.lookup", "details": {}}], {})
	d.allow
}

test_low_risk_tool_needs_no_approval if {
	d := decide([tool_added("low")], {}) with data.catalog.tools as {"payments.refund": {"risk": "low"}}
	d.allow
}

test_a_catalog_high_tool_declared_low_still_needs_approval if {
	d := decide([tool_added("low")], {}) with data.catalog.tools as {"payments.refund": {"risk": "high"}}
	blocked(d) == {"approval_required"}
}

test_a_new_agent_holding_a_catalog_high_tool_needs_approval if {
	added := {
		"kind": "agent_added", "agent": "helper", "subject": "helper", "key": "agent_added:helper",
		"details": {"model": "sim/budget", "tools": ["payments.refund"], "high_risk_tools": [], "suites": []},
	}
	d := decide([added], {}) with data.catalog.tools as {"payments.refund": {"risk": "high"}}
	some b in d.blocking
	b.rule == "approval_required"
	contains(b.msg, "tool_added:payments.refund")
}

# --- fail closed ---------------------------------------------------------------------------------------------------

test_malformed_input_blocks if {
	d := change.decision with input as {"changes": "nope"}
	not d.allow
	"gate_input" in blocked(d)
}

# --- roster findings -----------------------------------------------------------------------------------------------

test_roster_deny_blocks if {
	finding := {"rule": "roster.tools.high_risk_needs_approval", "agent": "refunds", "msg": "no checkpoint", "waived": false}
	d := change.decision with input as gate_input([], [finding], {})
	not d.allow
	some b in d.blocking
	b.rule == "roster_deny"
	b.finding_index == 0
	contains(b.msg, "refunds")
}

test_roster_deny_without_agent_names_the_roster if {
	finding := {"rule": "roster.secrets", "agent": null, "msg": "looks like a key", "waived": false}
	d := change.decision with input as gate_input([], [finding], {})
	some b in d.blocking
	contains(b.msg, "the roster")
}

test_waived_finding_warns_and_allows if {
	finding := {"rule": "roster.budget", "agent": "seo", "msg": "over cap", "waived": true}
	d := change.decision with input as gate_input([], [finding], {})
	d.allow
	"roster_waived" in warned(d)
}

# --- model switch evidence -----------------------------------------------------------------------------------------

test_switch_without_evidence_blocks_with_the_run_command if {
	d := decide([switch], {})
	not d.allow
	some b in d.blocking
	b.rule == "evidence_missing"
	b.change_index == 0
	b.fix == switch.fix
}

test_switch_with_passing_evidence_allows if {
	d := decide([switch], evidence(good_checks, passing))
	d.allow
	count(d.warnings) == 0
}

test_tampered_evidence_blocks_and_nothing_else_is_trusted if {
	d := decide([switch], evidence(object.union(good_checks, {"address_ok": false, "age_days": 400}), passing))
	blocked(d) == {"evidence_tampered"}
}

test_unsigned_evidence_blocks_when_a_key_is_set if {
	d := decide([switch], evidence(object.union(good_checks, {"signature": "missing"}), passing))
	blocked(d) == {"evidence_unsigned"}
}

test_invalid_signature_blocks if {
	d := decide([switch], evidence(object.union(good_checks, {"signature": "invalid"}), passing))
	blocked(d) == {"evidence_signature_invalid"}
}

test_valid_signature_allows if {
	d := decide([switch], evidence(object.union(good_checks, {"signature": "valid"}), passing))
	d.allow
}

test_failing_verdict_blocks_with_reasons if {
	d := decide([switch], evidence(good_checks, {"passed": false, "reasons": ["accuracy 0.81 < 0.90"]}))
	some b in d.blocking
	b.rule == "evidence_failed"
	contains(b.msg, "accuracy 0.81 < 0.90")
	contains(b.fix, "evals/support-triage.yaml")
}

test_hash_mismatch_blocks_naming_what_changed if {
	checks := object.union(good_checks, {"hash_match": false, "mismatched": ["suites.support-triage"]})
	d := decide([switch], evidence(checks, passing))
	some b in d.blocking
	b.rule == "evidence_mismatch"
	contains(b.msg, "suites.support-triage")
}

test_evidence_missing_a_suite_blocks if {
	checks := object.union(good_checks, {"missing_suites": ["refunds"]})
	d := decide([switch], evidence(checks, passing))
	blocked(d) == {"evidence_incomplete"}
}

test_stale_evidence_blocks if {
	d := decide([switch], evidence(object.union(good_checks, {"age_days": 31.5}), passing))
	some b in d.blocking
	b.rule == "evidence_stale"
	contains(b.msg, "31.5 days old (limit 30 days)")
}

test_age_limit_is_configurable if {
	inp := object.union(
		gate_input([switch], [], evidence(object.union(good_checks, {"age_days": 31}), passing)),
		{"config": {"max_evidence_age_days": 90}},
	)
	d := change.decision with input as inp
	d.allow
}

test_default_age_limit_is_30_days if {
	inp := json.remove(gate_input([switch], [], evidence(object.union(good_checks, {"age_days": 31}), passing)), ["config"])
	d := change.decision with input as inp
	"evidence_stale" in blocked(d)
}

test_new_agent_without_evidence_warns if {
	added := {
		"kind": "agent_added", "agent": "seo", "subject": "seo", "key": "agent_added:seo",
		"details": {"model": "sim/balanced", "suites": ["content"], "high_risk_tools": []},
		"evidence_key": "seo|sim/balanced", "fix": "guardrail run evals/content.yaml --candidates sim/balanced",
	}
	d := decide([added], {})
	d.allow
	"new_agent_without_evidence" in warned(d)
}

# --- approvals -----------------------------------------------------------------------------------------------------

test_high_risk_tool_without_approval_blocks if {
	d := decide([tool_added("high")], {})
	some b in d.blocking
	b.rule == "approval_required"
	contains(b.fix, "tool_added:payments.refund")
}

test_high_risk_tool_with_live_approval_allows if {
	d := decide([tool_added("high")], {}) with data.approvals as approval("tool_added:payments.refund", "2026-06-01", "2026-12-31")
	d.allow
}

test_approval_for_another_change_does_not_count if {
	d := decide([tool_added("high")], {}) with data.approvals as approval("tool_added:email.send", "2026-06-01", "2026-12-31")
	not d.allow
}

test_expired_approval_blocks_and_says_so if {
	d := decide([tool_added("high")], {}) with data.approvals as approval("tool_added:payments.refund", "2026-01-01", "2026-06-14")
	some b in d.blocking
	contains(b.msg, "expired on 2026-06-14")
}

test_expiry_date_holds_through_that_day if {
	d := decide([tool_added("high")], {}) with data.approvals as approval("tool_added:payments.refund", "2026-01-01", "2026-06-15")
	d.allow
	"approval_expiring" in warned(d)
}

test_future_approval_does_not_count_yet if {
	d := decide([tool_added("high")], {}) with data.approvals as approval("tool_added:payments.refund", "2026-07-01", "2026-12-31")
	some b in d.blocking
	contains(b.msg, "starts on 2026-07-01")
}

test_rfc3339_approval_times if {
	app := approval("tool_added:payments.refund", "2026-06-15T09:00:00Z", "2026-06-15T13:00:00Z")
	d := decide([tool_added("high")], {}) with data.approvals as app
	d.allow
}

test_removed_checkpoint_blocks_without_approval if {
	removed := {
		"kind": "approval_removed", "agent": "refunds", "subject": "payments.refund",
		"key": "approval_removed:payments.refund", "details": {"tool": "payments.refund", "risk": "high"},
	}
	d := decide([removed], {})
	some b in d.blocking
	b.rule == "approval_required"
	contains(b.msg, "human checkpoint removed for payments.refund")
	d2 := decide([removed], {}) with data.approvals as approval("approval_removed:payments.refund", "2026-06-01", "2026-07-01")
	d2.allow
}

test_becoming_autonomous_needs_approval if {
	raised := {
		"kind": "autonomy_changed", "agent": "refunds", "subject": "autonomous", "key": "autonomy_changed:autonomous",
		"details": {"from": "human_approval", "to": "autonomous"},
	}
	d := decide([raised], {})
	"approval_required" in blocked(d)
}

test_lowering_autonomy_needs_nothing if {
	lowered := {
		"kind": "autonomy_changed", "agent": "refunds", "subject": "human_approval",
		"key": "autonomy_changed:human_approval", "details": {"from": "autonomous", "to": "human_approval"},
	}
	d := decide([lowered], {})
	d.allow
}

test_new_agent_with_high_risk_tool_needs_approval if {
	added := {
		"kind": "agent_added", "agent": "refunds", "subject": "refunds", "key": "agent_added:refunds",
		"details": {"model": "sim/balanced", "suites": [], "high_risk_tools": ["payments.refund"]},
		"evidence_key": "refunds|sim/balanced", "fix": "",
	}
	d := decide([added], {})
	"approval_required" in blocked(d)
	d2 := decide([added], {}) with data.approvals as approval("tool_added:payments.refund", "2026-06-01", "2026-12-31")
	d2.allow
}

# --- warnings ------------------------------------------------------------------------------------------------------

test_high_sensitivity_scope_warns if {
	scope := {
		"kind": "data_scope_added", "agent": "content", "subject": "customer_pii", "key": "data_scope_added:customer_pii",
		"details": {"scope": "customer_pii", "sensitivity": "high"},
	}
	d := decide([scope], {})
	d.allow
	"sensitive_data_added" in warned(d)
}

# --- evidence from the official spec, dated in the past --------------------------------------------------------------

test_evidence_from_another_spec_blocks_whatever_it_says if {
	ev := {"support-triage|sim/budget": {
		"file": "evidence/abc.json", "run_id": "r1", "spec_path": "evals/adhoc.yaml",
		"verdict": passing, "checks": object.union(good_checks, {"official": false}),
	}}
	d := decide([switch], ev)
	blocked(d) == {"evidence_unofficial"}
	some b in d.blocking
	contains(b.msg, "evals/adhoc.yaml")
	contains(b.msg, "evals/support-triage.yaml")
}

test_unofficial_evidence_names_why_there_is_no_official_spec if {
	no_spec := object.union(switch, {"official_spec": null, "official_spec_problem": "no eval spec under evals/ is for agent support-triage"})
	d := decide([no_spec], evidence(object.union(good_checks, {"official": false}), passing))
	some b in d.blocking
	b.rule == "evidence_unofficial"
	contains(b.msg, "no eval spec under evals/")
}

test_future_dated_evidence_blocks if {
	d := decide([switch], evidence(object.union(good_checks, {"future": true, "age_days": -1}), passing))
	blocked(d) == {"evidence_future"}
}

test_evidence_minutes_old_is_stale_at_a_zero_day_limit if {
	inp := object.union(
		gate_input([switch], [], evidence(object.union(good_checks, {"age_days": 0.002}), passing)),
		{"config": {"max_evidence_age_days": 0}},
	)
	d := change.decision with input as inp
	blocked(d) == {"evidence_stale"}
}

# --- a change to the trusted policies and specs ------------------------------------------------------------------------

policy_edit := {
	"source": "origin/main", "trusted": true,
	"changes": [{"path": "policies/gate/change.rego", "status": "modified"}],
	"change_key": "policy_change:sha256:abc", "governance_changes": [],
}

decide_policy(p) := d if {
	d := change.decision with input as object.union(gate_input([], [], {}), {"policy": p})
}

test_a_policy_edit_blocks_on_the_file_with_the_approval_to_land if {
	d := decide_policy(policy_edit)
	blocked(d) == {"policy_change"}
	some b in d.blocking
	b.path == "policies/gate/change.rego"
	contains(b.msg, "policies/gate/change.rego (modified)")
	contains(b.fix, "policy_change:sha256:abc")
	contains(b.fix, "guardrail policy test")
}

test_a_policy_edit_with_a_live_approval_of_its_hash_passes if {
	approvals := {"approvals": [{
		"agent": "*", "change": "policy_change:sha256:abc", "approver": "ciso@acme.example", "reason": "tighter gate",
		"approved_at": "2026-06-01", "expires": "2026-07-01",
	}]}
	d := decide_policy(policy_edit) with data.approvals as approvals
	d.allow
}

test_an_approval_of_another_edit_does_not_count if {
	approvals := {"approvals": [{
		"agent": "*", "change": "policy_change:sha256:other", "approver": "ciso@acme.example", "reason": "x",
		"approved_at": "2026-06-01", "expires": "2026-07-01",
	}]}
	d := decide_policy(policy_edit) with data.approvals as approvals
	blocked(d) == {"policy_change"}
}

test_edited_governance_records_warn_and_do_not_block if {
	p := object.union(policy_edit, {"changes": [], "governance_changes": [{"path": "policies/data/approvals.yaml", "status": "modified"}]})
	d := decide_policy(p)
	d.allow
	warned(d) == {"governance_records_changed"}
}

test_untrusted_policies_warn if {
	d := decide_policy({"source": "working tree", "trusted": false, "changes": [], "governance_changes": []})
	d.allow
	warned(d) == {"untrusted_policies"}
}

test_a_changed_official_spec_needs_approval if {
	c := {
		"kind": "eval_spec_changed", "agent": "support-triage", "subject": "evals/adhoc.yaml",
		"key": "eval_spec_changed:evals/adhoc.yaml", "details": {"from": "evals/support-triage.yaml", "to": "evals/adhoc.yaml"},
	}
	d := decide([c], {})
	blocked(d) == {"approval_required"}
}
