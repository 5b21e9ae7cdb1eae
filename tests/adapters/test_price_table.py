"""adapters.price_table: the bundled list prices agree with the litellm they were taken from, and pricing a call
from them imports no litellm."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata, resources

import pytest

from guardrail.adapters import llm
from guardrail.adapters.price_table import list_price


def test_the_table_is_litellm_s_price_list_for_the_installed_version() -> None:
    import litellm

    table = json.loads(resources.files("guardrail.adapters").joinpath("data/prices.json").read_text())
    # a litellm upgrade without `scripts/gen_price_table.py` would leave stale prices: this says which to run
    assert table["source"].startswith(f"litellm {metadata.version('litellm')},"), "run scripts/gen_price_table.py"
    assert table["generated"] and len(table["models"]) > 50
    for name in ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"):
        entry = litellm.model_cost[name]
        assert list_price(f"openai/{name}") == (entry["input_cost_per_token"], entry["output_cost_per_token"])
    assert list_price("gpt-4o-mini") == list_price("openai/gpt-4o-mini")


@pytest.mark.parametrize("model", ["openai/my-local-llama", "anthropic/claude-haiku-4-5", "openai/org/gpt-4o-mini"])
def test_a_model_the_table_lacks_is_none(model: str) -> None:
    assert list_price(model) is None


def test_spec_prices_win_and_listed_models_cost_without_importing_litellm() -> None:
    code = (
        "import sys\nfrom guardrail.adapters import llm\n"
        "listed = llm.token_cost('openai/gpt-4o-mini', 1000, 100)\n"
        "spec = llm.token_cost('openai/x', 10, 10, {'openai/x': (1.0, 2.0)})\n"
        "print(listed, spec, 'litellm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    listed = list_price("openai/gpt-4o-mini")
    assert listed is not None
    assert float(out[0]) == pytest.approx(1000 * listed[0] + 100 * listed[1])
    assert float(out[1]) == 30.0 and out[2] == "False"
    assert llm.token_cost("openai/x", 10, 10, {"openai/x": (1.0, 2.0)}) == 30.0
