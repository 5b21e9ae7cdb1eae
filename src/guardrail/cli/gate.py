"""`guardrail gate`: the CI gate on roster changes. Exit 0 allow, 1 deny, 2 bad input, 3 could not decide."""

from __future__ import annotations

from pathlib import Path

import typer

from guardrail.cli.common import FORMAT, OPA_URL, OUTPUT, POLICY_TIMEOUT, emit_report
from guardrail.errors import ConfigError, Failed
from guardrail.report.formats import Format


def gate(
    roster: Path = typer.Option(Path("roster.yaml"), "--roster", "-r", help="The roster file in this commit."),
    base_ref: str | None = typer.Option(
        None, "--base-ref", help="Git ref of the base roster (e.g. origin/main); the same path at that ref."
    ),
    base: Path | None = typer.Option(None, "--base", help="The base roster as a file (instead of --base-ref)."),
    evidence: Path | None = typer.Option(None, "--evidence", help="Evidence folder (default: evidence/)."),
    policies: Path | None = typer.Option(
        None, "--policies", "-p", help="Policy directory (default: policies/ of the roster's project)."
    ),
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    max_age_days: float = typer.Option(30.0, "--max-age-days", min=0, help="Oldest evidence accepted, in days."),
    now: str | None = typer.Option(
        None, "--now", help="Decide as of this RFC3339 time (replaying an old decision); default: now."
    ),
    opa_url: str | None = OPA_URL,
    timeout: float = POLICY_TIMEOUT,
) -> None:
    """Diff the roster against its base and let the gate policy decide whether the change may merge.

    A model switch needs passing, hash-bound evidence (`guardrail run` writes it); a new high-risk tool, a removed
    human checkpoint or a newly autonomous agent needs an approval record; any roster `deny` blocks.
    """
    from datetime import UTC, datetime

    from guardrail.app.gate import run_gate
    from guardrail.app.gate_report import GATE_RENDERERS
    from guardrail.project import Project

    moment = None
    if now is not None:
        try:
            moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{now!r} is not an RFC3339 time", field="--now") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    report = run_gate(
        roster,
        policies_dir=policies if policies is not None else Project.find(roster).policies,
        base_path=base,
        base_ref=base_ref,
        evidence_dir=evidence,
        max_age_days=max_age_days,
        now=moment,
        timeout_s=timeout,
        opa_url=opa_url,
    )
    emit_report(GATE_RENDERERS, fmt, report, output)
    if not report.passed:
        raise Failed("")


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)
