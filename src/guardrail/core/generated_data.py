"""The generated files under policies/data/: one layout for every module that is the source of one (today the
credential shapes of core/secrets.py), so Python and Rego read one fact."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def render_data_file(module: str, target: str, note: str, shapes: Iterable[str], data: Mapping[str, Any]) -> str:
    """`target`, byte for byte: a header naming its source `module` and how to regenerate it, `note` (what mounts
    and reads it), the `shapes` lines, then every other key of `data` (YAML read as JSON: strings double-quoted)."""
    lines = [
        f"# Generated from src/guardrail/core/{module}.py; edit that module, not this file, then regenerate:",
        f"#   python -m guardrail.core.{module} > {target}",
        f"# {note}",
        "shapes:",
        *shapes,
        *(f"{key}: {json.dumps(value)}" for key, value in data.items() if key != "shapes"),
    ]
    return "\n".join(lines) + "\n"


__all__ = ["render_data_file"]
