"""Read production trace files into observations, one per span, log event or decision record, streaming.

Inputs are files or directories (recursively: `*.json`, `*.jsonl`, `*.ndjson`, `*.log`, each optionally `.gz`),
plain or gzip (detected by the magic bytes, not the name). A file holds one JSON record per line (what the
OpenTelemetry Collector's file exporter, Claude Code hooks and guardrail's decision log write) or one JSON
document. Each record's format is recognised by its content:

    {"resourceSpans": [...]}                       OTLP/JSON traces: gen_ai.* (current and legacy) or OpenInference
    {"resourceLogs": [...]}                        OTLP/JSON logs: Claude Code events (tool_result, tool_decision, ...)
    {"resourceMetrics": [...]}                     OTLP metrics: counted, nothing to judge
    {"schema": "guardrail.decision/v1", ...}       guardrail's decision log (guardrail hook)
    {"hook_event_name": "PreToolUse", ...}         a Claude Code hook payload

Anything else, or a line that is not JSON, is bad input: a ConfigError naming the file and line (exit 2).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

from guardrail.adapters import files
from guardrail.adapters.loading import parse_json
from guardrail.errors import ConfigError

TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".log")
MAX_DOCUMENT_BYTES = 256 * 2**20  # a file that is one JSON document is parsed whole; lines stream
_GZIP_MAGIC = b"\x1f\x8b"


class Observation(NamedTuple):
    """What one record says, before the trace around it is known (agent by ancestry, approvals, history).

    `kind` None is a span that only gives context: an agent span, an approval span, a chain step. The readers
    hand over well-typed values (ids and names are str), so the event built from it needs no validation. A named
    tuple: immutable and built in a quarter of a frozen dataclass's time (one per record of a million-span audit).
    """

    kind: str | None
    source: str
    time: datetime
    file: str
    line: int
    trace_id: str | None = None
    span_id: str | None = None
    parent_id: str | None = None
    agent: str | None = None
    model: str | None = None
    provider: str | None = None
    tool: str | None = None  # as the runtime named it
    catalog_tool: str | None = None  # already a catalog name (decision logs)
    args: dict[str, Any] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    approvals: tuple[tuple[str, str], ...] = ()  # (tool, approver) a person approved, recorded here
    executed: bool = True
    error: bool = False
    call_id: str | None = None  # a runtime's own call id (tool_use_id), to join records of one call
    result: Any = None  # a tool call's recorded result, as recorded (for `suite from-traces`)
    messages: Any = None  # a model call's recorded input messages, as recorded (for `suite from-traces`)


def trace_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories (sorted, hidden entries skipped); a named file is read whatever its suffix."""
    out: list[Path] = []
    for path in paths:
        if files.is_dir(path):
            found = sorted(
                p
                for p in path.rglob("*")
                if files.is_file(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and p.name.removesuffix(".gz").endswith(TRACE_SUFFIXES)
            )
            if not found:
                raise ConfigError(f"no trace files ({', '.join(TRACE_SUFFIXES)}, optionally .gz) in it", path=str(path))
            out.extend(found)
        elif files.probe(path) is not None:
            out.append(path)
        else:
            raise ConfigError("file not found", path=str(path))
    return out


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    """The file through guardrail's guarded path (regular files only, size limit), decompressed when gzip."""
    with files.open_regular(path, limit=files.MAX_LINES_FILE_BYTES) as raw:
        head = raw.read(2)
        raw.seek(0)
        if head == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield raw


def _lines(handle: IO[bytes], shown: str) -> Iterator[tuple[int, bytes]]:
    number = 0
    while True:
        raw = handle.readline(files.MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > files.MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise ConfigError(f"line longer than {files.MAX_LINE_BYTES:,} bytes", path=shown, line=number)
        yield number, raw


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, JSON value) per non-blank line; a file that is one multi-line JSON document yields it as line 1."""
    shown = str(path)
    try:
        with _open(path) as handle:
            first = True
            for number, raw in _lines(handle, shown):
                if not raw.strip():
                    continue
                if first and raw.lstrip()[:1] in (b"{", b"["):
                    try:
                        json.loads(raw)
                    except RecursionError:
                        pass  # a line of its own, nested too deep: parse_json below names its line
                    except ValueError:  # not a line of its own: the file is one pretty-printed document
                        yield from _whole_document(path)
                        return
                first = False
                yield number, parse_json(raw, shown, line=number)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ConfigError(f"cannot read: {exc}", path=shown) from None


def _whole_document(path: Path) -> Iterator[tuple[int, Any]]:
    with _open(path) as handle:
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ConfigError(
            f"one JSON document over {MAX_DOCUMENT_BYTES // 2**20} MB: write one record per line to stream it",
            path=str(path),
        )
    value = parse_json(data, str(path))
    for item in value if isinstance(value, list) else [value]:
        yield 1, item


def record_format(value: Any) -> str | None:
    """Which reader a record needs, by its content; None when no known format matches."""
    if not isinstance(value, dict):
        return None
    if "resourceSpans" in value:
        return "otlp-traces"
    if "resourceLogs" in value:
        return "otlp-logs"
    if "resourceMetrics" in value:
        return "otlp-metrics"
    if str(value.get("schema", "")).startswith("guardrail.decision/"):
        return "decision-log"
    if "hook_event_name" in value and "tool_name" in value:
        return "claude-code-hook"
    return None


def observations(path: Path) -> Iterator[Observation]:
    """Every observation in one file, in file order; the first unrecognised record is bad input."""
    from guardrail.adapters import traces_otlp, traces_runtime

    shown = str(path)
    for line, value in read_records(path):
        kind = record_format(value)
        if kind == "otlp-traces":
            yield from traces_otlp.spans(value, shown, line)
        elif kind == "otlp-logs":
            yield from traces_runtime.claude_log_events(value, shown, line)
        elif kind == "decision-log":
            yield traces_runtime.decision_record(value, shown, line)
        elif kind == "claude-code-hook":
            found = traces_runtime.hook_payload(value, shown, line)
            if found is not None:
                yield found
        elif kind == "otlp-metrics":
            continue
        else:
            keys = ", ".join(sorted(value)[:6]) if isinstance(value, dict) else type(value).__name__
            raise ConfigError(
                f"not a trace record guardrail reads (found: {keys})",
                path=shown,
                line=line,
                hint="expected OTLP/JSON (resourceSpans/resourceLogs), a Claude Code hook payload or a decision log",
            )


__all__ = [
    "MAX_DOCUMENT_BYTES",
    "TRACE_SUFFIXES",
    "Observation",
    "observations",
    "read_records",
    "record_format",
    "trace_files",
]
