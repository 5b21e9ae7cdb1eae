# METADATA
# title: CI gate for roster changes
# description: >-
#   Decides whether a roster change may merge. Python diffs the roster, runs the roster policies and checks each
#   evidence file (content address, HMAC signature, official spec, hashes against the trusted suites, policies and
#   spec, age); this policy decides. This policy, its data (catalog, approvals, waivers) and the eval specs are the
#   base's, never the change's own; a change to them is itself blocked until approved. It fails closed: a malformed
#   input, a roster deny, or any doubt about evidence blocks.
#
#   input: {"changes": [...], "findings": [...], "evidence": {"<agent>|<model>": {..., "checks": {...}}},
#           "policy": {"source", "trusted", "changes": [{path, status}], "change_key", "governance_changes"},
#           "now": RFC3339, "config": {"max_evidence_age_days": n}}
#   data.approvals.approvals: [{agent, change, approver, reason, approved_at, expires}]
#   data.catalog.tools: the governance catalog; a tool's risk is never lower than the catalog's
package gate.change

import rego.v1

decision := {
	"allow": allow,
	"blocking": [b | some b in blocking],
	"warnings": [w | some w in warnings],
}

default allow := false

allow if {
	well_formed
	count(blocking) == 0
}

well_formed if {
	is_array(input.changes)
	is_array(input.findings)
	is_object(input.evidence)
	is_string(input.now)
}

default max_age_days := 30

max_age_days := input.config.max_evidence_age_days if is_number(input.config.max_evidence_age_days)

now_ns := time.parse_rfc3339_ns(input.now)

day_ns := ((24 * 60) * 60) * 1000000000

# Malformed parts read as empty (so evaluation cannot error on them) and `well_formed` blocks.
changes := input.changes if is_array(input.changes)

else := []

findings := input.findings if is_array(input.findings)

else := []

evidence := input.evidence if is_object(input.evidence)

else := {}

policy := input.policy if is_object(input.policy)

else := {}

policy_changes := policy.changes if is_array(policy.changes)

else := []

block(rule, index, msg, fix) := {"rule": rule, "change_index": index, "msg": msg, "fix": fix}

# --- fail closed on input we cannot read -----------------------------------------------------------------------------

blocking contains block("gate_input", null, "the gate input is malformed: changes, findings, evidence and now are required", "report this as a guardrail bug") if {
	not well_formed
}

# --- any roster deny blocks -----------------------------------------------------------------------------------------

blocking contains item if {
	some i, f in findings
	not f.waived
	item := object.union(
		block(
			"roster_deny",
			null,
			sprintf("roster policy %s denies %s: %s", [f.rule, subject_of(f), f.msg]),
			"fix the roster entry (see `guardrail roster check`), or record a waiver with reason, approver and expiry",
		),
		{"finding_index": i},
	)
}

warnings contains {"rule": "roster_waived", "change_index": null, "finding_index": i, "msg": msg} if {
	some i, f in findings
	f.waived
	msg := sprintf("roster policy %s for %s is waived: %s", [f.rule, subject_of(f), f.msg])
}

subject_of(f) := f.agent if is_string(f.agent)

else := "the roster"

# --- a model switch needs passing evidence bound to today's inputs ----------------------------------------------------

switch_evidence contains [i, c, ev] if {
	some i, c in changes
	c.kind == "model_switch"
	ev := evidence[c.evidence_key]
}

blocking contains block("evidence_missing", i, msg, c.fix) if {
	some i, c in changes
	c.kind == "model_switch"
	not evidence[c.evidence_key]
	msg := sprintf("%s: switching %s -> %s needs passing evidence on %s for its suites; none found", [c.agent, c.details.from, c.details.to, c.subject])
}

blocking contains block("evidence_tampered", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	ev.checks.address_ok != true
	msg := sprintf("%s: evidence %s for %s does not match its content address: it was edited after it was written", [c.agent, ev.file, c.subject])
}

blocking contains block("evidence_unsigned", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	ev.checks.signature == "missing"
	msg := sprintf("%s: evidence %s for %s is unsigned, and an evidence key is configured", [c.agent, ev.file, c.subject])
}

blocking contains block("evidence_signature_invalid", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	ev.checks.signature == "invalid"
	msg := sprintf("%s: evidence %s for %s has an invalid signature: forged, or signed with another key", [c.agent, ev.file, c.subject])
}

# The remaining checks only mean something for evidence that is what it says it is.
authentic(ev) if {
	ev.checks.address_ok == true
	ev.checks.signature in {"valid", "not_required"}
}

# Evidence counts only when made with the agent's official spec (the roster's `eval_spec`, or the one spec for the
# agent, both read from the base): a spec with no thresholds cannot back a switch the official one would refuse.
blocking contains block("evidence_unofficial", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	authentic(ev)
	ev.checks.official != true
	msg := sprintf("%s: evidence from run %s for %s was made with %s, not the agent's official eval spec (%s)", [c.agent, ev.run_id, c.subject, ev.spec_path, official_label(c)])
}

official_label(c) := c.official_spec if is_string(c.official_spec)

else := c.official_spec_problem if is_string(c.official_spec_problem)

else := "none"

blocking contains block("evidence_future", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	authentic(ev)
	ev.checks.future == true
	msg := sprintf("%s: evidence from run %s for %s is dated %s, later than now (%s): a clock is wrong or the date was forged", [c.agent, ev.run_id, c.subject, object.get(ev, "created_at", "an unknown time"), input.now])
}

# What the evidence says is judged only for authentic evidence from the official spec, dated in the past.
judgeable(ev) if {
	authentic(ev)
	ev.checks.official == true
	ev.checks.future != true
}

blocking contains block("evidence_failed", i, msg, fix) if {
	some [i, c, ev] in switch_evidence
	judgeable(ev)
	ev.verdict.passed != true
	msg := sprintf("%s: evidence from run %s says %s does not pass: %s", [c.agent, ev.run_id, c.subject, concat("; ", ev.verdict.reasons)])
	fix := sprintf("pick a candidate that passes %s, or change the thresholds there and re-run: %s", [ev.spec_path, c.fix])
}

blocking contains block("evidence_mismatch", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	judgeable(ev)
	ev.checks.hash_match != true
	msg := sprintf("%s: evidence from run %s for %s was produced on other inputs (changed since: %s)", [c.agent, ev.run_id, c.subject, concat(", ", ev.checks.mismatched)])
}

blocking contains block("evidence_incomplete", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	judgeable(ev)
	count(ev.checks.missing_suites) > 0
	msg := sprintf("%s: evidence from run %s for %s does not cover the agent's suites: %s", [c.agent, ev.run_id, c.subject, concat(", ", ev.checks.missing_suites)])
}

blocking contains block("evidence_stale", i, msg, c.fix) if {
	some [i, c, ev] in switch_evidence
	judgeable(ev)
	ev.checks.age_days > max_age_days
	msg := sprintf("%s: evidence from run %s for %s is %v days old (limit %v days)", [c.agent, ev.run_id, c.subject, round(ev.checks.age_days * 100) / 100, max_age_days])
}

# A new agent is not a switch, but a reviewer should know when nothing backs its model.
warnings contains {"rule": "new_agent_without_evidence", "change_index": i, "msg": msg} if {
	some i, c in changes
	c.kind == "agent_added"
	count(c.details.suites) > 0
	not evidence[c.evidence_key]
	msg := sprintf("%s: new agent on %s has no evidence for its suites yet; run: %s", [c.agent, c.details.model, c.fix])
}

# --- a new high-risk tool, a removed checkpoint, or full autonomy needs a live approval ------------------------------

# A tool's risk is the higher of the roster's and the governance catalog's (Python computes it with the catalog;
# the catalog is checked here too, so a roster can never talk a catalog-high tool down).
high_risk(tool, details) if details.risk == "high"

high_risk(tool, _) if data.catalog.tools[tool].risk == "high"

needs_approval contains [i, c.key, why] if {
	some i, c in changes
	c.kind == "tool_added"
	high_risk(c.subject, c.details)
	why := sprintf("new high-risk tool %s", [c.subject])
}

needs_approval contains [i, c.key, why] if {
	some i, c in changes
	c.kind == "approval_removed"
	why := sprintf("human checkpoint removed for %s", [c.subject])
}

needs_approval contains [i, c.key, why] if {
	some i, c in changes
	c.kind == "autonomy_changed"
	c.details.to == "autonomous"
	why := sprintf("autonomy raised from %s to autonomous", [c.details.from])
}

needs_approval contains [i, key, why] if {
	some i, c in changes
	c.kind == "agent_added"
	some tool in new_agent_high_risk(c)
	key := sprintf("tool_added:%s", [tool])
	why := sprintf("new agent holds high-risk tool %s", [tool])
}

new_agent_high_risk(c) := {t | some t in c.details.high_risk_tools} | {t |
	some t in c.details.tools
	data.catalog.tools[t].risk == "high"
}

# Which spec is official is a governance decision, like a removed checkpoint.
needs_approval contains [i, c.key, why] if {
	some i, c in changes
	c.kind == "eval_spec_changed"
	why := sprintf("official eval spec changed from %v to %v", [c.details.from, c.details.to])
}

blocking contains block("approval_required", i, msg, fix) if {
	some [i, key, why] in needs_approval
	agent := changes[i].agent
	not live_approval(agent, key)
	msg := sprintf("%s: %s needs a live approval record for %s%s", [agent, why, key, approval_note(agent, key)])
	fix := approval_fix(agent, key)
}

# Approvals are read from the base: one added by this change takes effect once it is merged, never in its own gate.
approval_fix(agent, key) := sprintf(
	"a policy owner lands on the base branch, in policies/data/approvals.yaml: {agent: \"%s\", change: \"%s\", approver: <who>, reason: <why>, approved_at: <YYYY-MM-DD>, expires: <YYYY-MM-DD>}",
	[agent, key],
)

# --- a change to the policies, policy data or eval specs the gate trusts needs its own approval ----------------------

policy_paths := concat(", ", [sprintf("%s (%s)", [f.path, f.status]) | some f in policy_changes])

blocking contains item if {
	count(policy_changes) > 0
	key := policy.change_key
	not live_approval("*", key)
	item := object.union(
		block(
			"policy_change",
			null,
			sprintf("this change edits what the gate trusts: %s. The gate decided with the base's versions; the edit needs its own approval for %s%s", [policy_paths, key, approval_note("*", key)]),
			sprintf("review the edit and run its tests (`guardrail policy test policies`), then %s", [approval_fix("*", key)]),
		),
		{"path": policy_changes[0].path},
	)
}

warnings contains {"rule": "governance_records_changed", "change_index": null, "path": f.path, "msg": msg} if {
	some f in policy.governance_changes
	msg := sprintf("%s is %s by this change: the gate used the base's records; these take effect once merged", [f.path, f.status])
}

warnings contains {"rule": "untrusted_policies", "change_index": null, "msg": msg} if {
	policy.trusted == false
	msg := "the gate decided with the working tree's policies (no --base-ref to read them from): in CI use --base-ref so a change cannot rewrite the policy that judges it"
}

warnings contains {"rule": "approval_expiring", "change_index": i, "msg": msg} if {
	some [i, key, _] in needs_approval
	agent := changes[i].agent
	some a in approvals
	matches(a, agent, key)
	live(a)
	end_ns(a) - now_ns < 7 * day_ns
	msg := sprintf("%s: the approval for %s by %s expires on %s", [agent, key, a.approver, a.expires])
}

default approvals := []

approvals := data.approvals.approvals if is_array(data.approvals.approvals)

matches(a, agent, key) if {
	a.agent == agent
	a.change == key
}

live(a) if {
	to_ns(a.approved_at) <= now_ns
	now_ns < end_ns(a)
}

live_approval(agent, key) if {
	some a in approvals
	matches(a, agent, key)
	live(a)
}

approval_note(agent, key) := sprintf(" (the approval by %s expired on %s)", [a.approver, a.expires]) if {
	some a in approvals
	matches(a, agent, key)
	end_ns(a) <= now_ns
} else := sprintf(" (the approval by %s starts on %s)", [a.approver, a.approved_at]) if {
	some a in approvals
	matches(a, agent, key)
	to_ns(a.approved_at) > now_ns
} else := ""

# Dates (YYYY-MM-DD) or RFC3339 timestamps; a date-only expiry holds to the end of that day.
to_ns(s) := time.parse_ns("2006-01-02", s) if count(s) == 10

to_ns(s) := time.parse_rfc3339_ns(s) if count(s) != 10

end_ns(a) := to_ns(a.expires) + day_ns if count(a.expires) == 10

end_ns(a) := to_ns(a.expires) if count(a.expires) != 10

# --- changes a reviewer should look at, that policy does not block ---------------------------------------------------

warnings contains {"rule": "sensitive_data_added", "change_index": i, "msg": msg} if {
	some i, c in changes
	c.kind == "data_scope_added"
	c.details.sensitivity == "high"
	msg := sprintf("%s: now reads high-sensitivity data %s; check where it can flow", [c.agent, c.subject])
}
