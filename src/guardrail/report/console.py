"""The console view of a comparison: a ranked rich table with intervals, the verdicts and the recommendation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardrail.core.llm import model_label
from guardrail.report import explain
from guardrail.report.format import ci

if TYPE_CHECKING:
    from rich.console import Console

    from guardrail.core.run_report import ReportOutcome


def console_for_output() -> Console:
    """A console as wide as the terminal, or 200 columns when piped (CI logs should not wrap the table)."""
    from rich.console import Console

    probe = Console()
    return Console(soft_wrap=True, width=None if probe.is_terminal else 200)


def render_console(outcome: ReportOutcome, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    summary = outcome.summary
    gate, rec, prov = summary.gate, summary.recommendation, summary.provenance
    table = Table(title=f"{prov.eval_name} · {prov.agent} · run {prov.run_id} (95% intervals)", title_justify="left")
    for header, justify in (
        ("#", "right"),
        ("candidate", "left"),
        ("verdict", "left"),
        ("accuracy", "right"),
        ("Δ vs baseline", "right"),
        ("$ / 1k tasks", "right"),
        ("p95 s", "right"),
        ("errors", "right"),
        ("violation rate", "right"),
        ("flip rate", "right"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for rank, s in enumerate(summary.ranked(), start=1):
        verdict = gate.verdict(s.candidate)
        comp = summary.comparison_of(s.candidate)
        passed = bool(verdict and verdict.passed)
        if s.candidate == summary.baseline:
            delta = "baseline"
        elif comp is None or comp.diff is None:
            delta = "–"
        else:
            ni = verdict.noninferior if verdict else None
            delta = ci(comp.diff, 3) + ("" if ni is None else (" NI" if ni else " not NI"))
        worst = s.worst_bias()
        table.add_row(
            str(rank),
            escape(model_label(s.candidate, s.simulated, short=True)),
            "[green]PASS[/]" if passed else "[red]FAIL[/]",
            ci(s.accuracy),
            delta,
            ci(s.cost_per_task, 2, scale=1000),
            ci(s.latency_p95, 2),
            f"{s.errors}/{s.rows}",
            ci(s.violation_rate, 2),
            ci(worst.flip_rate, 2) if worst else "–",
        )
    console.print(table)
    console.print(
        f"\\[lower, upper]: 95% intervals. Δ: pass rate minus the baseline's on the same tasks, errors as failures. "
        f"{explain.noninferiority(summary)} Every statistic is explained in report.html.",
        highlight=False,
    )
    if summary.judge:  # optional LLM-judge metrics, one line per candidate below the table
        console.print("LLM judge (mean score [95% CI] · pass rate; reported, not gated):", highlight=False)
        for s in summary.ranked():
            parts = [
                f"{j.metric} {ci(j.mean, 2)} · {ci(j.pass_rate, 2)}"
                + (f" ({j.unjudged} unjudged)" if j.unjudged else "")
                for j in summary.judge_of(s.candidate)
            ]
            if parts:
                console.print(f"  {escape(s.candidate)}: {escape('; '.join(parts))}", highlight=False)
    for v in gate.verdicts:
        if not v.passed:
            reasons = "; ".join(r.msg for r in v.reasons)
            console.print(f"[red]✗[/] {escape(v.candidate)}: {escape(reasons)}", highlight=False)
    target = gate.proposed or "any candidate"
    colour = "green" if gate.allow else "red"
    console.print(f"[{colour}]gate: {'ALLOW' if gate.allow else 'DENY'}[/] for {escape(target)}", highlight=False)
    console.print(f"recommendation: {escape(rec.message)}", highlight=False)
    for warning in explain.warnings(summary):
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    report = outcome.files.get("html")
    if report is not None:
        console.print(f"report: {escape(str(report))}", highlight=False)
    if summary.tracking:
        t = summary.tracking
        console.print(
            f"mlflow: {t.tracking_uri} · experiment {t.experiment_name} · parent run {t.parent_run_id}",
            highlight=False,
        )


__all__ = ["console_for_output", "render_console"]
