"""What rebuilding a run's reports produced: the summary, the files written and the evidence records. A record
in core so the console renderer (report/console.py) reads it without importing the use-case that builds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from guardrail.core.summary import Summary, Tracking


@dataclass
class ReportOutcome:
    run_dir: Path
    summary: Summary
    files: dict[str, Path] = field(default_factory=dict)  # "summary", "csv", "markdown", "html"
    evidence: list[Path] = field(default_factory=list)  # one record per candidate, in the run and in evidence/

    @property
    def allowed(self) -> bool:
        return self.summary.gate.allow

    @property
    def tracking(self) -> Tracking | None:
        return self.summary.tracking


__all__ = ["ReportOutcome"]
