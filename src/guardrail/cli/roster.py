"""`guardrail roster ...`: which agent breaks which rule."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from guardrail.cli.common import FORMAT, OPA_URL, OUTPUT, POLICY_TIMEOUT, emit_report, policies_dir
from guardrail.errors import Failed
from guardrail.report.formats import Format

roster_app = typer.Typer(help="Check the agent roster against the roster policies.", no_args_is_help=True)


@roster_app.command("check")
def check(
    roster: Path = typer.Argument(Path("roster.yaml"), help="The roster file."),
    policies: Path | None = typer.Option(
        None, "--policies", "-p", help="Policy directory (default: policies/ of the roster's project)."
    ),
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    opa_url: str | None = OPA_URL,
    today: str | None = typer.Option(None, "--today", help="Date for waiver expiry (YYYY-MM-DD; default today)."),
    timeout: float = POLICY_TIMEOUT,
) -> None:
    """Evaluate the roster policies; `deny` findings fail (exit 1), `warn` findings are shown."""
    from guardrail.app.roster_check import check_roster
    from guardrail.core.findings import FindingsDoc
    from guardrail.errors import ConfigError
    from guardrail.report.findings import FINDINGS

    try:
        on = date.fromisoformat(today) if today else None
    except ValueError:
        raise ConfigError(f"{today!r} is not a date (YYYY-MM-DD)", field="--today") from None
    report = check_roster(roster, policies_dir(policies, near=roster), today=on, timeout_s=timeout, opa_url=opa_url)
    doc = FindingsDoc(
        title="roster check",
        subject=report.roster,
        passed=report.passed,
        findings=report.findings,
        rules=report.rules,
        subjects=report.agents,
    )
    emit_report(FINDINGS, fmt, doc, output)
    if not report.passed:
        raise Failed("")


@roster_app.command("schema")
def schema() -> None:
    """Print the roster's JSON Schema (for editors and CI)."""
    from guardrail.core.roster import roster_json_schema

    typer.echo(json.dumps(roster_json_schema(), indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(roster_app, name="roster")
