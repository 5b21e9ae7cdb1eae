"""The run's journal: results.jsonl, one ResultRow per finished task, appended durably; transcripts beside it.

Each finished task is written as one line, flushed and fsynced before the next task counts as done, so a `kill
-9` at any moment loses at most the tasks in flight. The only damage a kill can do is a torn final line;
readers skip it and a resumed run cuts it off before appending. Transcripts are written before their row, and
a resume drops transcripts whose row never made it, so both files end with exactly one record per (suite,
task, candidate, repeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from guardrail.adapters import files
from guardrail.adapters.loading import schema_error
from guardrail.core.results import ResultRow
from guardrail.errors import CouldNotFinish

RESULTS_FILE = "results.jsonl"
TRANSCRIPTS_FILE = "transcripts.jsonl"

RowKey = tuple[str, str, str, int]  # (suite, task id, candidate, repeat)


def row_key(row: ResultRow) -> RowKey:
    return (row.suite, row.task_id, row.candidate, row.repeat)


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, raw line, complete?) for each non-blank line; only the last can be incomplete. Read through
    the guarded path: a run folder can be handed to `--resume` or `report`, so its files are input too."""
    if files.probe(path) is None:
        return
    for number, raw in files.iter_lines(path):
        if raw.strip():
            yield number, raw, raw.endswith(b"\n")


def read_rows(path: Path) -> list[ResultRow]:
    """Every complete row; a torn final line (a kill mid-write) is skipped, damage elsewhere is an error."""
    rows: list[ResultRow] = []
    for number, raw, complete in _lines(path):
        try:
            rows.append(ResultRow.model_validate_json(raw))
        except ValidationError as exc:
            if not complete:
                break
            raise schema_error(exc, path=str(path), line=number) from None
    return rows


def _truncate_torn_tail(path: Path) -> None:
    """Cut a partial last line, so the next append starts on a fresh line."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # walk back to the last newline (lines are small; read the tail in blocks)
        position = size
        block = 65536
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return
            position = start
        handle.truncate(0)


class Journal:
    """Append-only writer for one run folder; `done` holds the keys already journaled (for --resume)."""

    def __init__(self, run_dir: Path, *, fsync: bool = True) -> None:
        self.run_dir = run_dir
        self.results_path = run_dir / RESULTS_FILE
        self.transcripts_path = run_dir / TRANSCRIPTS_FILE
        self.fsync = fsync
        self.failed = False  # a write failed: the run stops, and closing must not hide why
        self.rows: list[ResultRow] = []
        self.done: set[RowKey] = set()
        with self._io(self.results_path):
            run_dir.mkdir(parents=True, exist_ok=True)
            _truncate_torn_tail(self.results_path)
        for row in read_rows(self.results_path):
            key = row_key(row)
            if key not in self.done:  # never expected; a journal keeps the first outcome of a key
                self.done.add(key)
                self.rows.append(row)
        with self._io(self.transcripts_path):
            self._compact_transcripts()
            self._results: IO[bytes] = self.results_path.open("ab")
            self._transcripts: IO[bytes] = self.transcripts_path.open("ab")

    @contextlib.contextmanager
    def _io(self, path: Path) -> Iterator[None]:
        """An OS error (a full disk, a lost permission) as CouldNotFinish naming the file; the run stops there and
        `--resume` finishes it: a torn last line is cut, and a transcript without its row dropped."""
        try:
            yield
        except OSError as exc:
            self.failed = True
            raise cannot_write(exc, path) from exc

    def _compact_transcripts(self) -> None:
        """Keep one transcript per journaled row; drop those of tasks that were in flight at a kill."""
        if not self.transcripts_path.exists():
            return
        kept: list[bytes] = []
        seen: set[RowKey] = set()
        changed = False
        for _, raw, complete in _lines(self.transcripts_path):
            try:
                record = json.loads(raw) if complete else None
            except json.JSONDecodeError:
                record = None
            key = (
                (record.get("suite"), record.get("task_id"), record.get("candidate"), record.get("repeat"))
                if isinstance(record, dict)
                else None
            )
            if key is None or key not in self.done or key in seen:
                changed = True
                continue
            seen.add(key)
            kept.append(raw)
        if changed:
            tmp = self.transcripts_path.with_suffix(".jsonl.tmp")
            tmp.write_bytes(b"".join(kept))
            os.replace(tmp, self.transcripts_path)

    def _write(self, row: ResultRow, transcript: dict[str, Any]) -> None:
        """Both lines, each in one write and flushed: the OS has them, so a kill of this process cannot tear
        them (only a crash of the machine before the fsync can)."""
        with self._io(self.transcripts_path):
            self._transcripts.write(json.dumps(transcript, default=str, separators=(",", ":")).encode() + b"\n")
            self._transcripts.flush()
        with self._io(self.results_path):
            self._results.write(row.model_dump_json().encode() + b"\n")
            self._results.flush()
        self.done.add(row_key(row))
        self.rows.append(row)

    def append(self, row: ResultRow, transcript: dict[str, Any]) -> None:
        """Durably record one finished task: its transcript, then its row (flush + fsync)."""
        self._write(row, transcript)
        if self.fsync:
            with self._io(self.results_path):
                os.fsync(self._results.fileno())

    def append_batch(self, outcomes: list[tuple[ResultRow, dict[str, Any]]]) -> None:
        """`append` for many rows with one fsync (a group commit): what a parent journaling for several worker
        processes needs, since an fsync per row would make them wait on the disk."""
        for row, transcript in outcomes:
            self._write(row, transcript)
        if self.fsync and outcomes:
            with self._io(self.results_path):
                os.fsync(self._results.fileno())

    async def append_async(self, row: ResultRow, transcript: dict[str, Any]) -> None:
        """`append` for the event loop: the lines are written on the loop (so they never interleave), the fsync
        runs in a thread, so a slow disk does not stall every other task in flight."""
        self._write(row, transcript)
        if self.fsync:
            with self._io(self.results_path):
                await asyncio.to_thread(os.fsync, self._results.fileno())

    def close(self) -> None:
        """Flush, fsync and close both files; an error here is raised unless an earlier one already stopped the
        run (then the files are closed all the same, and that first error is the one reported)."""
        problem: CouldNotFinish | None = None
        failed_before = self.failed
        for handle, path in ((self._transcripts, self.transcripts_path), (self._results, self.results_path)):
            if handle.closed:
                continue
            try:
                with self._io(path):
                    handle.flush()
                    if self.fsync:
                        os.fsync(handle.fileno())
            except CouldNotFinish as exc:
                problem = problem or exc
            finally:
                with contextlib.suppress(OSError):
                    handle.close()
        if problem is not None and not failed_before:
            raise problem

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cannot_write(exc: OSError, path: Path) -> CouldNotFinish:
    """An OS error while writing a run folder: exit 3 naming the file, and how to finish the run."""
    return CouldNotFinish(
        f"{path}: cannot write: {files.why(exc)}",
        hint="free space or fix the permissions, then finish the run with --resume RUN_ID",
    )


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, default=str) + "\n").encode()


def write_json_atomic(path: Path, value: Any, *, reserve: int = 0) -> None:
    """Replace a JSON file in one step (tmp + fsync + rename), so a kill never leaves half a run.json. `reserve`
    trailing spaces (valid JSON whitespace) keep room to rewrite it in place on a disk that fills up later."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(_json_bytes(value) + b" " * reserve)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def rewrite_in_place(path: Path, value: Any) -> None:
    """Overwrite a JSON file's own bytes (no new file: what still works on a full disk when the new text fits in
    the old one's room). Not atomic: only for marking a run.json that could not be replaced."""
    data = _json_bytes(value)
    with path.open("r+b") as handle:
        room = os.fstat(handle.fileno()).st_size
        handle.write(data + b" " * max(0, room - len(data)))
        handle.flush()
        os.fsync(handle.fileno())


__all__ = [
    "RESULTS_FILE",
    "TRANSCRIPTS_FILE",
    "Journal",
    "RowKey",
    "cannot_write",
    "read_rows",
    "rewrite_in_place",
    "row_key",
    "write_json_atomic",
]
