"""The prepared-policy cache: keyed on content only, never lets a changed policy be evaluated as the old one, and
ignores an entry that is damaged, tampered with or not safely ours."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from guardrail.adapters import prepared_cache, rego
from guardrail.adapters.rego import EngineWorker, PolicyBundle, RegoEngine, load_bundle
from guardrail.errors import EngineError, PolicyError

LIB = ("lib/x.rego", "package lib.x\n\nzero := 0\n")
DIVIDES = "package p\n\nimport data.lib.x\n\nr := [x.zero, 1 / x.zero] if x.zero == 0\n"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "guardrail" / "prepared"


@pytest.fixture
def preparations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real preparations (cache misses) in this process."""
    calls: list[int] = []
    inner = rego.check_and_rewrite

    def counted(modules: list[tuple[str, str]]) -> rego.Rewritten:
        calls.append(len(modules))
        return inner(modules)

    monkeypatch.setattr(rego, "check_and_rewrite", counted)
    return calls


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("prepared-*.json"))


def _policies(root: Path, value: str) -> Path:
    folder = root / "policies"
    (folder / "p").mkdir(parents=True, exist_ok=True)
    (folder / "p" / "v.rego").write_text(f"package p\n\nv := {value}\n")
    return folder


def test_a_changed_policy_is_never_evaluated_as_the_old_one(tmp_path: Path, cache_home: Path) -> None:
    """Same path, same size, same mtime, new content: the worker evaluates the new content."""
    policies = _policies(tmp_path, '"old"')
    with EngineWorker(load_bundle(policies)) as worker:
        assert worker.query("data.p.v") == "old"
    assert len(_entries(cache_home)) == 1
    module = policies / "p" / "v.rego"
    stat = module.stat()
    module.write_text('package p\n\nv := "new"\n')
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert module.stat().st_size == stat.st_size and module.stat().st_mtime_ns == stat.st_mtime_ns
    with EngineWorker(load_bundle(policies)) as worker:
        assert worker.query("data.p.v") == "new"
    assert len(_entries(cache_home)) == 2


def test_a_hit_skips_the_preparation_and_keys_on_content_not_path(
    tmp_path: Path, cache_home: Path, preparations: list[int]
) -> None:
    """The gate reads trusted policies into a fresh folder each time: the same sources elsewhere are a hit, and
    what is loaded carries the paths of the bundle at hand, errors mapped back to the columns as written."""
    first = prepared_cache.prepared([("a/p.rego", DIVIDES), ("a/" + LIB[0], LIB[1])])
    second = prepared_cache.prepared([("b/p.rego", DIVIDES), ("b/" + LIB[0], LIB[1])])
    assert preparations == [2]
    assert [p for p, _ in second.modules if not p.startswith("guardrail-internal/")] == ["b/p.rego", "b/lib/x.rego"]
    assert [s for _, s in second.modules] == [s for _, s in first.modules]
    bundle = PolicyBundle(modules=[("b/p.rego", DIVIDES), ("b/" + LIB[0], LIB[1])])
    with pytest.raises(EngineError) as raised:
        RegoEngine(bundle, prepared=second).query("data.p.r")
    assert raised.value.message.startswith("b/p.rego:5:17: divide by zero"), raised.value.message
    entry = _entries(cache_home)[0]
    assert entry.stat().st_mode & 0o777 == 0o600 and cache_home.stat().st_mode & 0o777 == 0o700


def test_a_refused_bundle_is_refused_again_and_never_stored(cache_home: Path) -> None:
    shadowing = "package p\n\nimport data.lib.x\n\nf(x) := x + 1\n"  # an alias shadowed by a local: refused
    for _ in range(2):
        with pytest.raises(PolicyError, match="p.rego"):
            prepared_cache.prepared([("p.rego", shadowing), LIB])
    assert _entries(cache_home) == []


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "tampered source", "other key", "world-writable", "symlink"],
)
def test_a_damaged_or_foreign_entry_is_ignored_and_rebuilt(
    tmp_path: Path, cache_home: Path, preparations: list[int], damage: str
) -> None:
    modules = [("p.rego", 'package p\n\nv := "mine"\n')]
    prepared_cache.prepared(modules)
    (entry,) = _entries(cache_home)
    raw = entry.read_text()
    if damage == "truncated":
        entry.write_text(raw[: len(raw) // 2])
    elif damage == "garbage":
        entry.write_bytes(b"\x00\xff" * 100)
    elif damage == "tampered source":  # valid JSON, the old checksum: a flipped byte inside the stored text
        entry.write_text(raw.replace("mine", "evil"))
    elif damage == "other key":  # a well-formed entry of other sources, under this key's name
        other = json.loads(raw)
        other["key"] = "0" * 64
        entry.write_text(json.dumps(other))
    elif damage == "world-writable":  # intact, but anyone could have written it
        entry.chmod(0o666)
    elif damage == "symlink":
        target = tmp_path / "elsewhere.json"
        target.write_text(raw)
        entry.unlink()
        entry.symlink_to(target)
    again = prepared_cache.prepared(modules)
    assert preparations == [1, 1], "the damaged entry was used"
    assert dict(again.modules)["p.rego"] == 'package p\n\nv := "mine"\n'
    assert RegoEngine(PolicyBundle(modules=modules), prepared=again).query("data.p.v") == "mine"


def test_a_folder_others_may_write_is_not_used(cache_home: Path, preparations: list[int]) -> None:
    cache_home.mkdir(parents=True)
    cache_home.chmod(0o777)
    modules = [("p.rego", "package p\n\nv := 1\n")]
    prepared_cache.prepared(modules)
    prepared_cache.prepared(modules)
    assert preparations == [1, 1] and _entries(cache_home) == []


def test_an_unwritable_cache_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder would be
    rewritten = prepared_cache.prepared([("p.rego", "package p\n\nv := 1\n")])
    assert (
        RegoEngine(PolicyBundle(modules=[("p.rego", "package p\n\nv := 1\n")]), prepared=rewritten).query("data.p.v")
        == 1
    )


def test_old_entries_are_dropped(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepared_cache, "KEEP", 3)
    for value in range(5):
        prepared_cache.prepared([("p.rego", f"package p\n\nv := {value}\n")])
    assert len(_entries(cache_home)) == 3


def test_a_worker_started_without_waiting_reports_a_load_error_at_its_first_call(cache_home: Path) -> None:
    worker = EngineWorker(PolicyBundle(modules=[("bad.rego", "package bad\nallow if {")]), wait=False)
    try:
        with pytest.raises(PolicyError, match="bad.rego:2"):
            worker.query("data.bad.allow")
    finally:
        worker.close()
    assert worker.pid is None
