"""List prices per token from a table bundled with guardrail, so pricing a call does not import litellm.

    list_price("openai/gpt-4o-mini") -> (input_cost_per_token, output_cost_per_token) | None

`data/prices.json` is generated from litellm's cost map by `scripts/gen_price_table.py`; its `source` and
`generated` fields say which cost map and when. It holds the chat models of the `openai` provider (the ids the
direct OpenAI-compatible client sends). A model it lacks is looked up in litellm by the caller
(`adapters/llm.token_cost`), as before; prices in the eval spec win over both.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

_FILE = "data/prices.json"


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("guardrail.adapters").joinpath(_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def list_price(model: str) -> tuple[float, float] | None:
    """The table's (input, output) price per token for `openai/<name>` (or a bare `<name>`), None if not listed."""
    table = _table()
    prefix = table["provider"] + "/"
    name = model.removeprefix(prefix)
    if "/" in name and not model.startswith(prefix):
        return None  # another provider's id: only litellm knows its prices
    price = table["models"].get(name)
    return None if price is None else (float(price[0]), float(price[1]))


__all__ = ["list_price"]
