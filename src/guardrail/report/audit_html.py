"""audit.html: one self-contained page (the run report's CSS, script and hand-drawn SVG) that works offline.

Charts over days per agent: spend against budget, tool calls, calls that broke a policy; and each agent's
violation rate with its 95% interval. The page's script writes the same render marker as the run report.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib import resources

from guardrail.core.audit import AgentCard, AuditReport
from guardrail.report.format import ci
from guardrail.report.html import PALETTE
from guardrail.report.html_charts import WIDTH, interval_chart

_LEFT, _TOP, _BOTTOM, _HEIGHT = 60, 16, 30, 240


def _asset(name: str) -> str:
    return resources.files("guardrail.report").joinpath("assets", name).read_text(encoding="utf-8")


def day_chart(days: Sequence[str], series: Sequence[tuple[str, str, dict[str, float]]], *, money: bool = False) -> str:
    """One polyline per series over the days (dots where a value exists); a legend under the plot."""
    legend_h = 18 * ((len(series) + 3) // 4)
    height = _HEIGHT + legend_h
    plot_w, plot_h = WIDTH - _LEFT - 50, _HEIGHT - _TOP - _BOTTOM  # room for the last day's label
    top_value = max([v for _, _, values in series for v in values.values()] + [1e-9]) * 1.1

    def x(i: int) -> float:
        return _LEFT + (plot_w * i / max(len(days) - 1, 1) if len(days) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / top_value)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for k in range(5):
        v = top_value * k / 4
        label = f"${v:.2f}" if money else (f"{v:.0f}" if top_value >= 8 else f"{v:.1f}")
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - 20}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text x="{_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{label}</text>'
        )
    for i, day in enumerate(days):
        parts.append(f'<text x="{x(i):.1f}" y="{_HEIGHT - 10}" text-anchor="middle">{escape(day)}</text>')
    for label, colour, values in series:
        points = [(x(i), y(values[d])) for i, d in enumerate(days) if d in values]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for px, py in points:
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"><title>{escape(label)}</title></circle>'
            )
    for n, (label, colour, _) in enumerate(series):
        lx, ly = _LEFT + (n % 4) * 165, _HEIGHT + 12 + 18 * (n // 4)
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _figure(chart_id: str, caption: str, svg: str) -> str:
    return f'<figure class="chart" id="{chart_id}">{svg}<figcaption class="note">{caption}</figcaption></figure>'


def _agent_rows(agents: Sequence[AgentCard]) -> str:
    rows = []
    for a in agents:
        worst = max(a.days, key=lambda d: d.cost_usd) if a.days else None
        over = worst is not None and a.budget_usd_per_day is not None and worst.cost_usd > a.budget_usd_per_day
        tools = (
            "not on the roster"
            if not a.on_roster
            else f"{len(a.tools_granted) - len(a.tools_unused)}/{len(a.tools_granted)}"
            + (f" (unused: {escape(', '.join(a.tools_unused))})" if a.tools_unused else "")
        )
        budget = f" / ${a.budget_usd_per_day:.2f}" if a.budget_usd_per_day is not None else ""
        day = f"${worst.cost_usd:.2f} on {worst.day}{budget}" if worst else "–"
        rows.append(
            f"<tr><td>{escape(a.agent)}</td><td class=text>{escape(a.office or '–')}</td><td>{a.tool_calls}</td>"
            f"<td>{a.model_calls}</td><td>{a.blocked_calls}</td><td>{ci(a.violation_rate)}</td><td>{ci(a.error_rate)}</td>"
            f"<td class=text>{tools}</td><td class=text>{escape(', '.join(a.models) or '–')}</td>"
            f"<td>${a.cost_usd:.2f}</td><td class='{'bad' if over else 'ok'}'>{day}</td></tr>"
        )
    return (
        '<table class="sortable"><thead><tr><th>Agent</th><th>Office</th><th>Tool calls</th><th>Model calls</th>'
        "<th>Blocked</th><th>Violation rate [95% CI]</th><th>Error rate [95% CI]</th><th>Tools used/granted</th>"
        "<th>Models seen</th><th>Cost</th><th>Worst day vs budget</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _findings(report: AuditReport, limit: int = 500) -> str:
    if not report.findings:
        return "<p>No findings.</p>"
    rows = []
    for f in report.findings[:limit]:
        mark = "waived" if f.waiver is not None else ("deny" if f.blocking else "warn")
        rows.append(
            f"<tr><td>{escape(f.rule)}</td><td class=text>{mark}</td><td class=text>{escape(f.severity)}</td>"
            f"<td class=text>{escape(f.agent or '')}</td><td class=text>{escape(f.msg)}</td>"
            f"<td class=text><code>{escape(f.trace_id or '')}</code></td>"
            f"<td class=text><code>{escape(f.span_id or '')}</code></td>"
            f"<td class=text>{escape(str(f.location or ''))}</td></tr>"
        )
    more = (
        f"<p class=note>{len(report.findings) - limit} more in audit.json.</p>" if len(report.findings) > limit else ""
    )
    return (
        '<table class="sortable"><thead><tr><th>Rule</th><th>Kind</th><th>Severity</th><th>Agent</th><th>Finding</th>'
        "<th>Trace</th><th>Span</th><th>Where</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + more
    )


def render_audit_html(report: AuditReport) -> str:
    card = report.scorecard
    colours = {a.agent: PALETTE[i % len(PALETTE)] for i, a in enumerate(card.agents)}
    spend = [(a.agent, colours[a.agent], {d.day: d.cost_usd for d in a.days}) for a in card.agents]
    calls = [(a.agent, colours[a.agent], {d.day: float(d.tool_calls) for d in a.days}) for a in card.agents]
    bad = [(a.agent, colours[a.agent], {d.day: float(d.violating_calls) for d in a.days}) for a in card.agents]
    rated = [(a.agent, False, a.violation_rate, colours[a.agent]) for a in card.agents if a.violation_rate is not None]
    top = max([i.upper for _, _, i, _ in rated if i is not None and i.upper is not None] + [0.05])
    over = [
        f"{escape(a.agent)} on {d.day}: ${d.cost_usd:.2f} of ${a.budget_usd_per_day:.2f}"
        for a in card.agents
        for d in a.days
        if a.budget_usd_per_day is not None and d.cost_usd > a.budget_usd_per_day
    ]
    verdict = "pass" if report.passed else "fail"
    sections = [
        f"<h1>Audit of production traces <span class='verdict {verdict}'>{verdict.upper()}</span></h1>",
        f"<p class=lead>{escape(report.id)} · {card.events} events from {len(report.inputs)} file(s) · roster "
        f"{escape(report.roster)} · engine {escape(report.engine)}</p>",
        f"<div class='callout {'allow' if report.passed else 'deny'}'><p><b>{report.blocking} blocking finding(s)</b>, "
        f"{sum(f.kind == 'warn' and f.waiver is None for f in report.findings)} warning(s).</p>"
        + (f"<p>Over budget: {'; '.join(over)}.</p>" if over else "")
        + "</div>",
        "<h2>Spend per day</h2>",
        _figure(
            "chart-spend",
            "Model spend per agent per UTC day: recorded cost, else tokens at list price.",
            day_chart(card.days, spend, money=True),
        ),
        "<h2>Tool calls per day</h2>",
        _figure("chart-calls", "Executed tool calls per agent per day.", day_chart(card.days, calls)),
        "<h2>Calls that broke a policy, per day</h2>",
        _figure(
            "chart-violations",
            "Executed tool calls the action policy refuses, per agent per day.",
            day_chart(card.days, bad),
        ),
        "<h2>Violation rate per agent</h2>",
        _figure(
            "chart-rates",
            "Share of the agent's executed tool calls with a violation; line: Clopper-Pearson 95% interval.",
            interval_chart(rated, lo=0.0, hi=min(1.0, top + 0.05))
            if rated
            else "<svg viewBox='0 0 10 10'><line x1='0' x2='10' y1='5' y2='5'/></svg>",
        ),
        "<h2>Scorecard per agent</h2>",
        _agent_rows(card.agents),
        "<h2>Findings</h2>",
        _findings(report),
        "<h2>Provenance</h2>",
        "<dl class=prov>"
        + "".join(
            f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>"
            for k, v in [
                ("inputs", ", ".join(report.inputs)),
                ("policies", f"{report.policies} (sha256 {report.policy_hash})"),
                ("guardrail", report.guardrail_version),
                ("created", report.created.isoformat()),
                *[(f"MLflow {k}", v) for k, v in report.tracking.items()],
            ]
        )
        + "</dl>",
        '<p id="render-status" data-ok="false">charts not checked (scripts disabled)</p>',
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>guardrail · {escape(report.id)}</title><style>{_asset('report.css')}</style></head><body><main>"
        + "\n".join(sections)
        + f"</main><script>{_asset('report.js')}</script></body></html>\n"
    )


__all__ = ["day_chart", "render_audit_html"]
