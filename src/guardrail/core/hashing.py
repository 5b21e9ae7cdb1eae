"""Content hashes that bind evidence to the exact suites, policies and spec it was produced from.

A tree hash covers relative paths and bytes, in sorted order, so it is the same on every machine and checkout and
changes when any file is added, removed, renamed or edited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_SKIP_DIRS = {"__pycache__", ".git", ".venv", ".mypy_cache", ".ruff_cache"}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def tree_files(root: Path, suffixes: Iterable[str] | None = None) -> list[Path]:
    """Files under root that a hash covers, sorted by relative path."""
    wanted = tuple(suffixes) if suffixes else None
    files = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part in _SKIP_DIRS or part.startswith(".") for part in p.relative_to(root).parts)
        and (wanted is None or p.name.endswith(wanted))
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def sha256_tree(root: Path, suffixes: Iterable[str] | None = None) -> str:
    """sha256 over (relative path, file hash) pairs; a single file hashes as itself."""
    if root.is_file():
        return sha256_file(root)
    digest = hashlib.sha256()
    for path in tree_files(root, suffixes):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(sha256_file(path).encode())
        digest.update(b"\n")
    return digest.hexdigest()


POLICY_SUFFIXES = (".rego", ".json", ".yaml", ".yml")
