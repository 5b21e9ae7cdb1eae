"""The metric table: the spec's thresholds and their judgements come from it."""

from __future__ import annotations

from guardrail.core.metrics import GATED, Bound, Thresholds, resolved_thresholds


def test_every_gated_metric_is_a_threshold_with_its_default_stated() -> None:
    schema = Thresholds.model_json_schema()
    assert set(schema["properties"]) == {m.name for m in GATED} | {"noninferiority_margin"}
    for m in GATED:
        side = "interval's bound" if m.judge == "bound" else "point estimate"
        assert f"Judged on the {side}" in schema["properties"][m.name]["description"]
    assert {m.name for m in GATED if m.judge == "bound"} == {
        "accuracy", "error_rate", "violation_rate", "bias_flip_rate", "demographic_parity_diff", "disparate_impact",
    }  # fmt: skip


def test_thresholds_resolve_to_explicit_judgements() -> None:
    spec = Thresholds.model_validate(
        {"accuracy": {"min": 0.85}, "latency_p95_s": {"max": 5}, "bias_flip_rate": {"max": 0.1, "judge": "estimate"},
         "noninferiority_margin": 0.05}
    )  # fmt: skip
    assert spec.bounds()["accuracy"] == Bound(min=0.85)
    resolved = resolved_thresholds(spec.model_dump(exclude_none=True))
    assert resolved["accuracy"] == {"min": 0.85, "max": None, "judge": "bound"}
    assert resolved["latency_p95_s"]["judge"] == "estimate"
    assert resolved["bias_flip_rate"]["judge"] == "estimate"
    assert resolved["noninferiority_margin"] == 0.05
    assert resolved_thresholds({"made_up": {"max": 1}})["made_up"]["judge"] == "bound"  # unknown: the strict reading
