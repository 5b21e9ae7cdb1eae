"""The scaffold ships the repository's own policies (never a stale copy) and never overwrites a project."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.app.scaffold import init_project, scaffold_files
from guardrail.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_the_scaffold_s_policies_are_the_repository_s_own() -> None:
    files = scaffold_files()
    shipped = {name for name in files if name.startswith("policies/")}
    repo = {p.relative_to(REPO).as_posix() for p in (REPO / "policies").rglob("*") if p.is_file()}
    assert shipped == repo
    for name in shipped - {"policies/data/waivers.yaml"}:
        assert files[name] == (REPO / name).read_text(encoding="utf-8"), name
    waivers = files["policies/data/waivers.yaml"]  # the demo company's waivers left out, the format's comments kept
    assert waivers.endswith("\nwaivers: []\n") and "expires" in waivers and "larkspur" not in waivers


def test_init_never_overwrites_and_writes_nothing_when_it_refuses(tmp_path: Path) -> None:
    (tmp_path / "roster.yaml").write_text("mine\n")
    with pytest.raises(ConfigError, match="would overwrite roster.yaml") as info:
        init_project(tmp_path)
    assert info.value.path == str(tmp_path)
    assert (tmp_path / "roster.yaml").read_text() == "mine\n" and not (tmp_path / "policies").exists()
