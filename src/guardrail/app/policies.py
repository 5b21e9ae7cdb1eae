"""Use-cases for policy authors: check that policies compile, run their unit tests, evaluate a query, write docs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from guardrail.adapters.loading import load_yaml
from guardrail.adapters.rego import (
    DEFAULT_TIMEOUT_S,
    UNDEFINED,
    PolicyBundle,
    add_data_files,
    compile_errors,
    load_bundle,
    load_paths,
)
from guardrail.adapters.rego_meta import parse_metadata, statement_lines, test_rules
from guardrail.adapters.rego_worker import DEFAULT_MEMORY_MB, EngineWorker, run_limited
from guardrail.app.engine import open_engine
from guardrail.core.findings import FileCoverage, Location, TestOutcome
from guardrail.core.policy_tests import CheckReport, TestReport
from guardrail.errors import ConfigError, EngineError, PolicyError
from guardrail.project import Project


def check_policies(
    paths: Path | list[Path], *, timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB
) -> CheckReport:
    """Compile everything (tests included) and run the static checks; every error as `path:line:col: message`.

    The engine's parser can be made to hang or crash by a hostile file, so this runs under the worker's limits.
    """
    paths = paths if isinstance(paths, list) else [paths]
    bundle = load_paths(paths, include_tests=True)
    errors = _compile_errors(bundle, timeout_s=timeout_s, memory_mb=memory_mb)
    return CheckReport(directory=_shown(paths), modules=len(bundle.modules), errors=[str(e) for e in errors])


def _compile_errors(bundle: PolicyBundle, *, timeout_s: float, memory_mb: int) -> list[PolicyError]:
    what = f"checking {len(bundle.modules)} policy module(s)"
    return list(run_limited(compile_errors, bundle, what=what, timeout_s=max(timeout_s, 30.0), memory_mb=memory_mb))


def _shown(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def run_policy_tests(
    paths: Path | list[Path],
    *,
    run: str | None = None,
    coverage: bool = False,
    fail_under: float | None = None,
    per_file: bool = False,
    data_files: Iterable[Path] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> TestReport:
    """Discover `test_*` rules in `*_test.rego` files and evaluate each, like `opa test PATH... -d DATA`.

    Each test is its own query to the worker, so a runaway test is named and killed without losing the others'
    results. Coverage counts policy files only: test files cover themselves trivially.
    """
    try:
        pattern = re.compile(run) if run else None
    except re.error as exc:
        raise ConfigError(f"--run is not a valid regular expression: {exc}") from None
    paths = paths if isinstance(paths, list) else [paths]
    bundle = load_paths(paths, include_tests=True, extra_data=data_files)
    errors = _compile_errors(bundle, timeout_s=timeout_s, memory_mb=memory_mb)
    if errors:
        raise errors[0] if len(errors) == 1 else PolicyError("\n".join(str(e) for e in errors))
    limits = {"timeout_s": timeout_s, "memory_mb": memory_mb, "strict": False}  # checked just above
    worker = EngineWorker(bundle, coverage=coverage or fail_under is not None, **limits)  # type: ignore[arg-type]
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
                if worker._conn is None:  # the worker was killed (a limit): later tests get a fresh one
                    worker = EngineWorker(bundle, coverage=worker.coverage, **limits)  # type: ignore[arg-type]
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
        directory=_shown(paths),
        outcomes=outcomes,
        coverage=files,
        coverage_enabled=worker.coverage,
        fail_under=fail_under,
        per_file=per_file,
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
    memory_mb: int = DEFAULT_MEMORY_MB,
    opa_url: str | None = None,
) -> Any:
    """Evaluate one query; returns the value (UNDEFINED when the query has no result)."""
    if policies_dir is not None:
        bundle = load_bundle(policies_dir, include_tests=False, extra_data=data_files)
    else:
        bundle = PolicyBundle()
        add_data_files(bundle, data_files)
    input_value = load_yaml(input_file).data if input_file is not None else None
    engine = open_engine(bundle, timeout_s=timeout_s, memory_mb=memory_mb, opa_url=opa_url)
    try:
        return engine.query(query, input_value)
    finally:
        engine.close()


def control_matrix(policies_dir: Path) -> str:
    """A markdown control matrix an auditor can read: rule, severity, controls, description, where.

    Paths are relative to the project, never this machine's absolute ones: the matrix is committed and read
    elsewhere."""
    project = Project.find(policies_dir)
    bundle = load_bundle(policies_dir, include_tests=False, display_root=project.root)
    rows = sorted(parse_metadata(bundle), key=lambda m: (m.id or "~", m.package, m.line))
    lines = [
        "# Control matrix",
        "",
        f"Generated by `guardrail policy docs` from the METADATA of the rules in `{project.display(policies_dir)}`.",
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
