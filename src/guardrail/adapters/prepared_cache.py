"""Policies checked and rewritten once per content, cached for the user: the engine's start costs a load, not a
parse, a static check and a rewrite.

Preparing the bundled policies (`rego_check`, then `rego_rewrite`) is ~25 ms of a ~30 ms engine load, paid by
every `roster check`, `gate` and run. The result is a pure function of the modules' sources, in order, and of the
code that prepares them; so an entry is keyed by the sha256 of exactly that: every module's source, the sources of
the `rego*` adapters and of guardrail's version, and the engine's library file (size and mtime). File paths are
not in the key (the gate reads its trusted policies into a fresh scratch folder each time): only sources decide,
and the paths of the bundle at hand are attached to the cached text on the way out. Data files are never cached;
the engine always gets the bundle's own data. Only a successful preparation is stored: a bundle the checks refuse
is refused again, with the same message.

Entries live under the user's cache folder (`$XDG_CACHE_HOME/guardrail/prepared`, else `~/.cache/...`): the folder
0700, files 0600, written atomically. A folder or entry that another user owns or others may write, an entry that
does not parse, or whose recorded key or checksum differs, is ignored and rebuilt; a cache that cannot be written
is skipped. None of it is ever an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from functools import cache
from pathlib import Path
from typing import Any

import guardrail
from guardrail.adapters.rego_rewrite import Rewritten, is_internal

FORMAT = 1  # bump when an entry's shape changes
KEEP = 32  # entries kept; older ones are removed on a write
_PREFIX = "prepared-"
_PREPARING = ("rego.py", "rego_ast.py", "rego_builtins.py", "rego_check.py", "rego_rewrite.py", "prepared_cache.py")
Modules = list[tuple[str, str]]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guardrail" / "prepared"


@cache
def _code_digest() -> str:
    """What prepares the sources: these adapters' own text, guardrail's version, the engine's library file."""
    import regorus.regorus as engine_lib

    digest = hashlib.sha256(f"{FORMAT}\0{guardrail.__version__}".encode())
    here = Path(__file__).parent
    for name in _PREPARING:
        digest.update((here / name).read_bytes())
    info = os.stat(str(engine_lib.__file__))
    digest.update(f"\0{engine_lib.__file__}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    return digest.hexdigest()


def cache_key(modules: Modules) -> str:
    """sha256 over the preparing code and every module's source, in order; paths are not part of it."""
    digest = hashlib.sha256(_code_digest().encode())
    for _, source in modules:
        encoded = source.encode("utf-8")
        digest.update(f"\0{len(encoded)}\0".encode())
        digest.update(encoded)
    return digest.hexdigest()


def prepared(modules: Modules) -> Rewritten:
    """The modules checked and rewritten (what `RegoEngine` loads), from the cache when these very sources were
    prepared before; raises what the checks raise."""
    from guardrail.adapters.rego import check_and_rewrite

    key = cache_key(modules)
    folder = _usable(cache_dir())
    if folder is not None and (hit := _read(folder / f"{_PREFIX}{key[:48]}.json", key, modules)) is not None:
        return hit
    rewritten = check_and_rewrite(modules)
    if folder is not None or _make(cache_dir()):
        _write(cache_dir(), key, modules, rewritten)
    return rewritten


def _usable(folder: Path) -> Path | None:
    """The folder, when it is ours and no one else may write to it."""
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    return folder


def _make(folder: Path) -> bool:
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return _usable(folder) is not None


def _payload(key: str, internal: Modules, sources: list[str], edits: list[list[Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "key": key, "internal": internal, "sources": sources, "edits": edits}


def _checksum(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _read(path: Path, key: str, modules: Modules) -> Rewritten | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = json.loads(handle.read())
        payload = _payload(raw["key"], raw["internal"], raw["sources"], raw["edits"])
        if raw["format"] != FORMAT or raw["key"] != key or raw["checksum"] != _checksum(payload):
            return None
        internal = [(str(p), str(s)) for p, s in raw["internal"]]
        sources = [str(s) for s in raw["sources"]]
        if len(sources) != len(modules) or not all(is_internal(p) for p, _ in internal):
            return None
        paths = [path for path, _ in modules]
        edits = {
            (paths[index], int(line)): [(int(a), int(b), int(c)) for a, b, c in spans]
            for index, line, spans in raw["edits"]
        }
        return Rewritten(modules=[*internal, *zip(paths, sources, strict=True)], edits=edits)
    except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None  # damaged or of another shape: rebuilt
    finally:
        os.close(fd)


def _write(folder: Path, key: str, modules: Modules, rewritten: Rewritten) -> None:
    """Atomically, owner-only; then the oldest entries past KEEP go. Nothing here is ever an error."""
    import tempfile

    internal = [m for m in rewritten.modules if is_internal(m[0])]
    own = [m for m in rewritten.modules if not is_internal(m[0])]
    paths = [p for p, _ in modules]
    if [p for p, _ in own] != paths or rewritten.modules[: len(internal)] != internal or len(set(paths)) < len(paths):
        return  # not the shape `_read` rebuilds: do not store it
    index = {path: i for i, (path, _) in enumerate(modules)}
    edits = [[index[path], line, spans] for (path, line), spans in rewritten.edits.items() if path in index]
    payload = _payload(key, internal, [s for _, s in own], edits)
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(prefix=".prepared-", suffix=".tmp", dir=folder)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({**payload, "checksum": _checksum(payload)}, handle, separators=(",", ":"))
            os.replace(tmp, folder / f"{_PREFIX}{key[:48]}.json")
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
        entries = sorted(folder.glob(f"{_PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)


__all__ = ["FORMAT", "cache_dir", "cache_key", "prepared"]
