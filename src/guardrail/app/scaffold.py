"""`guardrail init`: a new project that works before its first edit.

The scaffold is package data (`guardrail/scaffold/`): a marketing agency's roster, one replay suite, one eval spec,
and the policies this guardrail ships with, tests included. `scaffold/policies` is the repository's own `policies/`
folder (a link in the source tree, copied into a built package), so a new project starts from exactly the policies
guardrail's tests hold, never a stale copy; only the example roster's waivers are left out, and each data file keeps
its comments. tests/app/test_scaffold.py runs `policy test`, `roster check` and an offline `run` on a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from guardrail.errors import ConfigError

# Policy data that belongs to the repository's demo company, not to a new project: its entries are left out, the
# comments that explain the format stay.
_EMPTIED = {"policies/data/waivers.yaml": "waivers: []\n"}
_RENAMED = {"gitignore": ".gitignore"}  # dotfiles travel badly as package data


@dataclass(frozen=True)
class Scaffolded:
    root: Path
    files: list[Path]

    def count(self, folder: str) -> int:
        return sum(1 for f in self.files if f.relative_to(self.root).parts[0] == folder)


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        name = f"{prefix}{child.name}"
        if child.is_dir():
            out += _walk(child, name + "/")
        elif not child.name.startswith("."):
            out.append((name, child))
    return out


def scaffold_files() -> dict[str, str]:
    """Project-relative path -> text of every file `init` writes."""
    root = resources.files("guardrail") / "scaffold"
    files = {_RENAMED.get(name, name): item.read_text(encoding="utf-8") for name, item in _walk(root / "project")}
    for name, item in _walk(root / "policies", "policies/"):
        if name.endswith((".rego", ".yaml", ".yml", ".json")):
            text = item.read_text(encoding="utf-8")
            if name in _EMPTIED:
                comments = [line for line in text.splitlines(keepends=True) if line.startswith("#")]
                text = "".join(comments) + _EMPTIED[name]
            files[name] = text
    return files


def init_project(target: Path) -> Scaffolded:
    """Write the scaffold into `target` (created if missing). Refuses, before writing anything, when any of its
    files already exists: init never overwrites a project."""
    files = scaffold_files()
    existing = sorted(name for name in files if (target / name).exists())
    if existing:
        listed = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise ConfigError(
            f"would overwrite {listed}",
            path=str(target),
            hint="run guardrail init in an empty folder, or move those files away",
        )
    written = []
    try:
        for name, text in files.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise ConfigError(f"cannot write the project: {exc.strerror}", path=str(exc.filename or target)) from None
    return Scaffolded(target, written)


__all__ = ["Scaffolded", "init_project", "scaffold_files"]
