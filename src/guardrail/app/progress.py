"""A live progress bar for a run on stderr: done/total, errors, cost so far, ETA.

Off when stderr is not a terminal (CI logs, pipes) or with --quiet, so logs stay clean; the runner calls the
same interface either way.
"""

from __future__ import annotations

import sys
from typing import Any

from guardrail.core.results import ResultRow


class RunProgress:
    """No-op progress; `live()` returns the rich one when a terminal is there to show it."""

    def start(self, total: int, done: int = 0) -> None:
        """Begin with `done` of `total` already finished (a resumed run)."""

    def advance(self, row: ResultRow) -> None:
        """One task finished."""

    def close(self) -> None:
        """Remove the bar."""

    @staticmethod
    def live(*, quiet: bool = False, label: str = "replaying") -> RunProgress:
        if quiet or not sys.stderr.isatty():
            return RunProgress()
        return _RichProgress(label)


class _RichProgress(RunProgress):
    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("errors {task.fields[errors]}"),
            TextColumn("${task.fields[cost]:.4f}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._label = label
        self._task: Any = None
        self._errors = 0
        self._cost = 0.0

    def start(self, total: int, done: int = 0) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._label, total=total, completed=done, errors=0, cost=0.0)

    def advance(self, row: ResultRow) -> None:
        self._errors += row.status == "error"
        self._cost += row.cost_usd
        self._progress.update(self._task, advance=1, errors=self._errors, cost=self._cost)

    def close(self) -> None:
        self._progress.stop()


__all__ = ["RunProgress"]
