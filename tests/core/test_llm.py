"""Model ids are read one way: the provider prefix, the simulated models and their label."""

from __future__ import annotations

from guardrail.core.llm import is_simulated, model_label, provider_of, sim_profile


def test_the_provider_is_the_prefix_and_a_bare_id_is_openai_s_as_litellm_reads_it() -> None:
    assert provider_of("openai/gpt-4o-mini") == "openai"
    assert provider_of("anthropic/claude-haiku-4-5") == "anthropic"
    assert provider_of("sim/budget") == "sim"
    assert provider_of("gpt-4o") == "openai"


def test_simulated_models_are_named_so() -> None:
    assert is_simulated("sim/balanced") and not is_simulated("openai/sim-balanced")
    assert sim_profile("sim/balanced") == "balanced" and sim_profile("openai/gpt-4o") is None
    assert model_label("sim/balanced") == "sim/balanced (simulated)"
    assert model_label("openai/gpt-4o") == "openai/gpt-4o"
    assert model_label("openai/x", simulated=True) == "openai/x (simulated)"  # what the response said wins
    assert model_label("sim/budget", short=True) == "sim/budget (sim)"  # a chart axis, a narrow column
