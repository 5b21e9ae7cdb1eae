"""Catalog aliases: one runtime name, one catalog tool; a clash is an input error on its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.adapters.catalog import catalog_aliases
from guardrail.adapters.loading import load_yaml
from guardrail.errors import ConfigError

CATALOG = """tools:
  files.read: {risk: low, aliases: [Read, Grep]}
  shell.run: {risk: high, aliases: [Bash]}
"""


def _aliases(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "catalog.yaml").write_text(text)
    return catalog_aliases({"catalog": load_yaml(tmp_path / "catalog.yaml").data}, tmp_path)


def test_aliases_map_runtime_names_to_catalog_tools(tmp_path: Path) -> None:
    assert _aliases(tmp_path, CATALOG) == {"Read": "files.read", "Grep": "files.read", "Bash": "shell.run"}
    assert catalog_aliases({}, tmp_path) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CATALOG.replace("[Bash]", "[Bash, Read]"), "catalog.yaml:3: tools.shell.run.aliases[1]: 'Read' is already"),
        (
            CATALOG.replace("[Bash]", "[files.read]"),
            "catalog.yaml:3: tools.shell.run.aliases[0]: 'files.read' is itself",
        ),
        (CATALOG.replace("[Bash]", "Bash"), "aliases must be a list"),
        (CATALOG.replace("[Bash]", "['']"), "an alias must be a non-empty string"),
    ],
    ids=["two-tools", "a-tool-name", "not-a-list", "empty"],
)
def test_clashing_aliases_are_input_errors_at_their_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _aliases(tmp_path, text)
