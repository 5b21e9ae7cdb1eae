"""`guardrail init [DIR]`: start a project that passes its checks and runs offline before the first edit."""

from __future__ import annotations

from pathlib import Path

import typer


def init(
    directory: Path = typer.Argument(Path("."), help="Where to create the project (created if missing)."),
) -> None:
    """Write a starting project: a roster, the governance catalog and the bundled policies with their tests, one
    replay suite and one eval spec on simulated models. Never overwrites a file (exit 2 naming them)."""
    from guardrail.app.scaffold import init_project

    made = init_project(directory)
    where = "this folder" if directory.resolve() == Path.cwd().resolve() else str(directory)
    typer.echo(
        f"created a guardrail project in {where}: roster.yaml, policies/ ({made.count('policies')} files: the "
        "roster, action, gate and audit policies with their tests, the tool catalog, approved models), "
        "suites/copywriting/ (80 tasks), evals/copywriting.yaml"
    )
    steps = [] if where == "this folder" else [f"cd {directory}"]
    steps += [
        "guardrail policy test                     # the policies' own tests",
        "guardrail roster check roster.yaml        # which agent breaks which rule",
        "guardrail run evals/copywriting.yaml      # replay the suite on simulated models, offline",
    ]
    typer.echo("next:\n" + "\n".join(f"  {step}" for step in steps))


def register(app: typer.Typer) -> None:
    app.command("init")(init)
