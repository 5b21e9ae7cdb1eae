"""`guardrail run EVAL`: replay an eval on its candidates and print per-candidate counts.

The body stays small on purpose: run, show, then the report/gate step and the error budget decide the exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from guardrail.cli.common import OPA_URL, terminate_as_interrupt
from guardrail.cli.report import (
    NO_TRACK,
    TRACKING_URI,
    fail_if_denied,
    prefetch_reporting,
    report_and_show,
    start_tracking,
)
from guardrail.core.llm import model_label
from guardrail.errors import ConfigError

if TYPE_CHECKING:
    from guardrail.app.run_eval import RunOutcome


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ConfigError("expected a comma-separated list of candidate ids", field="--candidates")
    return items


def show_counts(outcome: RunOutcome) -> None:
    """A per-candidate counts table on stdout; simulated candidates are labelled so."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"run {outcome.manifest.run_id} · {outcome.manifest.eval_name}")
    for header in ("candidate", "tasks", "passed", "failed", "errors", "violations", "calls", "cache hits", "cost $"):
        table.add_column(header, justify="left" if header == "candidate" else "right")
    table.add_column("p50 s", justify="right")
    table.add_column("p95 s", justify="right")
    for spec in outcome.manifest.candidates:
        c = outcome.counts.of(spec.id)
        table.add_row(
            model_label(spec.id, spec.simulated or c.simulated),
            *(str(n) for n in (c.tasks, c.passed, c.failed, c.errors, c.violations, c.model_calls, c.cache_hits)),
            f"{c.cost_usd:.4f}",
            "-" if c.latency_p50_s is None else f"{c.latency_p50_s:.2f}",
            "-" if c.latency_p95_s is None else f"{c.latency_p95_s:.2f}",
        )
    # piped or captured output gets full-width rows rather than truncated names (rich assumes 80 columns)
    console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    console.print(table)
    console.print(f"results: {outcome.run_dir}")


def run(
    eval_path: Path = typer.Argument(..., metavar="EVAL", help="The eval spec, e.g. evals/support-triage.yaml."),
    candidates: str | None = typer.Option(None, "--candidates", help="Only these candidates (comma-separated)."),
    concurrency: int | None = typer.Option(None, "--concurrency", min=1, max=1024, help="Tasks in flight."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        max=64,
        help="Replay processes sharing the concurrency (default: as many as pay for themselves, at most one per core; "
        "Linux only; 1 keeps the run in one process).",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ask the models again; ignore cached responses."),
    resume: str | None = typer.Option(
        None, "--resume", metavar="RUN_ID", help="Finish an interrupted run: its folder name under the reports folder."
    ),
    out: Path | None = typer.Option(None, "--out", metavar="DIR", help="Reports folder (default: reports/)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    no_track: bool = NO_TRACK,
    tracking_uri: str | None = TRACKING_URI,
    opa_url: str | None = OPA_URL,
) -> None:
    """Replay the eval's suites on every candidate model, score them and write reports/<run-id>/."""
    from guardrail.app.run_eval import RunOptions, check_error_budget, run_eval

    start_tracking(not no_track)
    options = RunOptions(
        candidates=_split(candidates),
        concurrency=concurrency,
        no_cache=no_cache,
        resume=resume,
        out=out,
        quiet=quiet,
        workers=workers,
        keep_lock=True,  # the reports below are written into the run folder too
        opa_url=opa_url,
    )
    with terminate_as_interrupt():  # `kill PID` ends the run as Ctrl-C does: marked interrupted, resumable
        outcome = run_eval(
            eval_path, options, on_replay=lambda: prefetch_reporting(not no_track, tracking_uri, eval_path)
        )
        try:
            show_counts(outcome)
            project = outcome.loaded.project if outcome.loaded is not None else None
            report = report_and_show(
                outcome.run_dir, track=not no_track, tracking_uri=tracking_uri, project=project, opa_url=opa_url
            )
        finally:
            outcome.release()
    check_error_budget(outcome)
    fail_if_denied(report)


def register(app: typer.Typer) -> None:
    app.command("run")(run)


__all__ = ["register", "run", "show_counts"]
