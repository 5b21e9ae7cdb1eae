"""`guardrail audit`: the same policies over what agents did in production (traces, events, decision logs)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from guardrail.cli.common import (
    FORMAT,
    OPA_URL,
    OUTPUT,
    POLICY_TIMEOUT,
    choice,
    emit_report,
    policies_dir,
    project_of,
)
from guardrail.errors import ConfigError, Failed
from guardrail.report.formats import Format

ENGINES = ("local", "ray")
_RELATIVE = re.compile(r"^(\d+)([hd])$")


def parse_time(value: str | None, option: str, *, now: datetime | None = None) -> datetime | None:
    """RFC 3339 / ISO 8601 (a date is its UTC midnight; naive times are UTC) or `24h` / `7d` before now."""
    if value is None:
        return None
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - (timedelta(hours=amount) if unit == "h" else timedelta(days=amount))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(
            f"{value!r} is not a time (2026-11-29, 2026-11-29T06:00:00Z, 24h or 7d)", field=option
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def audit(
    traces: list[Path] = typer.Argument(
        ..., help="Trace files or folders (OTLP/JSON, Claude Code events, decision logs; .gz too)."
    ),
    roster: Path = typer.Option(Path("roster.yaml"), "--roster", "-r", help="The roster the agents must follow."),
    policies: Path | None = typer.Option(
        None, "--policies", "-p", help="Policy directory (default: policies/ of the roster's project)."
    ),
    since: str | None = typer.Option(None, "--since", help="Only calls at or after this time (2026-11-29, 24h, 7d)."),
    until: str | None = typer.Option(None, "--until", help="Only calls before this time."),
    agent: str | None = typer.Option(
        None, "--agent", help="Roster agent for records that name none (Claude Code's main agent)."
    ),
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    out: Path | None = typer.Option(None, "--out", help="Report folder (default: reports/<audit-id>/)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log the audit to MLflow."),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI (default: the project's store)."
    ),
    engine: str = typer.Option("local", "--engine", help="local (embedded, streaming) | ray (Ray Data tasks)."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="A Ray cluster to run on (default: a local Ray for this call)."
    ),
    today: str | None = typer.Option(None, "--today", help="Date for waiver expiry (YYYY-MM-DD; default today)."),
    timeout: float = POLICY_TIMEOUT,
    opa_url: str | None = OPA_URL,
) -> None:
    """Audit production traces: the action policy on every recorded call, the audit rules on each agent's window,
    a scorecard per agent and office. Exit 1 on a blocking finding, 2 on bad input (file and line named)."""
    from guardrail.app.audit import AuditOptions, run_audit
    from guardrail.app.audit_output import renderers, write_reports

    choice(engine, ENGINES, "--engine")
    try:
        on = date.fromisoformat(today) if today else None
    except ValueError:
        raise ConfigError(f"{today!r} is not a date (YYYY-MM-DD)", field="--today") from None
    report = run_audit(
        AuditOptions(
            traces=traces,
            roster=roster,
            policies=policies_dir(policies, near=roster),
            since=parse_time(since, "--since"),
            until=parse_time(until, "--until"),
            default_agent=agent,
            engine=engine,  # type: ignore[arg-type]
            ray_address=ray_address,
            timeout_s=timeout,
            today=on,
            opa_url=opa_url,
        )
    )
    project = project_of(roster)
    folder = out if out is not None else project.reports / report.id
    write_reports(
        report,
        folder,
        tracking_uri=None if no_track else tracking_uri or project.mlflow_uri,
        artifact_root=project.mlflow_artifacts,
    )
    emit_report(renderers(folder), fmt, report, output)
    if not report.passed:
        raise Failed("")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
