"""The decision log on disk: JSONL, one `guardrail.decision/v1` record per line, appended by concurrent hooks.

Several hook processes append to one file at once (Claude Code runs hooks in parallel, subagents too). Each line
goes out in a single `write()` on a descriptor opened with O_APPEND, so lines never interleave and a reader sees
whole lines. Writing imports no pydantic (the hook's start-up budget); reading validates every line against
`DecisionRecord` and names the file and line of a bad one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrail.errors import CouldNotFinish

if TYPE_CHECKING:
    from guardrail.core.decisions import DecisionRecord

LOG_MODE = 0o640
RECORD_HINT = "each line must be one guardrail.decision/v1 record"


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One record as one UTF-8 line; newlines inside values are escaped by JSON, so a line is a record."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")


def append_line(path: Path, line: bytes) -> None:
    """Append one encoded line with one write(); a short write (disk full) is an error, never half a record."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_MODE)
        try:
            written = os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        raise CouldNotFinish(f"{path}: cannot append to the decision log: {exc.strerror or exc}") from exc
    if written != len(line):
        raise CouldNotFinish(f"{path}: the decision log took {written} of {len(line)} bytes (disk full?)")


def append_record(path: Path, record: DecisionRecord | Mapping[str, Any]) -> None:
    """Append a record (a DecisionRecord, or a mapping already shaped like one)."""
    if isinstance(record, Mapping):
        append_line(path, encode_line(record))
    else:
        append_line(path, (record.to_line() + "\n").encode("utf-8"))


def read_decisions(path: Path) -> Iterator[DecisionRecord]:
    """Every record in a log, validated: a bad line is named with its file, line and every field at fault. A last
    line without its newline is a write still in flight: skipped unless it is already a whole record."""
    from pydantic import ValidationError

    from guardrail.adapters.loading import parse_json, read_text, schema_error
    from guardrail.core.decisions import DecisionRecord

    lines = read_text(path).split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield DecisionRecord.model_validate(parse_json(raw, str(path), line=number))
        except ValidationError as exc:
            raise schema_error(exc, path=str(path), line=number, hint=RECORD_HINT) from None
    if tail.strip():
        try:
            yield DecisionRecord.model_validate_json(tail)
        except ValidationError:
            return


__all__ = ["LOG_MODE", "RECORD_HINT", "append_line", "append_record", "encode_line", "read_decisions"]
