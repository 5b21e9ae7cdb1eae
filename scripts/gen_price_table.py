"""Regenerate the bundled list-price table (`src/guardrail/adapters/data/prices.json`) from litellm's cost map.

    .venv/bin/python scripts/gen_price_table.py

Why a table of our own: the direct OpenAI-compatible client prices a call whose spec gives no prices at the list
price, and asking litellm means importing it (seconds) for one dictionary lookup. The table keeps the chat models
of the `openai` provider (the only ids the direct client sends) with their input and output price per token, and
records the litellm version and the date it was taken from. A model not in it is still looked up in litellm.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import guardrail  # noqa: F401  (offline defaults: litellm reads its bundled cost map, never the internet)

OUT = Path(__file__).resolve().parents[1] / "src/guardrail/adapters/data/prices.json"
PROVIDER = "openai"


def main() -> None:
    import litellm

    models = {
        name: [entry["input_cost_per_token"], entry["output_cost_per_token"]]
        for name, entry in sorted(litellm.model_cost.items())
        if isinstance(entry, dict)
        and entry.get("litellm_provider") == PROVIDER
        and entry.get("mode") == "chat"
        and entry.get("input_cost_per_token") is not None
        and entry.get("output_cost_per_token") is not None
    }
    header = {
        "source": f"litellm {metadata.version('litellm')}, model_prices_and_context_window_backup.json "
        f"(litellm.model_cost, provider {PROVIDER!r}, mode 'chat')",
        "generated": datetime.now(UTC).date().isoformat(),
        "provider": PROVIDER,
        "unit": "USD per token: [input, output]",
    }
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    rows = [f"  {json.dumps(name)}: {json.dumps(price)}" for name, price in models.items()]  # one model per line
    text = "{\n" + "\n".join(lines) + '\n "models": {\n' + ",\n".join(rows) + "\n }\n}\n"
    json.loads(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"{len(models)} models -> {OUT}")


if __name__ == "__main__":
    main()
