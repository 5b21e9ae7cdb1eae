"""report.html: one self-contained page (inline CSS, JS and hand-written SVG) that works offline.

No CDN, no chart library: every chart is SVG drawn here, so the file opens on an air-gapped laptop and an
auditor can archive it as is. The page's small script sorts tables and writes a render marker
(`#render-status[data-ok]`) that the headless-browser test reads. Simulated candidates are labelled everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from importlib import resources
from typing import Any

from guardrail.core.recommend import CandidateStats, Comparison
from guardrail.core.stats import Interval, ParityStats
from guardrail.core.summary import Summary
from guardrail.report.markdown import num

PALETTE = ("#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#cf222e", "#0550ae", "#6e7781")
WIDTH = 720
LABEL_W = 190


def _asset(name: str) -> str:
    return resources.files("guardrail.report").joinpath("assets", name).read_text(encoding="utf-8")


def _ci(i: Interval | None, digits: int = 3) -> str:
    if i is None:
        return "–"
    return f'{num(i.point, digits)} <span class="ci">[{num(i.lower, digits)}, {num(i.upper, digits)}]</span>'


def _label(name: str, simulated: bool) -> str:
    return escape(name) + (' <span class="badge">simulated</span>' if simulated else "")


def _svg_label(name: str, simulated: bool) -> str:
    return escape(name + (" (sim)" if simulated else ""))


def _bound(thresholds: dict[str, Any], name: str, side: str) -> float | None:
    value = thresholds.get(name)
    if isinstance(value, dict) and isinstance(value.get(side), int | float):
        return float(value[side])
    return None


def _figure(chart_id: str, caption: str, svg: str) -> str:
    return f'<figure class="chart" id="{chart_id}">{svg}<figcaption class="note">{caption}</figcaption></figure>'


# --- charts -----------------------------------------------------------------------------------------------


def interval_chart(
    items: Sequence[tuple[str, bool, Interval | None, str]],
    *,
    lo: float,
    hi: float,
    marks: Sequence[tuple[float, str, str]] = (),
    fmt: Callable[[float], str] = num,
) -> str:
    """One row per item: a 95% interval line and its point; vertical marks for thresholds / zero."""
    row_h, top, bottom = 26, 24, 26
    height = top + row_h * len(items) + bottom
    span = hi - lo or 1.0

    def x(v: float) -> float:
        return LABEL_W + (min(max(v, lo), hi) - lo) / span * (WIDTH - LABEL_W - 20)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for k in range(5):
        tick = lo + span * k / 4
        parts.append(
            f'<line class="grid" x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{height - bottom}"/>'
            f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle">{escape(fmt(tick))}</text>'
        )
    for value, css, label in marks:
        parts.append(
            f'<line class="{css}" x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top - 10}" y2="{height - bottom}"/>'
            f'<text x="{x(value):.1f}" y="{top - 12}" text-anchor="middle">{escape(label)}</text>'
        )
    for n, (name, simulated, interval, colour) in enumerate(items):
        y = top + row_h * n + row_h / 2
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + 4:.1f}" text-anchor="end">{_svg_label(name, simulated)}</text>')
        if interval is None:
            parts.append(f'<text x="{LABEL_W + 4}" y="{y + 4:.1f}">not measured</text>')
            continue
        tip = f"{name}: {fmt(interval.point)} (95% CI {fmt(interval.lower)} to {fmt(interval.upper)}, n={interval.n})"
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<line class="ci-line" stroke="{colour}" x1="{x(interval.lower):.1f}" x2="{x(interval.upper):.1f}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<circle cx="{x(interval.point):.1f}" cy="{y:.1f}" r="5" fill="{colour}"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def pareto_chart(summary: Summary, colours: dict[str, str]) -> str:
    """Cost per task (x) against accuracy (y), both with intervals; the Pareto frontier joins the best trade-offs."""
    points = [s for s in summary.candidates if s.cost_per_task is not None and s.accuracy is not None]
    height, left, right, top, bottom = 360, 60, 30, 20, 44
    if not points:
        return f'<svg viewBox="0 0 {WIDTH} 40"><text x="10" y="24">no candidate has both cost and accuracy</text></svg>'
    costs = [v for s in points for v in (s.cost_per_task.lower, s.cost_per_task.upper)]  # type: ignore[union-attr]
    accs = [v for s in points for v in (s.accuracy.lower, s.accuracy.upper)]  # type: ignore[union-attr]
    cost_max = _bound(summary.thresholds, "cost_per_task_usd", "max")
    acc_min = _bound(summary.thresholds, "accuracy", "min")
    x_lo, x_hi = 0.0, max([*costs, cost_max or 0.0]) * 1.08 or 1.0
    y_lo = max(0.0, min([*accs, acc_min or 1.0]) - 0.03)
    y_hi = min(1.0, max(accs) + 0.02)
    if y_hi <= y_lo:
        y_lo, y_hi = max(0.0, y_lo - 0.05), min(1.0, y_hi + 0.05)

    def x(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * (WIDTH - left - right)

    def y(v: float) -> float:
        return top + (y_hi - v) / (y_hi - y_lo) * (height - top - bottom)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for k in range(5):
        cx, ay = x_lo + (x_hi - x_lo) * k / 4, y_lo + (y_hi - y_lo) * k / 4
        parts.append(
            f'<line class="grid" x1="{x(cx):.1f}" x2="{x(cx):.1f}" y1="{top}" y2="{height - bottom}"/>'
            f'<text x="{x(cx):.1f}" y="{height - bottom + 16}" text-anchor="middle">{num(cx, 4)}</text>'
            f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y(ay):.1f}" y2="{y(ay):.1f}"/>'
            f'<text x="{left - 6}" y="{y(ay) + 4:.1f}" text-anchor="end">{ay:.2f}</text>'
        )
    parts.append(
        f'<text x="{(left + WIDTH - right) / 2}" y="{height - 6}" text-anchor="middle">cost per task (USD)</text>'
        f'<text x="14" y="{top + 10}" >accuracy</text>'
    )
    if cost_max is not None:
        parts.append(
            f'<line class="threshold" x1="{x(cost_max):.1f}" x2="{x(cost_max):.1f}" y1="{top}" '
            f'y2="{height - bottom}"><title>cost max {cost_max}</title></line>'
        )
    if acc_min is not None and y_lo <= acc_min <= y_hi:
        parts.append(
            f'<line class="threshold" x1="{left}" x2="{WIDTH - right}" y1="{y(acc_min):.1f}" '
            f'y2="{y(acc_min):.1f}"><title>accuracy min {acc_min}</title></line>'
        )
    front = sorted((s for s in points if s.on_pareto_front), key=lambda s: s.cost_per_task.point)  # type: ignore[union-attr]
    if len(front) >= 2:
        path = " ".join(f"{x(s.cost_per_task.point):.1f},{y(s.accuracy.point):.1f}" for s in front)  # type: ignore[union-attr]
        parts.append(f'<polyline class="frontier" points="{path}"><title>Pareto frontier</title></polyline>')
    for s in points:
        c, a, colour = s.cost_per_task, s.accuracy, colours[s.candidate]
        assert c is not None and a is not None
        right_side = x(c.point) > WIDTH * 0.75  # labels on the right half would run off the chart
        tip = (
            f"{s.candidate}: accuracy {num(a.point)} [{num(a.lower)}, {num(a.upper)}], "
            f"cost/task {num(c.point, 5)} [{num(c.lower, 5)}, {num(c.upper, 5)}]"
            + (" · on the Pareto frontier" if s.on_pareto_front else "")
        )
        parts.append(
            f'<g class="point"><title>{escape(tip)}</title>'
            f'<line stroke="{colour}" x1="{x(c.lower):.1f}" x2="{x(c.upper):.1f}" y1="{y(a.point):.1f}" '
            f'y2="{y(a.point):.1f}"/>'
            f'<line stroke="{colour}" x1="{x(c.point):.1f}" x2="{x(c.point):.1f}" y1="{y(a.lower):.1f}" '
            f'y2="{y(a.upper):.1f}"/>'
            f'<circle cx="{x(c.point):.1f}" cy="{y(a.point):.1f}" r="{7 if s.on_pareto_front else 5}" '
            f'fill="{colour}" stroke="#fff"/>'
            f'<text x="{x(c.point) + (-9 if right_side else 9):.1f}" y="{y(a.point) - 7:.1f}" '
            f'text-anchor="{"end" if right_side else "start"}">{_svg_label(s.candidate, s.simulated)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _heat(value: float) -> str:
    """Red (0.5 and below) through amber to green (1.0)."""
    t = min(max((value - 0.5) / 0.5, 0.0), 1.0)
    r, g, b = (int(207 + (26 - 207) * t), int(34 + (127 - 34) * t), int(46 + (55 - 46) * t))
    return f"rgb({r},{g},{b})"


def slice_heatmap(summary: Summary) -> str:
    cells = sorted({(sl.key, sl.value) for s in summary.candidates for sl in s.slices})
    cands = summary.ranked()
    if not cells:
        return f'<svg viewBox="0 0 {WIDTH} 40"><text x="10" y="24">no slices in this suite</text></svg>'
    cell_w = max(70, min(130, (WIDTH - LABEL_W) // max(len(cands), 1)))
    row_h, top = 30, 44
    width = LABEL_W + cell_w * len(cands) + 10
    height = top + row_h * len(cells) + 10
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for j, s in enumerate(cands):
        parts.append(
            f'<text x="{LABEL_W + cell_w * j + cell_w / 2:.1f}" y="{top - 10}" text-anchor="middle">'
            f"{_svg_label(s.candidate, s.simulated)}</text>"
        )
    for i, (key, value) in enumerate(cells):
        y = top + row_h * i
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(key)}={escape(value)}</text>"
        )
        for j, s in enumerate(cands):
            sl = next((c for c in s.slices if c.key == key and c.value == value), None)
            x = LABEL_W + cell_w * j
            if sl is None:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{row_h - 2}" fill="#eaeef2"/>')
                continue
            a = sl.accuracy
            tip = f"{s.candidate} · {key}={value}: {num(a.point)} [{num(a.lower)}, {num(a.upper)}], n={a.n}"
            parts.append(
                f'<g><title>{escape(tip)}</title><rect x="{x}" y="{y}" width="{cell_w - 2}" height="{row_h - 2}" '
                f'fill="{_heat(a.point)}"/><text x="{x + cell_w / 2:.1f}" y="{y + row_h / 2 + 4:.1f}" '
                f'text-anchor="middle" style="fill:#fff">{a.point:.2f}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


# --- sections ---------------------------------------------------------------------------------------------


def _ranked_table(summary: Summary) -> str:
    head = (
        "<tr><th>candidate</th><th>verdict</th><th>accuracy [95% CI]</th><th>Δ vs baseline [95% CI]</th>"
        "<th>cost / task</th><th>latency p95 s</th><th>errors</th><th>violations</th><th>max flip rate</th></tr>"
    )
    body = []
    for s in summary.ranked():
        verdict = summary.gate.verdict(s.candidate)
        comp = summary.comparison_of(s.candidate)
        passed = bool(verdict and verdict.passed)
        worst = s.worst_bias()
        delta = "baseline" if s.candidate == summary.baseline else _ci(comp.diff if comp else None)
        if comp and comp.noninferior is not None:
            delta += (
                ' <span class="ok">non-inferior</span>' if comp.noninferior else ' <span class="bad">inferior?</span>'
            )
        body.append(
            f'<tr><td data-sort="{escape(s.candidate)}">{_label(s.candidate, s.simulated)}</td>'
            f'<td class="text"><span class="verdict {"pass" if passed else "fail"}">'
            f"{'PASS' if passed else 'FAIL'}</span></td>"
            f'<td data-sort="{s.accuracy.point if s.accuracy else -1}">{_ci(s.accuracy)}</td>'
            f'<td data-sort="{comp.diff.point if comp and comp.diff else 0}">{delta}</td>'
            f'<td data-sort="{s.cost_per_task.point if s.cost_per_task else 0}">{_ci(s.cost_per_task, 5)}</td>'
            f'<td data-sort="{s.latency_p95.point if s.latency_p95 else 0}">{_ci(s.latency_p95, 2)}</td>'
            f"<td>{s.errors} / {s.rows}</td><td>{s.violations}</td>"
            f"<td>{_ci(worst.flip_rate) if worst else '–'}</td></tr>"
        )
    return f'<table class="sortable" id="ranked"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _reasons(summary: Summary) -> str:
    items = []
    for v in summary.gate.verdicts:
        if v.passed:
            continue
        reasons = "".join(f"<li><b>{escape(r.threshold)}</b>: {escape(r.msg)}</li>" for r in v.reasons)
        items.append(f"<li>{_label(v.candidate, v.simulated)}<ul>{reasons}</ul></li>")
    return f"<ul>{''.join(items)}</ul>" if items else "<p>Every candidate passed every threshold.</p>"


def _paired_table(comparisons: Sequence[Comparison], stats: dict[str, CandidateStats]) -> str:
    head = (
        "<tr><th>candidate</th><th>pairs</th><th>dropped (errors)</th><th>difference [95% CI]</th>"
        "<th>better</th><th>worse</th><th>McNemar p</th><th>Holm p</th><th>margin</th><th>non-inferior</th></tr>"
    )
    body = []
    for c in comparisons:
        sim = stats[c.candidate].simulated if c.candidate in stats else False
        ni = (
            "–"
            if c.noninferior is None
            else ('<span class="ok">yes</span>' if c.noninferior else '<span class="bad">no</span>')
        )
        body.append(
            f"<tr><td>{_label(c.candidate, sim)}</td><td>{c.n_pairs}</td><td>{c.dropped_errors}</td>"
            f"<td>{_ci(c.diff)}</td><td>{c.better}</td><td>{c.worse}</td><td>{num(c.mcnemar_p, 4)}</td>"
            f"<td>{num(c.holm_p, 4)}</td><td>{num(c.margin)}</td><td>{ni}</td></tr>"
        )
    if not body:
        return "<p>No candidate besides the baseline.</p>"
    return f'<table class="sortable" id="paired"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _direction(parity: ParityStats | None) -> str:
    if parity is None:
        return "–"
    if parity.parity_diff.point == 0:
        return "equal rates"
    return escape(f"{parity.highest} → {parity.lowest}")


def _bias_table(summary: Summary) -> str:
    head = (
        "<tr><th>candidate</th><th>attribute</th><th>groups</th><th>flip rate [95% CI]</th>"
        "<th>parity difference [95% CI]</th><th>impact ratio [95% CI]</th><th>favoured → disfavoured</th>"
        "<th>direction p</th><th>flagged</th></tr>"
    )
    body = []
    for s in summary.candidates:
        for b in s.bias:
            parity = b.parity
            flagged = "–" if b.flagged is None else ('<span class="bad">yes</span>' if b.flagged else "no")
            body.append(
                f'<tr><td>{_label(s.candidate, s.simulated)}</td><td class="text">{escape(b.attribute)}</td>'
                f"<td>{b.groups}</td><td>{_ci(b.flip_rate)}</td>"
                f"<td>{_ci(parity.parity_diff) if parity else '–'}</td>"
                f"<td>{_ci(parity.impact_ratio) if parity else '–'}</td>"
                f'<td class="text">{_direction(parity)}</td>'
                f"<td>{num(b.direction_p, 4)}</td><td>{flagged}</td></tr>"
            )
    if not body:
        return "<p>No counterfactual groups in this run.</p>"
    return f'<table class="sortable" id="bias"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _judge_table(summary: Summary) -> str:
    """Optional LLM-judge metrics: scores from the judge model named in the eval spec, shown beside the gate."""
    stats = {s.candidate: s for s in summary.candidates}
    head = (
        "<tr><th>candidate</th><th>metric</th><th>judged</th><th>unjudged</th>"
        "<th>mean score [95% CI]</th><th>pass rate [95% CI]</th></tr>"
    )
    body = [
        f"<tr><td>{_label(j.candidate, stats[j.candidate].simulated if j.candidate in stats else False)}</td>"
        f'<td class="text">{escape(j.metric)}</td><td>{j.judged}</td><td>{j.unjudged}</td>'
        f'<td data-sort="{j.mean.point if j.mean else -1}">{_ci(j.mean)}</td>'
        f'<td data-sort="{j.pass_rate.point if j.pass_rate else -1}">{_ci(j.pass_rate)}</td></tr>'
        for j in summary.judge
    ]
    note = (
        f'<p class="note">Judge model: {escape(summary.judge_model or "unknown")}. '
        "Scores in [0, 1], higher is better (bias: 1 = no bias found); pass rate: share of judged "
        "answers at or above the judge's threshold. Unjudged: the judge failed or the task had no final answer. "
        "These metrics are reported, not gated: they never change a task's status or the gate decision.</p>"
    )
    return f'{note}<table class="sortable" id="judge"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _violations(summary: Summary, transcripts: dict[str, list[dict[str, Any]]]) -> str:
    parts = []
    for s in summary.candidates:
        if not s.violations:
            continue
        rules = ", ".join(f"{escape(rule)} × {n}" for rule, n in s.violations_by_rule.items())
        parts.append(f"<h3>{_label(s.candidate, s.simulated)}: {s.violations} violation(s) — {rules}</h3>")
        for record in transcripts.get(s.candidate, []):
            title = f"{record.get('suite', '')}/{record.get('task_id')} · repeat {record.get('repeat', 0)}"
            violations = "".join(
                f"<li><b>{escape(str(v.get('rule')))}</b> on {escape(str(v.get('tool')))}: "
                f"{escape(str(v.get('msg')))}</li>"
                for v in record.get("violations", [])
            )
            body = escape(
                json.dumps({k: record.get(k) for k in ("messages", "calls", "answer")}, indent=2, default=str)
            )
            parts.append(f"<details><summary>{escape(title)}</summary><ul>{violations}</ul><pre>{body}</pre></details>")
    return "".join(parts) if parts else "<p>No tool call was denied by the action policy.</p>"


def _provenance(summary: Summary) -> str:
    p = summary.provenance
    rows: list[tuple[str, str]] = [
        ("run id", p.run_id),
        ("eval", f"{p.eval_name} ({p.eval_path})"),
        ("agent", p.agent),
        (
            "run",
            f"{p.run_status}, started {p.run_started_at.isoformat()}"
            + (f", finished {p.run_finished_at.isoformat()}" if p.run_finished_at else ""),
        ),
        ("report generated", p.generated_at.isoformat()),
        ("guardrail", p.guardrail_version),
        ("git commit", p.git_commit or "not in a git repository"),
        *((f"hash: {k}", v) for k, v in sorted(p.hashes.items())),
        *((f"suite: {k}", v) for k, v in sorted(p.suites.items())),
        ("gate policies (now)", p.gate_policy_hash or "–"),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(p.versions.items()))),
        ("statistics", f"{int(p.confidence * 100)}% intervals, {p.resamples} bootstrap resamples, seeded"),
    ]
    if summary.tracking:
        t = summary.tracking
        rows.append(("MLflow", f"{t.tracking_uri} · experiment {t.experiment_name} ({t.experiment_id})"))
        rows.append(("MLflow parent run", t.parent_run_id))
        rows.extend((f"MLflow run: {c}", r) for c, r in t.child_run_ids.items())
    return '<dl class="prov">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def render_html(summary: Summary, transcripts: dict[str, list[dict[str, Any]]] | None = None) -> str:
    transcripts = transcripts or {}
    ranked = summary.ranked()
    colours = {s.candidate: PALETTE[i % len(PALETTE)] for i, s in enumerate(summary.candidates)}
    stats = {s.candidate: s for s in summary.candidates}
    rec = summary.recommendation
    gate = summary.gate
    prov = summary.provenance
    any_sim = any(s.simulated for s in summary.candidates)

    acc_items = [(s.candidate, s.simulated, s.accuracy, colours[s.candidate]) for s in ranked]
    acc_lows = [i.lower for _, _, i, _ in acc_items if i is not None]
    acc_min = _bound(summary.thresholds, "accuracy", "min")
    acc_lo = max(0.0, min([*acc_lows, acc_min if acc_min is not None else 1.0, 1.0]) - 0.05)
    acc_chart = interval_chart(
        acc_items,
        lo=round(acc_lo, 2),
        hi=1.0,
        marks=[(acc_min, "threshold", f"min {acc_min}")] if acc_min else [],
    )
    comps = [c for c in summary.comparisons if c.diff is not None]
    margin = summary.thresholds.get("noninferiority_margin")
    diffs = [v for c in comps for v in (c.diff.lower, c.diff.upper)]  # type: ignore[union-attr]
    d_lo = min([*diffs, -(margin or 0.0), 0.0]) - 0.02
    d_hi = max([*diffs, 0.0]) + 0.02
    paired_chart = interval_chart(
        [(c.candidate, stats[c.candidate].simulated, c.diff, colours[c.candidate]) for c in comps],
        lo=d_lo,
        hi=d_hi,
        marks=[(0.0, "zero", "0"), *([(-margin, "threshold", f"−margin {margin}")] if margin else [])],
        fmt=lambda v: f"{v:+.2f}",
    )
    bias_items = [
        (f"{s.candidate} · {b.attribute}", s.simulated, b.flip_rate, colours[s.candidate])
        for s in ranked
        for b in s.bias
    ]
    flip_max = _bound(summary.thresholds, "bias_flip_rate", "max")
    flip_hi = min(1.0, max([i.upper for _, _, i, _ in bias_items if i is not None] + [flip_max or 0.0, 0.1]) + 0.05)
    bias_chart = (
        interval_chart(
            bias_items,
            lo=0.0,
            hi=flip_hi,
            marks=[(flip_max, "threshold", f"max {flip_max}")] if flip_max else [],
        )
        if bias_items
        else f'<svg viewBox="0 0 {WIDTH} 40"><line class="axis" x1="10" x2="{WIDTH - 10}" y1="30" y2="30"/>'
        '<text x="10" y="20">no counterfactual groups in this run</text></svg>'
    )

    decision = "ALLOW" if gate.allow else "DENY"
    target = gate.proposed or "any candidate"
    rec_label = _label(rec.candidate, rec.simulated) if rec.candidate else "none"
    saving = (
        f"; saving ${rec.saving_per_1000_tasks_usd:.4f} per 1,000 tasks vs {escape(rec.current_model or '')}"
        if rec.saving_per_1000_tasks_usd is not None and rec.candidate != rec.current_model
        else ""
    )
    sim_note = (
        '<p class="note">Candidates marked <span class="badge">simulated</span> are guardrail\'s simulated models '
        "with planted behaviour, not real providers.</p>"
        if any_sim
        else ""
    )
    sections = [
        f"<h1>{escape(prov.eval_name)}: which model should {escape(prov.agent)} run on?</h1>",
        f'<p class="lead">run {escape(prov.run_id)} · baseline {escape(summary.baseline)} · current model '
        f"{escape(summary.current_model or 'unknown')} · {len(summary.candidates)} candidates</p>",
        f'<div class="callout {"allow" if gate.allow else "deny"}"><p><b>Gate: {decision}</b> for {escape(target)} '
        f"(policy <code>{escape(gate.policy)}</code>).</p><p><b>Recommendation:</b> {rec_label}{saving}.</p>"
        f"<p>{escape(rec.message)}</p></div>",
        sim_note,
        "<h2>Ranked candidates</h2>",
        _ranked_table(summary),
        "<h2>Why candidates failed</h2>",
        _reasons(summary),
        "<h2>Accuracy with 95% intervals</h2>",
        _figure(
            "chart-accuracy",
            "Dot: pass rate over scored tasks (errors excluded); line: 95% interval.",
            acc_chart,
        ),
        "<h2>Paired comparison against the baseline</h2>",
        _figure(
            "chart-paired",
            "Candidate minus baseline pass rate on the same tasks; non-inferior when the whole interval is right "
            "of −margin.",
            paired_chart,
        ),
        _paired_table(summary.comparisons, stats),
        "<h2>Cost against accuracy</h2>",
        _figure(
            "chart-pareto",
            "Bars: 95% intervals. Larger dots and the dashed line: the Pareto frontier (no other candidate is cheaper "
            "and at least as accurate). Dashed amber: thresholds.",
            pareto_chart(summary, colours),
        ),
        "<h2>Accuracy per slice</h2>",
        _figure(
            "chart-slices",
            "Pass rate per slice value; hover a cell for its 95% interval and n.",
            slice_heatmap(summary),
        ),
        "<h2>Bias</h2>",
        _figure(
            "chart-bias",
            "Counterfactual flip rate: share of cases whose decision changed when only the attribute changed.",
            bias_chart,
        ),
        _bias_table(summary),
        *(["<h2>LLM-judge metrics (reported, not gated)</h2>", _judge_table(summary)] if summary.judge else []),
        "<h2>Policy violations</h2>",
        _violations(summary, transcripts),
        "<h2>Provenance</h2>",
        _provenance(summary),
        '<p id="render-status" data-ok="false">charts not checked (scripts disabled)</p>',
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>guardrail · {escape(prov.eval_name)} · {escape(prov.run_id)}</title>"
        f"<style>{_asset('report.css')}</style></head><body><main>"
        + "\n".join(sections)
        + f"</main><script>{_asset('report.js')}</script></body></html>\n"
    )


__all__ = ["interval_chart", "pareto_chart", "render_html", "slice_heatmap"]
