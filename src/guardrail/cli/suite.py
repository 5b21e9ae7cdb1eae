"""`guardrail suite ...`: build replay suites."""

from __future__ import annotations

from pathlib import Path

import typer

from guardrail.cli.common import policies_dir

suite_app = typer.Typer(help="Build replay suites.", no_args_is_help=True)


@suite_app.command("from-traces")
def from_traces(
    traces: list[Path] = typer.Argument(..., help="Trace files or folders (the formats `guardrail audit` reads)."),
    agent: str = typer.Option(..., "--agent", help="The roster agent whose recorded tasks become the suite."),
    out: Path = typer.Option(..., "--out", help="The new suite folder, e.g. suites/<name>."),
    roster: Path = typer.Option(Path("roster.yaml"), "--roster", "-r", help="The roster the agent is on."),
    policies: Path | None = typer.Option(None, "--policies", "-p", help="Policy directory (catalog, aliases)."),
    default_agent: str | None = typer.Option(
        None, "--default-agent", help="Roster agent for records that name none (Claude Code's main agent)."
    ),
) -> None:
    """One task per recorded trace of AGENT: its messages, the tools it offered, the approvals, and each call's
    recorded result matched by tool and arguments; personal data redacted. Exit 2 when nothing is replayable."""
    from guardrail.app.audit_suite import suite_from_traces

    made = suite_from_traces(
        traces, agent=agent, out=out, roster=roster, policies=policies_dir(policies), default_agent=default_agent
    )
    typer.echo(
        f"wrote {made.tasks} task(s) with {made.recorded_results} recorded result(s) to {made.folder} "
        f"({made.traces} trace(s) of {agent}; {made.skipped_no_messages} skipped: no recorded input messages)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(suite_app, name="suite")
