"""Use-cases for policy authors: check that policies compile, run their unit tests, evaluate a query, write docs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from guardrail.adapters.loading import load_yaml
from guardrail.adapters.rego import (
    DEFAULT_TIMEOUT_S,
    UNDEFINED,
    EngineWorker,
    PolicyBundle,
    add_data_files,
    compile_errors,
    load_bundle,
)
from guardrail.adapters.rego_meta import RuleMeta, parse_metadata, statement_lines, test_rules
from guardrail.core.findings import FileCoverage, Location, TestOutcome, coverage_percent
from guardrail.errors import ConfigError, EngineError, PolicyError


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

    @property
    def total_coverage(self) -> float:
        return coverage_percent(self.coverage)

    @property
    def failed(self) -> list[TestOutcome]:
        return [o for o in self.outcomes if o.status != "pass"]

    @property
    def coverage_too_low(self) -> bool:
        return self.fail_under is not None and self.total_coverage < self.fail_under

    @property
    def ok(self) -> bool:
        return not self.failed and not self.coverage_too_low


def check_policies(policies_dir: Path) -> CheckReport:
    """Compile everything (tests included); report every error as `path:line:col: message`."""
    bundle = load_bundle(policies_dir, include_tests=True)
    errors = [str(e) for e in compile_errors(bundle)]
    return CheckReport(directory=str(policies_dir), modules=len(bundle.modules), errors=errors)


def run_policy_tests(
    policies_dir: Path,
    *,
    run: str | None = None,
    coverage: bool = False,
    fail_under: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> TestReport:
    """Discover `test_*` rules in `*_test.rego` files and evaluate each, like `opa test`.

    Each test is its own query to the worker, so a runaway test is named and killed without losing the others'
    results. Coverage counts policy files only: test files cover themselves trivially.
    """
    try:
        pattern = re.compile(run) if run else None
    except re.error as exc:
        raise ConfigError(f"--run is not a valid regular expression: {exc}") from None
    bundle = load_bundle(policies_dir, include_tests=True)
    errors = compile_errors(bundle)
    if errors:
        raise errors[0] if len(errors) == 1 else PolicyError("\n".join(str(e) for e in errors))
    worker = EngineWorker(bundle, timeout_s=timeout_s, coverage=coverage or fail_under is not None)
    outcomes: list[TestOutcome] = []
    try:
        for head in test_rules(worker.ast()):
            name = f"{head.package}.{head.name}"
            if pattern and not pattern.search(name):
                continue
            started = time.perf_counter()
            status, message = "pass", None
            try:
                value = worker.query(name)
                if value is UNDEFINED or value is False:
                    status, message = "fail", "undefined" if value is UNDEFINED else "false"
                elif value is not True:
                    status, message = "fail", f"returned {value!r}, expected true"
            except (EngineError, PolicyError) as exc:
                status, message = "error", exc.message
                if worker._conn is None:  # the worker was killed (timeout): later tests get a fresh one
                    worker = EngineWorker(bundle, timeout_s=timeout_s, coverage=worker.coverage)
            duration = (time.perf_counter() - started) * 1000
            prints = tuple(worker.take_prints())
            outcomes.append(
                TestOutcome(
                    name=head.name,
                    package=head.package,
                    location=Location(path=head.path, line=head.line, col=head.col),
                    status=status,
                    duration_ms=round(duration, 3),
                    message=message,
                    prints=prints,
                )
            )
        files = _coverage(worker.coverage_report(), statement_lines(worker.ast())) if worker.coverage else []
    finally:
        worker.close()
    return TestReport(
        directory=str(policies_dir),
        outcomes=outcomes,
        coverage=files,
        coverage_enabled=worker.coverage,
        fail_under=fail_under,
    )


def _coverage(report: dict[str, Any], statements: dict[str, set[int]]) -> list[FileCoverage]:
    out = []
    seen = {str(item.get("path", "")) for item in report.get("files", [])}
    for path, lines in statements.items():
        if path not in seen and not path.endswith("_test.rego"):
            out.append(FileCoverage(path=path, covered=0, not_covered=len(lines), uncovered_lines=tuple(sorted(lines))))
    for item in report.get("files", []):
        path = str(item.get("path", ""))
        if path.endswith("_test.rego"):
            continue
        covered, missed = item.get("covered", []), item.get("not_covered", [])
        out.append(
            FileCoverage(path=path, covered=len(covered), not_covered=len(missed), uncovered_lines=tuple(missed))
        )
    return sorted(out, key=lambda f: f.path)


def evaluate(
    query: str,
    *,
    policies_dir: Path | None,
    input_file: Path | None = None,
    data_files: Iterable[Path] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Any:
    """Evaluate one query; returns the value (UNDEFINED when the query has no result)."""
    if policies_dir is not None:
        bundle = load_bundle(policies_dir, include_tests=False, extra_data=data_files)
    else:
        bundle = PolicyBundle()
        add_data_files(bundle, data_files)
    input_value = load_yaml(input_file).data if input_file is not None else None
    with EngineWorker(bundle, timeout_s=timeout_s) as worker:
        return worker.query(query, input_value)


def rule_catalog(policies_dir: Path) -> list[RuleMeta]:
    """Annotated deny/warn rules: the control matrix's rows."""
    bundle = load_bundle(policies_dir, include_tests=False)
    return sorted(parse_metadata(bundle), key=lambda m: (m.id or "~", m.package, m.line))


def control_matrix(policies_dir: Path) -> str:
    """A markdown control matrix an auditor can read: rule, severity, controls, description, where."""
    rows = rule_catalog(policies_dir)
    lines = [
        "# Control matrix",
        "",
        f"Generated by `guardrail policy docs` from the METADATA of the rules in `{policies_dir}`.",
        "",
        "| Rule | Title | Severity | Controls | Description | Source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for meta in rows:
        cells = [
            meta.id or f"{meta.package.removeprefix('data.')}.{meta.rule}",
            meta.title or "",
            meta.severity or "",
            "<br>".join(meta.controls),
            (meta.description or "").replace("\n", " "),
            f"`{meta.path}:{meta.line}`",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    controls: dict[str, list[str]] = {}
    for meta in rows:
        for control in meta.controls:
            controls.setdefault(control, []).append(meta.id or meta.rule)
    lines += ["", "## By control", "", "| Control | Rules |", "| --- | --- |"]
    lines += [f"| {c} | {', '.join(sorted(set(r)))} |" for c, r in sorted(controls.items())]
    return "\n".join(lines) + "\n"
