"""`guardrail roster import claude-code DIR`: Claude Code subagents as a roster.yaml (joins the `roster` group)."""

from __future__ import annotations

from pathlib import Path

import typer

from guardrail.cli.common import OUTPUT, choice, emit

SOURCES = ("claude-code",)


def register(app: typer.Typer) -> None:
    from guardrail.cli.roster import roster_app

    @roster_app.command("import")
    def import_roster(
        source: str = typer.Argument(..., help="Where the agents are defined: claude-code."),
        directory: Path = typer.Argument(..., help="A .claude/agents folder, or a project holding one."),
        output: Path | None = OUTPUT,
        overlay: Path | None = typer.Option(
            None, "--overlay", help="Governance fields for the subagents (default: the project's roster.yaml)."
        ),
    ) -> None:
        """Write the subagents as one roster; warn about the governance fields they leave unsaid (exit 0)."""
        from guardrail.app.roster_import import import_claude_code

        choice(source, SOURCES, "SOURCE")
        text, findings = import_claude_code(directory, overlay)
        emit(text, output)
        for finding in findings:
            typer.echo(f"warning: {finding.location}: {finding.msg}", err=True)
        if output is not None:
            typer.echo(f"wrote {output} ({len(findings)} warning(s))", err=True)
