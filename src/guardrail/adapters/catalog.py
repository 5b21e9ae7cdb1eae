"""The governance catalog's `aliases`: the names runtimes call a catalog tool by.

`policies/data/catalog.yaml` is mounted as `data.catalog` (the one source of tool risk). A tool may list the names
a runtime uses for it, e.g. `payments.refund: {aliases: [mcp__stripe__create_refund]}`, so a live call or a Claude
Code subagent's `tools:` line is judged as the catalog tool. One runtime name means one tool: an alias listed twice,
or one that is itself a catalog tool's name, is an input error at the alias's line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guardrail.errors import ConfigError

CATALOG_KEY = "catalog"


def catalog_tools(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """`data.catalog.tools` of a policy bundle's data (empty when there is no catalog)."""
    catalog = data.get(CATALOG_KEY)
    tools = catalog.get("tools") if isinstance(catalog, Mapping) else None
    return tools if isinstance(tools, Mapping) else {}


def catalog_aliases(data: Mapping[str, Any], data_dir: Path) -> dict[str, str]:
    """runtime name -> catalog tool, checked. `data_dir` locates the catalog file for error lines."""
    tools = catalog_tools(data)
    out: dict[str, str] = {}
    for name, entry in tools.items():
        aliases = entry.get("aliases", []) if isinstance(entry, Mapping) else []
        if not isinstance(aliases, list):
            raise _error(data_dir, "aliases must be a list of runtime tool names", ("tools", name, "aliases"))
        for index, alias in enumerate(aliases):
            loc = ("tools", name, "aliases", index)
            if not isinstance(alias, str) or not alias.strip():
                raise _error(data_dir, "an alias must be a non-empty string", loc)
            if alias in tools and alias != name:
                raise _error(data_dir, f"{alias!r} is itself a catalog tool", loc)
            if out.get(alias, name) != name:
                raise _error(data_dir, f"{alias!r} is already an alias of {out[alias]}: one name, one tool", loc)
            out[alias] = name
    return out


def catalog_file(data_dir: Path) -> Path | None:
    """The catalog among the policy data files (mounted as data.catalog, like every data file, by its stem)."""
    files = sorted(data_dir.glob(f"{CATALOG_KEY}.*"))
    return next((p for p in files if p.suffix in (".yaml", ".yml", ".json")), None)


def _error(data_dir: Path, message: str, loc: tuple[str | int, ...]) -> ConfigError:
    from guardrail.adapters.loading import load_yaml

    source = catalog_file(data_dir)
    if source is None:
        return ConfigError(message, field="data.catalog." + ".".join(map(str, loc)))
    return load_yaml(source).error(message, loc)


__all__ = ["CATALOG_KEY", "catalog_aliases", "catalog_file", "catalog_tools"]
