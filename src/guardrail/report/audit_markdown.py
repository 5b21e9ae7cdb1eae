"""audit.md: an audit's verdict, findings and scorecard as Markdown (tickets, pull requests, step summaries)."""

from __future__ import annotations

from guardrail.core.audit import AgentCard, AuditReport, OfficeCard
from guardrail.report.format import ci, num

MAX_ROWS = 200  # findings shown in the Markdown; audit.json lists every one


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _worst_day(card: AgentCard | OfficeCard) -> str:
    if not card.days:
        return "–"
    worst = max(card.days, key=lambda d: d.cost_usd)
    over = card.budget_usd_per_day is not None and worst.cost_usd > card.budget_usd_per_day
    return f"${worst.cost_usd:.2f} on {worst.day}" + (" ❌ over budget" if over else "")


def render_audit_markdown(report: AuditReport) -> str:
    card = report.scorecard
    verdict = "✅ passed" if report.passed else "❌ failed"
    lines = [
        f"# guardrail audit {report.id}: {verdict}",
        "",
        f"{card.events} events ({card.tool_calls} tool calls, {card.model_calls} model calls) from "
        f"{len(report.inputs)} file(s); roster `{report.roster}`; policies `{report.policies}` "
        f"(`{report.policy_hash[:12]}`); engine {report.engine}.",
        "",
        f"**{report.blocking} blocking finding(s)**, "
        f"{sum(f.kind == 'warn' and f.waiver is None for f in report.findings)} warning(s), "
        f"{sum(f.waiver is not None for f in report.findings)} waived.",
        "",
        "## Findings",
        "",
    ]
    if report.findings:
        lines += ["| Rule | Severity | Agent | Finding | Trace | Span | Where |", "|---|---|---|---|---|---|---|"]
        for f in report.findings[:MAX_ROWS]:
            label = f"{f.rule} (waived)" if f.waiver is not None else f.rule
            row = [label, f.severity, f.agent or "", f.msg, f.trace_id or "", f.span_id or "", str(f.location or "")]
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
        if len(report.findings) > MAX_ROWS:
            lines.append(f"\n{len(report.findings) - MAX_ROWS} more in audit.json.")
    else:
        lines.append("No findings.")
    for label, count in sorted(report.not_listed.items()):
        lines.append(f"\n{count} more finding(s) for {label} were counted but not listed.")
    lines += [
        "",
        "## Scorecard per agent",
        "",
        "| Agent | Office | Tool calls | Model calls | Violation rate [95% CI] | Error rate [95% CI] "
        "| Tools used / granted | Models seen | Cost | Worst day vs budget |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in card.agents:
        used = sum(1 for t in a.tools_granted if t in a.tools_used)
        tools = f"{used}/{len(a.tools_granted)}" + (f" (unused: {', '.join(a.tools_unused)})" if a.tools_unused else "")
        if not a.on_roster:
            tools = "not on the roster"
        budget = f" / ${a.budget_usd_per_day:.2f}" if a.budget_usd_per_day is not None else ""
        cells: list[object] = [
            a.agent,
            a.office or "–",
            a.tool_calls,
            a.model_calls,
            ci(a.violation_rate),
            ci(a.error_rate),
            tools,
            ", ".join(f"{m} ({n})" for m, n in a.models.items()) or "–",
            f"${a.cost_usd:.2f}",
            _worst_day(a) + budget,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "## Violations by rule",
        "",
        "| Agent | Rule | Calls | Rate [95% CI] |",
        "|---|---|---|---|",
    ]
    for a in card.agents:
        for r in a.violations:
            lines.append(f"| {_cell(a.agent)} | {r.rule} | {r.calls} | {ci(r.rate)} |")
    lines += [
        "",
        "## Scorecard per office",
        "",
        "| Office | Agents | Tool calls | Model calls | Violation rate [95% CI] | Error rate [95% CI] | Cost "
        "| Worst day |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in card.offices:
        cells = [
            o.office,
            ", ".join(o.agents),
            o.tool_calls,
            o.model_calls,
            ci(o.violation_rate),
            ci(o.error_rate),
            f"${o.cost_usd:.2f}",
            _worst_day(o),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "## Cost per day", "", "| Agent | " + " | ".join(card.days) + " | Budget |"]
    lines.append("|---|" + "---|" * (len(card.days) + 1))
    for a in card.agents:
        by_day = {d.day: d.cost_usd for d in a.days}
        cells = [a.agent, *(num(by_day.get(d), 2) if d in by_day else "–" for d in card.days)]
        cells.append(f"{a.budget_usd_per_day:.2f}" if a.budget_usd_per_day is not None else "–")
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "Rates are shares of the agent's executed tool calls (errors: of all its calls) with Clopper-Pearson 95% "
        "intervals. Costs are what the traces recorded, else tokens at list price.",
    ]
    if report.tracking:
        lines.append(f"\nMLflow: run `{report.tracking.get('run_id')}` in `{report.tracking.get('experiment')}`.")
    return "\n".join(lines) + "\n"


__all__ = ["render_audit_markdown"]
