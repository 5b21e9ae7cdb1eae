"""What `guardrail policy check` and `policy test` found, as records the renderers in report/ read."""

from __future__ import annotations

from pydantic import BaseModel, Field

from guardrail.core.findings import FileCoverage, TestOutcome, coverage_percent


class CheckReport(BaseModel):
    directory: str
    modules: int
    errors: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class TestReport(BaseModel):
    __test__ = False

    directory: str
    outcomes: list[TestOutcome]
    coverage: list[FileCoverage] = Field(default_factory=list)
    coverage_enabled: bool = False
    fail_under: float | None = None
    per_file: bool = False  # --fail-under applies to each policy file, not only to the total

    @property
    def total_coverage(self) -> float:
        return coverage_percent(self.coverage)

    @property
    def failed(self) -> list[TestOutcome]:
        return [o for o in self.outcomes if o.status != "pass"]

    @property
    def files_below(self) -> list[FileCoverage]:
        """Policy files under --fail-under when it applies per file."""
        if self.fail_under is None or not self.per_file:
            return []
        return [f for f in self.coverage if f.percent < self.fail_under]

    @property
    def coverage_too_low(self) -> bool:
        if self.fail_under is None:
            return False
        return bool(self.files_below) if self.per_file else self.total_coverage < self.fail_under

    @property
    def ok(self) -> bool:
        return not self.failed and not self.coverage_too_low


__all__ = ["CheckReport", "TestReport"]
