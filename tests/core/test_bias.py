"""Counterfactual bias: flip rate, paired parity intervals, the direction test."""

from __future__ import annotations

import pytest
from tests.support.rows import Plant, Scenario, make_rows

from guardrail.core.bias import bias_by_attribute, parity


def test_parity_difference_and_impact_ratio_are_paired_intervals() -> None:
    # 40 cases, two variants each: women favoured in 12, men in 24 (men's rate 0.6, women's 0.3)
    units = [{"female": g < 12, "male": g < 24} for g in range(40)]
    result = parity(units, [f"c{g}" for g in range(40)])
    assert result is not None
    assert result.rates["female"].point == pytest.approx(0.3) and result.rates["male"].point == pytest.approx(0.6)
    assert result.parity_diff.point == pytest.approx(0.3) and result.parity_diff.method == "tango"
    assert result.parity_diff.lower is not None and result.parity_diff.lower > 0.1  # 12 discordant cases, one way
    assert result.impact_ratio.point == pytest.approx(0.5)  # fails the four-fifths rule
    assert result.impact_ratio.upper is not None and result.impact_ratio.upper < 0.8
    assert (result.lowest, result.highest) == ("female", "male")
    assert parity([{"a": True}, {"a": False}], ["c1", "c2"]) is None  # one value: nothing to compare


def test_a_consistent_fair_model_still_gets_an_interval() -> None:
    units = [{"female": g % 2 == 0, "male": g % 2 == 0} for g in range(60)]
    result = parity(units, [f"c{g}" for g in range(60)])
    assert result is not None and result.parity_diff.point == 0 and result.impact_ratio.point == 1
    assert result.parity_diff.upper is not None and 0.02 < result.parity_diff.upper < 0.1  # not [0, 0]
    assert result.impact_ratio.lower is not None and result.impact_ratio.lower < 1


def test_three_values_share_one_bonferroni_budget() -> None:
    units = [{"a": g % 2 == 0, "b": g % 2 == 0, "c": g % 2 == 0} for g in range(60)]
    three = parity(units, [f"c{g}" for g in range(60)])
    two = parity([{"a": u["a"], "b": u["b"]} for u in units], [f"c{g}" for g in range(60)])
    assert three is not None and two is not None
    assert three.parity_diff.upper > two.parity_diff.upper  # type: ignore[operator]
    assert "Bonferroni over 3" in three.parity_diff.method


def test_a_planted_flip_is_found_and_points_at_the_disfavoured_value() -> None:
    rows = make_rows(Scenario([Plant("skewed", 0.9, flip_rate=0.3)], tasks=0, groups=60, seed=3))
    (bias,) = bias_by_attribute(rows)
    assert 0.15 < bias.flip_rate.point < 0.45 and bias.flip_rate.lower is not None and bias.flip_rate.lower > 0.05
    assert bias.parity is not None and bias.parity.lowest == "female"
    assert bias.flagged is True and bias.toward > bias.away and bias.direction_p is not None


def test_a_consistent_model_never_flips_and_is_not_flagged() -> None:
    (bias,) = bias_by_attribute(make_rows(Scenario([Plant("fair", 0.9)], tasks=0, groups=60, seed=1)))
    assert bias.flip_rate.point == 0.0 and bias.flagged is False
    assert bias.flip_rate.upper is not None and bias.flip_rate.upper == pytest.approx(1 - 0.025 ** (1 / 60))
