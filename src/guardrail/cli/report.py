"""`guardrail report RUN_ID`: rebuild a run's statistics, gate decision, reports and MLflow runs from its files.

No model is called and litellm is never imported: everything comes from reports/<run-id>/ and the project's
policies. `guardrail run` calls the same helpers after its replay, so both commands print and decide alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from guardrail.cli.common import OPA_URL
from guardrail.errors import Failed

if TYPE_CHECKING:
    from guardrail.core.run_report import ReportOutcome
    from guardrail.project import Project

NO_TRACK = typer.Option(False, "--no-track", help="Do not log to MLflow.")
TRACKING_URI = typer.Option(
    None,
    "--tracking-uri",
    metavar="URI",
    help="MLflow tracking server (default: a sqlite store under .guardrail/ in the project).",
)


def report_and_show(
    run_dir: Path,
    *,
    track: bool,
    tracking_uri: str | None,
    project: Project | None = None,
    opa_url: str | None = None,
) -> ReportOutcome:
    """Build every report for a run folder and print the ranked table. `project` is the eval spec's (default:
    the one the run folder is in, else the working directory's); `opa_url`: the gate policy on that OPA server."""
    from guardrail.app.report import build_reports
    from guardrail.report.console import console_for_output, render_console

    outcome = build_reports(run_dir, track=track, tracking_uri=tracking_uri, project=project, opa_url=opa_url)
    console = console_for_output()
    render_console(outcome, console)
    in_run = outcome.run_dir / "evidence"
    committed = [p for p in outcome.evidence if p.parent != in_run]  # the copies meant to be committed
    if committed:
        console.print(f"evidence: {len(committed)} record(s) in {committed[0].parent} (commit them with the roster)")
    elif outcome.evidence:
        console.print(
            f"evidence: {len(outcome.evidence)} record(s) in {in_run} (a run outside the project's reports folder; "
            "copy them to evidence/ to back a roster change)",
            highlight=False,
            soft_wrap=True,
        )
    return outcome


def start_tracking(track: bool) -> None:
    """Start MLflow's logging process as the command starts: its import of mlflow overlaps everything after."""
    if track:
        from guardrail.adapters.mlflow_process import start

        start()


def prefetch_reporting(track: bool, tracking_uri: str | None, near: Path) -> None:
    """Once a replay has started: MLflow's logging process, and the statistics' imports in a thread (numpy and
    scipy, ~0.3 s that the report step would otherwise add after the replay; the replay mostly waits on its
    providers, or runs in worker processes, meanwhile)."""
    from guardrail.app.report import prefetch_statistics

    prefetch_statistics()
    prefetch_tracking(track, tracking_uri, near)


def prefetch_tracking(track: bool, tracking_uri: str | None, near: Path) -> None:
    """Start MLflow's logging process now (the project's local store by default, created if new), so its import
    and the store's opening overlap the replay or the statistics and logging adds little after them."""
    if track:
        from guardrail.adapters.mlflow_store import prefetch
        from guardrail.project import Project

        prefetch(tracking_uri or Project.find(near).mlflow_uri, create=tracking_uri is None)


def fail_if_denied(outcome: ReportOutcome) -> None:
    """Exit 1 when the gate denies the proposed candidate (or, with no proposal, every candidate)."""
    gate = outcome.summary.gate
    ran = {s.candidate for s in outcome.summary.candidates}
    if not gate.allow and gate.proposed and gate.proposed not in ran:
        raise Failed(
            f"the eval gate cannot judge the proposal: the proposed model {gate.proposed} was not among this run's "
            f"candidates ({', '.join(sorted(ran))}), so there is no verdict for it to allow",
            hint=f"run again with {gate.proposed} in --candidates (or without --candidates)",
        )
    if not gate.allow:
        what = f"the proposed candidate {gate.proposed}" if gate.proposed else "every candidate"
        raise Failed(f"the eval gate denied {what} (see {outcome.files.get('html', outcome.run_dir)})")


def report(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="A run id under the reports folder, or a run folder."),
    reports: Path | None = typer.Option(None, "--reports", metavar="DIR", help="Reports folder (default: reports/)."),
    no_track: bool = NO_TRACK,
    tracking_uri: str | None = TRACKING_URI,
    opa_url: str | None = OPA_URL,
) -> None:
    """Recompute a stored run's statistics, gate decision and reports (HTML, Markdown, CSV, summary.json)."""
    from guardrail.app.report import find_run
    from guardrail.app.run_folder import lock_for_report

    start_tracking(not no_track)
    run_dir = find_run(run_id, reports)
    with lock_for_report(run_dir):  # never while a run or resume still writes the folder
        prefetch_tracking(not no_track, tracking_uri, run_dir)
        outcome = report_and_show(run_dir, track=not no_track, tracking_uri=tracking_uri, opa_url=opa_url)
    fail_if_denied(outcome)


def register(app: typer.Typer) -> None:
    app.command("report")(report)


__all__ = [
    "NO_TRACK",
    "TRACKING_URI",
    "fail_if_denied",
    "prefetch_reporting",
    "prefetch_tracking",
    "register",
    "report",
    "report_and_show",
    "start_tracking",
]
