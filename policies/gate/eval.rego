# The eval gate: does a candidate model pass the spec's thresholds, and may the proposed switch go ahead?
#
# Query: data.gate.eval.decision
# Input (built by guardrail.core.gate_input.gate_input from a run's statistics; intervals are 95%):
#   {"candidates": {<model id>: {
#        "simulated": bool,
#        "complete": bool, "incomplete": [<reason>],   # every task of the analysis set, for it and for the baseline
#        "metrics": {<name>: {"point": n, "lower": n | null, "upper": n | null}},   # null: too few tasks to bound
#        "comparison": null | {                          # candidate minus baseline, same tasks (null: the baseline)
#            "margin": n, "family": n, "adjustment": "holm", "significantly_worse": bool,
#            "errors_as_failures": {"pairs": n, "diff": {...}, "p": n, "p_adjusted": n},   # primary analysis
#            "errors_excluded": {"pairs": n, "diff": {...}, "p": n, "p_adjusted": n}},
#        "errors": {"count": n, "rows": n, "rate": n}}},
#    "thresholds": {<metric>: {"min": n | null, "max": n | null, "judge": "bound" | "estimate"}, ...},
#    "noninferiority_margin": n | null, "alpha": 0.025,
#    "baseline": <model id>, "proposed": <model id> | null, "max_error_rate": n | null}
# Output: {"allow": bool,
#          "candidates": {<model id>: {"pass": bool, "noninferior": bool | null, "reasons": [{"threshold", "msg"}]}}}
#
# How each rule judges, and why:
# - A threshold on a metric says how it is judged ("judge"; the metric table in guardrail.core.metrics sets the
#   default). "bound" puts the burden of proof on the candidate: a minimum must be cleared by the interval's lower
#   bound, a maximum by its upper bound. Harms (error, violation and flip rates, parity) and accuracy default to it.
#   "estimate" compares the point estimate (cost and latency budgets by default). A threshold without a judgement
#   is judged on the bound. A bound the data cannot give (too few tasks) cannot clear a threshold.
# - policy_violations is a count of what was observed (exact): with max 0, one violation denies.
# - Non-inferiority against the baseline: the spec must set a margin; a candidate passes only when the one-sided
#   test of "worse by the margin or more" rejects at alpha after Holm's adjustment over the candidates, both with
#   errors counted as failures and with error pairs left out. With one candidate this is the 95% interval's lower
#   bound above -margin.
# - Completeness: a run that did not finish, or a candidate or baseline missing tasks, is reported, never passed.
# Fail closed: a threshold whose metric is missing denies, a missing comparison or margin denies, an error rate
# above the run's limit denies, a candidate with no scored row denies, and the switch is allowed only when the
# proposed candidate (or, with no proposal, at least one candidate) passes.
package gate.eval

import rego.v1

default decision := {"allow": false, "candidates": {}}

decision := {"allow": allow, "candidates": verdicts}

verdicts[id] := {"pass": count(reasons_of[id]) == 0, "noninferior": noninferior_of(id), "reasons": reasons_of[id]} if {
	some id, _ in input.candidates
}

reasons_of[id] := [r | some d in deny; d.candidate == id; r := {"threshold": d.threshold, "msg": d.msg}] if {
	some id, _ in input.candidates
}

noninferior_of(id) := null if id == input.baseline

noninferior_of(id) := ok if {
	id != input.baseline
	ok := count([d | some d in deny; d.candidate == id; d.threshold == "noninferiority"]) == 0
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

# --- thresholds on metrics -------------------------------------------------------------------------------------

level_thresholds[name] := bound if {
	some name, bound in input.thresholds
	name != "noninferiority_margin"
	is_object(bound)
}

has_bound(bound) if is_number(bound.min)

has_bound(bound) if is_number(bound.max)

# Judged on the point estimate only when the threshold says so.
on_estimate(bound) if bound.judge == "estimate"

# The value a threshold compares: the point, or the bound on the candidate's side of the threshold.
judged(m, bound, _) := m.point if on_estimate(bound)

judged(m, bound, "min") := m.lower if not on_estimate(bound)

judged(m, bound, "max") := m.upper if not on_estimate(bound)

side := {"min": "lower", "max": "upper"}

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
	some limit in ["min", "max"]
	is_number(bound[limit])
	m := c.metrics[name]
	not is_number(judged(m, bound, limit))
	msg := sprintf("%s %s%s has no %s 95%% bound with this many tasks, so the %s %s cannot be shown", [
		name, fmt(m.point), ci(m), side[limit], limit_word[limit], fmt(bound[limit]),
	])
}

limit_word := {"min": "minimum", "max": "maximum"}

fails("min", value, limit) if value < limit

fails("max", value, limit) if value > limit

deny contains {"candidate": id, "threshold": name, "msg": msg} if {
	some id, c in input.candidates
	some name, bound in level_thresholds
	some limit in ["min", "max"]
	is_number(bound[limit])
	m := c.metrics[name]
	value := judged(m, bound, limit)
	is_number(value)
	fails(limit, value, bound[limit])
	msg := failure(name, m, bound, limit)
}

failure(name, m, bound, limit) := sprintf("%s %s%s is %s the %s %s", [
	name, fmt(m.point), ci(m), direction[limit], limit_word[limit], fmt(bound[limit]),
]) if on_estimate(bound)

failure(name, m, bound, limit) := sprintf(
	"%s %s%s: its %s 95%% bound %s is %s the %s %s (judged on the bound: the candidate must show it)",
	[name, fmt(m.point), ci(m), side[limit], fmt(judged(m, bound, limit)), direction[limit], limit_word[limit], fmt(bound[limit])],
) if not on_estimate(bound)

direction := {"min": "below", "max": "above"}

# --- non-inferiority against the baseline ----------------------------------------------------------------------

default alpha := 0.025

alpha := input.alpha if is_number(input.alpha)

# The primary analysis first; the one with error pairs left out is reported when it alone fails.
analysis_label := {"errors_as_failures": "errors counted as failures", "errors_excluded": "error pairs left out"}

failing_analysis(c) := "errors_as_failures" if not shown(c.comparison.errors_as_failures)

failing_analysis(c) := "errors_excluded" if {
	shown(c.comparison.errors_as_failures)
	not shown(c.comparison.errors_excluded)
}

deny contains {"candidate": id, "threshold": "noninferiority", "msg": msg} if {
	not is_number(input.noninferiority_margin)
	some id, _ in input.candidates
	id != input.baseline
	msg := sprintf("the spec sets no noninferiority_margin, so nothing shows %s is not worse than the baseline %s", [
		id, input.baseline,
	])
}

deny contains {"candidate": id, "threshold": "noninferiority", "msg": msg} if {
	is_number(input.noninferiority_margin)
	some id, c in input.candidates
	id != input.baseline
	not is_object(c.comparison)
	msg := sprintf("no paired comparison with the baseline %s, so non-inferiority is unproven", [input.baseline])
}

deny contains {"candidate": id, "threshold": "noninferiority", "msg": msg} if {
	margin := input.noninferiority_margin
	is_number(margin)
	some id, c in input.candidates
	id != input.baseline
	name := failing_analysis(c)
	a := c.comparison[name]
	label := analysis_label[name]
	msg := sprintf("may be worse than the baseline %s by more than the %s margin (%s): paired difference %s%s, %s", [
		input.baseline, fmt(margin), label, fmt(a.diff.point), ci(a.diff), evidence(a, c.comparison),
	])
}

deny contains {"candidate": id, "threshold": "noninferiority", "msg": msg} if {
	is_number(input.noninferiority_margin)
	some id, c in input.candidates
	id != input.baseline
	is_object(c.comparison)
	some name, label in analysis_label
	not is_object(c.comparison[name])
	msg := sprintf("no paired analysis with %s, so non-inferiority is unproven", [label])
}

shown(a) if {
	is_number(a.p_adjusted)
	a.p_adjusted < alpha
}

evidence(a, comparison) := sprintf("p = %s (needs < %s)", [fmt_p(a.p_adjusted), fmt(alpha)]) if comparison.family == 1

evidence(a, comparison) := sprintf("Holm-adjusted p = %s over %d candidates (needs < %s)", [
	fmt_p(a.p_adjusted), comparison.family, fmt(alpha),
]) if comparison.family != 1

# --- completeness ----------------------------------------------------------------------------------------------

deny contains {"candidate": id, "threshold": "complete", "msg": msg} if {
	some id, c in input.candidates
	not complete(c)
	msg := sprintf("incomplete results (%s): an incomplete run is reported, never passed", [
		concat("; ", [sprintf("%v", [r]) | some r in object.get(c, "incomplete", [])]),
	])
}

complete(c) if c.complete == true

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

# Whole numbers as such (%d: OPA hands Go an int, which %f refuses), three decimals for rates and seconds, six for
# sub-cent costs.
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

# p-values: three decimals, or "< 0.001"
fmt_p(p) := "< 0.001" if {
	is_number(p)
	p < 0.001
}

fmt_p(p) := sprintf("%.3f", [p]) if {
	is_number(p)
	p >= 0.001
	p < 1
}

fmt_p(p) := "1.000" if {
	is_number(p)
	p >= 1
}

fmt_p(p) := "n/a" if not is_number(p)

# " (95% CI lo to hi)", or nothing for a counted (exact) metric whose bounds equal its point
ci(m) := "" if m.lower == m.upper

ci(m) := sprintf(" (95%% CI %s to %s)", [fmt(m.lower), fmt(m.upper)]) if m.lower != m.upper
