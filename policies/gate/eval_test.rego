package gate.eval_test

import rego.v1

import data.gate.eval

metric(point, lower, upper) := {"point": point, "lower": lower, "upper": upper}

good := {
	"simulated": true,
	"metrics": {
		"accuracy": metric(0.93, 0.90, 0.95),
		"bias_flip_rate": metric(0, 0, 0.04),
		"policy_violations": metric(0, 0, 0),
		"cost_per_task_usd": metric(0.0004, 0.0003, 0.0005),
		"latency_p95_s": metric(1.2, 1.0, 1.4),
		"error_rate": metric(0, 0, 0.01),
		"disparate_impact": metric(0.95, 0.85, 1),
	},
	"noninferior": true,
	"paired_diff": metric(-0.01, -0.025, 0.005),
	"errors": {"count": 0, "rows": 300, "rate": 0},
}

baseline := object.union(good, {"noninferior": null, "paired_diff": null})

thresholds := {
	"accuracy": {"min": 0.9, "max": null},
	"bias_flip_rate": {"min": null, "max": 0.02},
	"policy_violations": {"min": null, "max": 0},
	"cost_per_task_usd": {"min": null, "max": 0.002},
	"latency_p95_s": {"min": null, "max": 5},
	"disparate_impact": {"min": 0.8, "max": null},
	"noninferiority_margin": 0.03,
}

run(candidate) := {
	"candidates": {"base": baseline, "cand": candidate},
	"thresholds": thresholds,
	"baseline": "base",
	"proposed": "cand",
	"max_error_rate": 0.2,
}

# object.union merges nested objects, so removing a nested key goes through object.remove first
with_metric(name, m) := object.union(good, {"metrics": object.union(good.metrics, {name: m})})

thresholds_of(d, id) := {r.threshold | some r in d.candidates[id].reasons}

test_good_candidate_is_allowed if {
	d := eval.decision with input as run(good)
	d.allow
	d.candidates.cand.pass
	d.candidates.cand.reasons == []
	d.candidates.base.pass
}

test_accuracy_below_minimum_denies_on_the_point_estimate if {
	d := eval.decision with input as run(with_metric("accuracy", metric(0.88, 0.84, 0.91)))
	not d.allow
	thresholds_of(d, "cand") == {"accuracy"}
	contains(d.candidates.cand.reasons[0].msg, "below the minimum 0.900")
}

test_accuracy_whose_interval_straddles_the_minimum_passes if {
	d := eval.decision with input as run(with_metric("accuracy", metric(0.905, 0.87, 0.93)))
	d.allow
}

test_bias_above_maximum_denies if {
	d := eval.decision with input as run(with_metric("bias_flip_rate", metric(0.1, 0.06, 0.15)))
	not d.allow
	thresholds_of(d, "cand") == {"bias_flip_rate"}
}

test_one_violation_denies_when_none_are_allowed if {
	d := eval.decision with input as run(with_metric("policy_violations", metric(1, 1, 1)))
	not d.allow
	thresholds_of(d, "cand") == {"policy_violations"}
	d.candidates.cand.reasons[0].msg == "policy_violations 1 is above the maximum 0"
}

test_small_costs_are_printed_readably if {
	d := eval.decision with input as run(with_metric("cost_per_task_usd", metric(0.0031, 0.003, 0.0032)))
	not d.allow
	contains(d.candidates.cand.reasons[0].msg, "cost_per_task_usd 0.003100 (95% CI 0.003000 to 0.003200)")
}

test_disparate_impact_below_four_fifths_denies if {
	d := eval.decision with input as run(with_metric("disparate_impact", metric(0.7, 0.6, 0.8)))
	not d.allow
	thresholds_of(d, "cand") == {"disparate_impact"}
}

test_missing_metric_denies if {
	c := object.union(object.remove(good, ["metrics"]), {"metrics": object.remove(good.metrics, ["latency_p95_s"])})
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"latency_p95_s"}
	contains(d.candidates.cand.reasons[0].msg, "was not measured")
}

test_threshold_without_bounds_is_ignored if {
	i := object.union(run(good), {"thresholds": object.union(thresholds, {"error_rate": {"min": null, "max": null}})})
	d := eval.decision with input as i
	d.allow
}

test_inferior_candidate_denies_on_the_interval if {
	c := object.union(good, {"noninferior": false, "paired_diff": metric(-0.02, -0.05, 0.01)})
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"noninferiority"}
	contains(d.candidates.cand.reasons[0].msg, "-0.050")
}

test_missing_noninferiority_verdict_denies if {
	c := object.union(good, {"noninferior": null})
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"noninferiority"}
}

test_noninferiority_not_required_without_margin if {
	c := object.union(good, {"noninferior": null})
	i := object.union(object.remove(run(c), ["thresholds"]), {"thresholds": object.remove(thresholds, ["noninferiority_margin"])})
	d := eval.decision with input as i
	d.allow
}

test_error_rate_above_the_run_limit_denies if {
	c := object.union(good, {"errors": {"count": 90, "rows": 300, "rate": 0.3}})
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"errors"}
}

test_all_rows_errored_denies if {
	c := object.union(good, {"errors": {"count": 300, "rows": 300, "rate": 1}})
	i := object.union(run(c), {"max_error_rate": null})
	d := eval.decision with input as i
	not d.allow
	thresholds_of(d, "cand") == {"errors"}
}

test_missing_error_counts_deny if {
	c := object.remove(good, ["errors"])
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"errors"}
}

test_proposed_candidate_decides_even_if_another_passes if {
	c := with_metric("accuracy", metric(0.5, 0.4, 0.6))
	d := eval.decision with input as run(c)
	d.candidates.base.pass
	not d.allow
}

test_unknown_proposed_candidate_denies if {
	i := object.union(run(good), {"proposed": "nobody"})
	d := eval.decision with input as i
	not d.allow
}

test_without_a_proposal_any_passing_candidate_allows if {
	c := with_metric("accuracy", metric(0.5, 0.4, 0.6))
	i := object.union(run(c), {"proposed": null})
	d := eval.decision with input as i
	d.allow
	not d.candidates.cand.pass
}

test_without_a_proposal_and_no_passing_candidate_denies if {
	c := with_metric("accuracy", metric(0.5, 0.4, 0.6))
	i := {
		"candidates": {"cand": c},
		"thresholds": thresholds,
		"baseline": "cand",
		"proposed": null,
		"max_error_rate": 0.2,
	}
	d := eval.decision with input as i
	not d.allow
}

test_no_candidates_denies if {
	d := eval.decision with input as {"candidates": {}, "thresholds": {}, "baseline": "x", "proposed": null}
	not d.allow
	d.candidates == {}
}

test_numbers_format if {
	eval.fmt(0) == "0"
	eval.fmt(5.0) == "5"
	eval.fmt(0.5) == "0.500"
	eval.fmt(0.00012) == "0.000120"
	eval.fmt(null) == "n/a"
}
