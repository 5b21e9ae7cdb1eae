"""The eval specs of a project tree, and which one is an agent's official spec.

Evidence backs a model switch only when it was made with the agent's official spec: the one the roster names
(`eval_spec:`), or else the one spec under `evals/` whose `agent:` is that agent. Several specs for one agent and no
name is ambiguous, and ambiguity never counts as official. The gate asks this of the trusted (base) tree, so a pull
request can neither point an agent at a weaker spec nor weaken the official one's thresholds in its own decision.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from guardrail.adapters.loading import parse_yaml, read_text
from guardrail.app.evidence import suite_dirs
from guardrail.errors import ConfigError

EVALS_DIR = "evals"


class EvalSpecs:
    """Specs are read once each, with the lightweight loader (no suites, no roster)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[str, dict[str, Any] | None] = {}
        self._paths: list[str] | None = None

    def spec(self, rel: str) -> dict[str, Any] | None:
        """The spec at `rel` (relative to the root) as a mapping; None when absent or unreadable."""
        if rel not in self._specs:
            path = self.root / rel
            try:
                data = _parsed(read_text(path)) if path.is_file() else None
            except ConfigError:
                data = None
            self._specs[rel] = data if isinstance(data, dict) else None
        return self._specs[rel]

    def paths(self) -> list[str]:
        if self._paths is None:
            evals = self.root / EVALS_DIR
            found = sorted([*evals.glob("*.yaml"), *evals.glob("*.yml")]) if evals.is_dir() else []
            self._paths = [p.relative_to(self.root).as_posix() for p in found]
        return self._paths

    def for_agent(self, agent: str) -> list[str]:
        return [rel for rel in self.paths() if (self.spec(rel) or {}).get("agent") == agent]

    def official(self, agent: str, named: str | None) -> tuple[str | None, str | None]:
        """(the official spec's path, None) or (None, why there is none)."""
        if named is not None:
            spec = self.spec(named)
            if spec is None:
                return None, f"the roster names {named} as the official eval spec of {agent}, and there is no such spec"
            if spec.get("agent") != agent:
                return (
                    None,
                    f"the roster names {named} as the official eval spec of {agent}, but it is for {spec.get('agent')}",
                )
            return named, None
        found = self.for_agent(agent)
        if len(found) == 1:
            return found[0], None
        if not found:
            return None, f"no eval spec under {EVALS_DIR}/ is for agent {agent}"
        return None, (
            f"several eval specs are for agent {agent} ({', '.join(found)}): name the official one with "
            "`eval_spec:` in the roster"
        )

    def suite_dirs(self, spec_path: str) -> dict[str, Path]:
        """Suite name -> folder, as the spec names them (none when the spec is absent or unreadable)."""
        return suite_dirs(self.root, self.spec(spec_path))

    def suite_dir(self, name: str, spec_path: str | None) -> Path:
        """Where suite `name` lives: the folder the spec names with that name, else `suites/<name>`."""
        named = self.suite_dirs(spec_path) if spec_path else {}
        return named.get(name, self.root / "suites" / name)


@lru_cache(maxsize=1024)
def _parsed(text: str) -> Any:
    """Specs by content: the base's and the working tree's copy of an unchanged spec are parsed once. Callers only
    read the value."""
    return parse_yaml(text, "<eval spec>").data


def candidate_ids(spec: dict[str, Any] | None) -> list[str]:
    return [str(c.get("id") if isinstance(c, dict) else c) for c in (spec or {}).get("candidates") or []]


__all__ = ["EVALS_DIR", "EvalSpecs", "candidate_ids"]
