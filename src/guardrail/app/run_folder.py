"""A run's folder, `reports/<run-id>/`: made for a new run or found for `--resume RUN_ID`, locked while a run writes
it, and marked (finished, interrupted, failed) however the run ends.

- One writer at a time: a lock file (`.lock`, `adapters/locks.py`) is held from the moment the folder is chosen
  until the run (and, from the CLI, its reports) is written; a second run or resume of the same folder is refused
  with exit 2, naming the holder (pid, host, start time). The kernel drops the lock when its holder dies.
- `--resume` takes a run id of this project (a folder name under its reports folder), never a path.
- Full disks and other OS errors end the run with exit 3 naming the path; `run.json` is still marked (rewritten in
  the room reserved for it when a new file cannot be written), and `--resume` finishes the run once the cause is
  fixed.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guardrail.adapters import files
from guardrail.adapters.journal import cannot_write, rewrite_in_place, write_json_atomic
from guardrail.adapters.loading import load_json, schema_error
from guardrail.adapters.locks import Busy, FileLock
from guardrail.core.results import RunManifest
from guardrail.errors import ConfigError, CouldNotFinish

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{4}")
_RESERVE = 512  # bytes of room left in run.json, so it can be marked on a disk that has filled up since


def new_run_id() -> str:
    """UTC timestamp + short random: sortable, and unique when two runs start in the same second."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


@dataclass
class RunFolder:
    run_id: str
    path: Path
    previous: RunManifest | None  # the manifest of the run being resumed
    lock: FileLock
    made_reports: bool = False  # the reports folder itself was made for this run

    def release(self) -> None:
        self.lock.release()

    def abandon(self) -> None:
        """Release after the run failed before writing anything: a new run's folder, still empty, goes too (a
        bad `--candidates` must not leave a folder behind)."""
        self.lock.release()
        if self.previous is None:
            with contextlib.suppress(OSError):
                if [p.name for p in self.path.iterdir()] == [LOCK_FILE]:
                    (self.path / LOCK_FILE).unlink()
                    self.path.rmdir()
                    if self.made_reports:
                        self.path.parent.rmdir()

    def write_manifest(self, manifest: RunManifest) -> None:
        """run.json when the run starts, with room kept to mark it later."""
        _write(self.path / RUN_FILE, manifest.model_dump(mode="json"), reserve=_RESERVE)

    def finish(self, manifest: RunManifest, *, quietly: bool) -> None:
        """Mark run.json with how the run ended; `quietly` when another error is already on its way (a failure
        here must not hide it). summary.json is the report step's (app/report.py)."""
        path, value = self.path / RUN_FILE, manifest.model_dump(mode="json")
        try:
            try:
                _write(path, value)
            except CouldNotFinish:
                try:  # no room for a new file: overwrite the old one's reserved bytes
                    rewrite_in_place(path, value)
                except OSError as exc:
                    raise cannot_write(exc, path) from exc
        except CouldNotFinish:
            if not quietly:
                raise


def _write(path: Path, value: Any, *, reserve: int = 0) -> None:
    try:
        write_json_atomic(path, value, reserve=reserve)
    except OSError as exc:
        raise cannot_write(exc, path) from exc


def open_run_folder(reports: Path, resume: str | None, *, out_given: bool) -> RunFolder:
    """A new run's folder under `reports`, or the folder of run `resume` there; locked either way."""
    if resume is not None:
        return _resume(reports, resume)
    run_id = new_run_id()
    path = reports / run_id
    try:
        made_reports = not reports.exists()
        path.mkdir(parents=True)
    except OSError as exc:
        field = "--out" if out_given else None
        raise ConfigError(f"cannot make the run folder: {files.why(exc)}", path=str(path), field=field) from None
    return RunFolder(run_id, path, None, _lock(path, run_id), made_reports)


def _resume(reports: Path, run_id: str) -> RunFolder:
    if not RUN_ID.fullmatch(run_id):
        raise ConfigError(
            f"not a run id: {run_id!r}",
            field="--resume",
            hint=f"pass the name of a run folder under {reports}, e.g. {new_run_id()}",
        )
    path = reports / run_id
    if not files.is_file(path / RUN_FILE):
        raise ConfigError(f"no run {run_id!r} to resume (no {RUN_FILE})", path=str(path), field="--resume")
    lock = _lock(path, run_id)  # before reading: of two resumes at once, the second is refused here
    try:
        try:
            previous = RunManifest.model_validate(load_json(path / RUN_FILE))
        except ValidationError as exc:
            raise schema_error(exc, path=str(path / RUN_FILE)) from None
        if previous.run_id != run_id:
            raise ConfigError(f"holds run {previous.run_id!r}, not {run_id!r}", path=str(path / RUN_FILE))
    except BaseException:
        lock.release()
        raise
    return RunFolder(run_id, path, previous, lock)


def lock_for_report(path: Path) -> FileLock:
    """The run folder of `guardrail report`, locked while its reports are rewritten: a run or resume still writing
    it is named and the report refused (its rows are not all there yet, and both would write the same files)."""
    return _lock(path, path.name, then="report it")


def _lock(path: Path, run_id: str, *, then: str = "resume") -> FileLock:
    lock = FileLock(path / LOCK_FILE)
    try:
        return lock.acquire()
    except Busy as exc:
        raise ConfigError(
            f"run {run_id} is being written by {exc.holder}",
            path=str(path),
            hint=f"wait for that run to finish (or stop it), then {then}",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot lock the run folder: {files.why(exc)}", path=str(path / LOCK_FILE)) from None


__all__ = ["LOCK_FILE", "RUN_FILE", "RUN_ID", "RunFolder", "lock_for_report", "new_run_id", "open_run_folder"]
