"""`guardrail plan EVAL`: how many tasks the eval needs to show non-inferiority at its margin (app/plan.py)."""

from __future__ import annotations

from pathlib import Path

import typer


def plan(
    eval_path: Path = typer.Argument(..., metavar="EVAL", help="The eval spec, e.g. evals/support-triage.yaml."),
    run: str | None = typer.Option(
        None, "--run", metavar="RUN_ID", help="Read the agreement from this run (default: the eval's newest run)."
    ),
    agreement: float | None = typer.Option(
        None, "--agreement", min=0.0, max=1.0, help="Assume this share of tasks on which candidate and baseline agree."
    ),
    difference: float = typer.Option(
        0.0, "--difference", min=-1.0, max=1.0, help="Assume the candidate's pass rate differs by this much."
    ),
    power: float = typer.Option(0.8, "--power", min=0.5, max=0.99, help="Chance to show non-inferiority."),
) -> None:
    """Tasks needed to show non-inferiority at the spec's margin, given the observed (or assumed) agreement."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from guardrail.app.plan import plan_eval

    result = plan_eval(eval_path, run_id=run, agreement=agreement, difference=difference, power=power)
    console = Console(soft_wrap=True, width=None if Console().is_terminal else 200)
    family = (
        f"; {result.family} candidates, so Holm's worst case: one-sided alpha {0.025 / result.family:.4f}"
        if result.family > 1
        else ""
    )
    title = (
        f"{result.eval_name}: tasks for a {result.power:.0%} chance to show non-inferiority at the {result.margin:g} "
        f"margin, if the candidate's pass rate differs by {result.difference:+g}{family}"
    )
    table = Table(title=escape(title), title_justify="left")
    for header in ("candidate", "agreement", "from", "design effect", "task results needed", "tasks needed", "enough"):
        table.add_column(header, justify="left" if header in ("candidate", "from") else "right")
    for line in result.lines:
        table.add_row(
            escape(line.candidate),
            f"{line.agreement:.1%}",
            escape(line.source),
            f"{line.design_effect:.2f}",
            "unreachable" if line.pairs_needed is None else str(line.pairs_needed),
            "unreachable" if line.tasks_needed is None else str(line.tasks_needed),
            "yes" if result.enough(line) else "no",
        )
    console.print(table)
    have = f"the suites hold {result.tasks} tasks x {result.repeats} repeat(s)"
    deciding = result.deciding
    whom = f"the proposed candidate {result.proposed}" if deciding[0].candidate == result.proposed else "every line"
    if all(result.enough(line) for line in deciding):
        console.print(f"enough for {whom}: {have}", highlight=False)
    elif any(line.tasks_needed is None for line in deciding):
        console.print(
            f"unreachable: a candidate that differs by {result.difference:+g} cannot be shown within the "
            f"{result.margin:g} margin at any size",
            highlight=False,
        )
    else:
        needed = max(line.tasks_needed or 0 for line in deciding)
        console.print(f"too small for {whom}: {have}; {needed} tasks are needed", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)


__all__ = ["plan", "register"]
