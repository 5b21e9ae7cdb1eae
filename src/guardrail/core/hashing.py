"""Content hashes that bind evidence to the exact suites, policies and spec it was produced from.

A tree hash covers relative paths and bytes, in sorted order, so it is the same on every machine and checkout and
changes when any file is added, removed, renamed or edited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_SKIP_DIRS = {"__pycache__", ".git", ".venv", ".mypy_cache", ".ruff_cache"}


def sha256_file(path: Path) -> str:
    """Streamed: a suite folder may hold a large file beside its tasks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def tree_files(root: Path, suffixes: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> list[Path]:
    """Files under root that a hash covers, sorted by relative path; `exclude` lists relative paths to leave out."""
    wanted = tuple(suffixes) if suffixes else None
    skipped = set(exclude)
    files = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part in _SKIP_DIRS or part.startswith(".") for part in p.relative_to(root).parts)
        and (wanted is None or p.name.endswith(wanted))
        and p.relative_to(root).as_posix() not in skipped
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def sha256_tree(root: Path, suffixes: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> str:
    """sha256 over (relative path, file hash) pairs; a single file hashes as itself."""
    if root.is_file():
        return sha256_file(root)
    digest = hashlib.sha256()
    for path in tree_files(root, suffixes, exclude):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(sha256_file(path).encode())
        digest.update(b"\n")
    return digest.hexdigest()


POLICY_SUFFIXES = (".rego", ".json", ".yaml", ".yml")

# Records of human decisions about the roster: they change what the CI gate allows, never how a candidate scores,
# so adding an approval or a waiver must not make every evidence file stale.
GOVERNANCE_RECORDS = tuple(f"data/{name}.{ext}" for name in ("approvals", "waivers") for ext in ("yaml", "yml", "json"))


def policies_hash(policies_dir: Path) -> str:
    """The hash evidence binds to: every policy and data file that can change an evaluation."""
    if not policies_dir.is_dir():
        return ""
    return sha256_tree(policies_dir, POLICY_SUFFIXES, exclude=GOVERNANCE_RECORDS)
