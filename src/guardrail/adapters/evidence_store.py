"""Evidence on disk: `<dir>/<sha256>.json`, one record per file, written atomically.

Reading never trusts a file: it returns the raw JSON object with its file name, and the caller checks the
address and signature. A file that does not parse is returned as unreadable rather than raising, so one broken
file cannot hide the rest (and cannot count as evidence either).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrail.adapters import files
from guardrail.adapters.loading import load_json
from guardrail.core.evidence import address
from guardrail.errors import ConfigError, CouldNotFinish


@dataclass(frozen=True)
class StoredEvidence:
    path: Path
    payload: dict[str, Any] | None  # None when the file is not a JSON object
    problem: str | None = None


def write_payload(payload: dict[str, Any], directory: Path) -> Path:
    """Write one record under its content address; an identical record is left as it is."""
    target = directory / f"{address(payload)}.json"
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if files.is_file(target) and files.read_text(target) == text:
            return target
        fd, tmp = tempfile.mkstemp(prefix=".evidence-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise CouldNotFinish(f"{directory}: cannot write evidence: {exc.strerror or exc}") from exc
    return target


def read_dir(directory: Path) -> list[StoredEvidence]:
    """Every `*.json` record in a directory, sorted by name; a missing directory holds no evidence."""
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise ConfigError("evidence path is not a directory", path=str(directory))
    out: list[StoredEvidence] = []
    for path in sorted(directory.glob("*.json")):
        try:
            value = load_json(path)
        except ConfigError as exc:
            out.append(StoredEvidence(path, None, f"unreadable: {exc.message_only}"))
            continue
        if not isinstance(value, dict):
            out.append(StoredEvidence(path, None, "not a JSON object"))
            continue
        out.append(StoredEvidence(path, value))
    return out


__all__ = ["StoredEvidence", "read_dir", "write_payload"]
