package gate.eval_test

import rego.v1

import data.gate.eval

metric(point, lower, upper) := {"point": point, "lower": lower, "upper": upper}

analysis(point, lower, upper, p) := {"pairs": 300, "diff": metric(point, lower, upper), "p": p, "p_adjusted": p}

shown := analysis(-0.01, -0.025, 0.005, 0.001)

comparison(primary, secondary, family) := {
	"margin": 0.03,
	"family": family,
	"adjustment": "holm",
	"errors_as_failures": primary,
	"errors_excluded": secondary,
	"significantly_worse": false,
}

good := {
	"simulated": true,
	"complete": true,
	"incomplete": [],
	"metrics": {
		"accuracy": metric(0.93, 0.90, 0.95),
		"bias_flip_rate": metric(0, 0, 0.015),
		"policy_violations": metric(0, 0, 0),
		"cost_per_task_usd": metric(0.0004, 0.0003, 0.0005),
		"latency_p95_s": metric(1.2, 1.0, 1.4),
		"error_rate": metric(0, 0, 0.01),
		"disparate_impact": metric(0.95, 0.85, 1),
	},
	"comparison": comparison(shown, shown, 1),
	"errors": {"count": 0, "rows": 300, "rate": 0},
}

baseline := object.union(good, {"comparison": null})

thresholds := {
	"accuracy": {"min": 0.9, "max": null, "judge": "bound"},
	"bias_flip_rate": {"min": null, "max": 0.02, "judge": "bound"},
	"policy_violations": {"min": null, "max": 0, "judge": "estimate"},
	"cost_per_task_usd": {"min": null, "max": 0.002, "judge": "estimate"},
	"latency_p95_s": {"min": null, "max": 5, "judge": "estimate"},
	"disparate_impact": {"min": 0.8, "max": null, "judge": "bound"},
	"noninferiority_margin": 0.03,
}

run(candidate) := {
	"candidates": {"base": baseline, "cand": candidate},
	"thresholds": thresholds,
	"noninferiority_margin": 0.03,
	"alpha": 0.025,
	"baseline": "base",
	"proposed": "cand",
	"max_error_rate": 0.2,
}

# object.union merges nested objects, so removing a nested key goes through object.remove first
with_metric(name, m) := object.union(good, {"metrics": object.union(good.metrics, {name: m})})

with_threshold(name, bound) := object.union(run(good), {"thresholds": object.union(thresholds, {name: bound})})

thresholds_of(d, id) := {r.threshold | some r in d.candidates[id].reasons}

test_good_candidate_is_allowed if {
	d := eval.decision with input as run(good)
	d.allow
	d.candidates.cand.pass
	d.candidates.cand.reasons == []
	d.candidates.cand.noninferior == true
	d.candidates.base.pass
	d.candidates.base.noninferior == null
}

test_accuracy_is_judged_on_its_lower_bound if {
	d := eval.decision with input as run(with_metric("accuracy", metric(0.92, 0.88, 0.95)))
	not d.allow
	thresholds_of(d, "cand") == {"accuracy"}
	contains(d.candidates.cand.reasons[0].msg, "its lower 95% bound 0.880 is below the minimum 0.900")
}

test_an_estimate_judged_threshold_reads_the_point if {
	i := object.union(run(with_metric("accuracy", metric(0.905, 0.87, 0.93))), {"thresholds": object.union(thresholds, {"accuracy": {"min": 0.9, "max": null, "judge": "estimate"}})})
	d := eval.decision with input as i
	d.allow
	i2 := object.union(run(with_metric("accuracy", metric(0.88, 0.85, 0.91))), {"thresholds": i.thresholds})
	d2 := eval.decision with input as i2
	not d2.allow
	d2.candidates.cand.reasons[0].msg == "accuracy 0.880 (95% CI 0.850 to 0.910) is below the minimum 0.900"
}

test_a_threshold_without_a_judgement_is_judged_on_the_bound if {
	c := with_metric("accuracy", metric(0.92, 0.88, 0.95))
	i := object.union(run(c), {"thresholds": object.union(thresholds, {"accuracy": {"min": 0.9}})})
	d := eval.decision with input as i
	not d.allow
	thresholds_of(d, "cand") == {"accuracy"}
}

test_a_harm_whose_upper_bound_exceeds_the_maximum_denies_even_below_it_on_the_estimate if {
	d := eval.decision with input as run(with_metric("bias_flip_rate", metric(0.01, 0, 0.06)))
	not d.allow
	thresholds_of(d, "cand") == {"bias_flip_rate"}
	contains(d.candidates.cand.reasons[0].msg, "upper 95% bound 0.060 is above the maximum 0.020")
}

test_a_bound_the_data_cannot_give_denies_when_judged_on_it if {
	d := eval.decision with input as run(with_metric("bias_flip_rate", metric(0, 0, null)))
	not d.allow
	contains(d.candidates.cand.reasons[0].msg, "has no upper 95% bound with this many tasks")
}

test_a_missing_bound_does_not_matter_when_the_estimate_is_judged if {
	d := eval.decision with input as run(with_metric("latency_p95_s", metric(1.2, 1.0, null)))
	d.allow
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

test_disparate_impact_whose_lower_bound_is_below_four_fifths_denies if {
	d := eval.decision with input as run(with_metric("disparate_impact", metric(0.9, 0.75, 1)))
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
	d := eval.decision with input as with_threshold("error_rate", {"min": null, "max": null, "judge": "bound"})
	d.allow
}

test_noninferiority_not_shown_denies if {
	c := object.union(good, {"comparison": comparison(analysis(-0.02, -0.05, 0.01, 0.2), shown, 1)})
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"noninferiority"}
	d.candidates.cand.noninferior == false
	msg := d.candidates.cand.reasons[0].msg
	contains(msg, "errors counted as failures")
	contains(msg, "-0.050")
	contains(msg, "p = 0.200 (needs < 0.025)")
}

test_noninferiority_must_hold_with_error_pairs_left_out_too if {
	c := object.union(good, {"comparison": comparison(shown, analysis(-0.03, -0.06, 0, 0.3), 1)})
	d := eval.decision with input as run(c)
	not d.allow
	contains(d.candidates.cand.reasons[0].msg, "error pairs left out")
}

test_the_adjusted_p_value_decides_and_the_family_is_named if {
	a := {"pairs": 300, "diff": metric(-0.01, -0.028, 0.008), "p": 0.01, "p_adjusted": 0.03}
	c := object.union(good, {"comparison": comparison(a, shown, 3)})
	d := eval.decision with input as run(c)
	not d.allow
	contains(d.candidates.cand.reasons[0].msg, "Holm-adjusted p = 0.030 over 3 candidates")
}

test_missing_comparison_denies if {
	d := eval.decision with input as run(object.union(good, {"comparison": null}))
	not d.allow
	thresholds_of(d, "cand") == {"noninferiority"}
}

test_a_missing_analysis_denies if {
	partial := object.remove(comparison(shown, shown, 1), ["errors_excluded"])
	c := object.union(object.remove(good, ["comparison"]), {"comparison": partial})
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"noninferiority"}
}

test_without_a_margin_no_candidate_but_the_baseline_passes if {
	i := object.union(run(good), {"noninferiority_margin": null})
	d := eval.decision with input as i
	not d.allow
	thresholds_of(d, "cand") == {"noninferiority"}
	contains(d.candidates.cand.reasons[0].msg, "sets no noninferiority_margin")
	d.candidates.base.pass
}

test_an_incomplete_candidate_is_never_passed if {
	c := object.union(good, {"complete": false, "incomplete": ["40 of 300 task results"]})
	d := eval.decision with input as run(c)
	not d.allow
	thresholds_of(d, "cand") == {"complete"}
	contains(d.candidates.cand.reasons[0].msg, "40 of 300 task results")
}

test_missing_completeness_denies if {
	d := eval.decision with input as run(object.remove(good, ["complete"]))
	not d.allow
	thresholds_of(d, "cand") == {"complete"}
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
		"noninferiority_margin": 0.03,
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
	eval.fmt_p(0.0004) == "< 0.001"
	eval.fmt_p(0.0312) == "0.031"
}
