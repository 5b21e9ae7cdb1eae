# The eval gate: does a candidate model pass the spec's thresholds, and may the proposed switch go ahead?
#
# Query: data.gate.eval.decision
# Input (built by guardrail.core.recommend.gate_input from a run's statistics):
#   {"candidates": {<model id>: {"simulated": bool,
#                                "metrics": {<name>: {"point": n, "lower": n, "upper": n}},
#                                "noninferior": bool | null,      # vs the baseline; null: not computed
#                                "paired_diff": {...} | null,     # candidate - baseline pass rate
#                                "errors": {"count": n, "rows": n, "rate": n}}},
#    "thresholds": {<metric>: {"min": n | null, "max": n | null}, "noninferiority_margin": n | null},
#    "baseline": <model id>, "proposed": <model id> | null, "max_error_rate": n | null}
# Output: {"allow": bool, "candidates": {<model id>: {"pass": bool, "reasons": [{"threshold", "msg"}]}}}
#
# Which estimate each rule judges, and why:
# - A level threshold (`min`/`max` on a metric: accuracy, bias_flip_rate, cost, latency, error rate, parity)
#   is judged on the POINT estimate. A threshold states the level the organisation asks for; judging the
#   interval's far bound instead would need thousands of tasks before any realistic model could pass, which
#   punishes small suites rather than weak models. The 95% interval is reported beside every verdict.
# - The comparison with the baseline is judged on the INTERVAL: a candidate is non-inferior only when the
#   lower 95% bound of its paired pass-rate difference is above -margin. The burden of proof is on the change:
#   "not worse by more than the margin, with 95% confidence". This is where the interval is decisive.
# - policy_violations is a count of what was observed (exact), judged as is: with max 0 one violation denies.
# Fail closed: a threshold whose metric is missing denies, a non-inferiority verdict that is missing denies,
# an error rate above the run's limit denies, a candidate with no scored row denies, and the switch is allowed
# only when the proposed candidate (or, with no proposal, at least one candidate) passes.
package gate.eval

import rego.v1

default decision := {"allow": false, "candidates": {}}

decision := {"allow": allow, "candidates": verdicts}

verdicts[id] := {"pass": count(reasons_of[id]) == 0, "reasons": reasons_of[id]} if {
	some id, _ in input.candidates
}

reasons_of[id] := [r | some d in deny; d.candidate == id; r := {"threshold": d.threshold, "msg": d.msg}] if {
	some id, _ in input.candidates
}

default allow := false

allow if {
	is_string(input.proposed)
	verdicts[input.proposed].pass
}

allow if {
	not is_string(input.proposed)
	some _, v in verdicts
	v.pass
}

# --- thresholds on levels (point estimate) -------------------------------------------------------------------

level_thresholds[name] := bound if {
	some name, bound in input.thresholds
	name != "noninferiority_margin"
	is_object(bound)
}

deny contains {"candidate": id, "threshold": name, "msg": msg} if {
	some id, c in input.candidates
	some name, bound in level_thresholds
	has_bound(bound)
	not is_object(c.metrics[name])
	msg := sprintf("%s was not measured for %s, so its threshold cannot be checked", [name, id])
}

deny contains {"candidate": id, "threshold": name, "msg": msg} if {
	some id, c in input.candidates
	some name, bound in level_thresholds
	is_number(bound.min)
	m := c.metrics[name]
	m.point < bound.min
	msg := sprintf("%s %s%s is below the minimum %s", [name, fmt(m.point), ci(m), fmt(bound.min)])
}

deny contains {"candidate": id, "threshold": name, "msg": msg} if {
	some id, c in input.candidates
	some name, bound in level_thresholds
	is_number(bound.max)
	m := c.metrics[name]
	m.point > bound.max
	msg := sprintf("%s %s%s is above the maximum %s", [name, fmt(m.point), ci(m), fmt(bound.max)])
}

has_bound(bound) if is_number(bound.min)

has_bound(bound) if is_number(bound.max)

# --- non-inferiority against the baseline (interval) -----------------------------------------------------------

deny contains {"candidate": id, "threshold": "noninferiority", "msg": msg} if {
	margin := input.thresholds.noninferiority_margin
	is_number(margin)
	some id, c in input.candidates
	id != input.baseline
	c.noninferior == false
	msg := sprintf("may be worse than the baseline %s by more than the %s margin: paired difference %s%s", [
		input.baseline, fmt(margin), fmt(c.paired_diff.point), ci(c.paired_diff),
	])
}

deny contains {"candidate": id, "threshold": "noninferiority", "msg": msg} if {
	is_number(input.thresholds.noninferiority_margin)
	some id, c in input.candidates
	id != input.baseline
	not is_boolean(c.noninferior)
	msg := sprintf("no paired comparison with the baseline %s, so non-inferiority is unproven", [input.baseline])
}

# --- errors ----------------------------------------------------------------------------------------------------

deny contains {"candidate": id, "threshold": "errors", "msg": msg} if {
	some id, c in input.candidates
	is_number(input.max_error_rate)
	c.errors.rate > input.max_error_rate
	msg := sprintf("%d of %d tasks errored (rate %s), above the run's limit %s", [
		c.errors.count, c.errors.rows, fmt(c.errors.rate), fmt(input.max_error_rate),
	])
}

deny contains {"candidate": id, "threshold": "errors", "msg": "no task was scored: every row errored"} if {
	some id, c in input.candidates
	c.errors.count >= c.errors.rows
}

deny contains {"candidate": id, "threshold": "errors", "msg": "the run recorded no error counts"} if {
	some id, c in input.candidates
	not is_number(c.errors.rate)
}

# --- formatting ------------------------------------------------------------------------------------------------

# Whole numbers as such, three decimals for rates and seconds, six for sub-cent costs (regorus ignores a precision on %e).
fmt(x) := sprintf("%d", [x]) if {
	is_number(x)
	x == round(x)
}

fmt(x) := sprintf("%.3f", [x]) if {
	is_number(x)
	x != round(x)
	abs(x) >= 0.01
}

fmt(x) := sprintf("%.6f", [x]) if {
	is_number(x)
	x != round(x)
	abs(x) < 0.01
}

fmt(x) := "n/a" if not is_number(x)

# " (95% CI lo to hi)", or nothing for a counted (exact) metric whose bounds equal its point
ci(m) := "" if m.lower == m.upper

ci(m) := sprintf(" (95%% CI %s to %s)", [fmt(m.lower), fmt(m.upper)]) if m.lower != m.upper
