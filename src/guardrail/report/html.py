"""report.html: one self-contained page (inline CSS, JS and hand-written SVG) that works offline.

No CDN, no chart library: every chart is SVG drawn in `html_charts.py`, the tables are in `html_sections.py`, and
this module lays out the page. The file opens on an air-gapped laptop and an auditor can archive it as is. The
page's small script sorts tables and writes a render marker (`#render-status[data-ok]`) that the headless-browser
test reads. Simulated candidates are labelled everywhere.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any

from guardrail.core.summary import Summary
from guardrail.report import html_sections as sec
from guardrail.report.html_charts import interval_chart, pareto_chart, slice_heatmap

PALETTE = ("#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#cf222e", "#0550ae", "#6e7781")


def _asset(name: str) -> str:
    return resources.files("guardrail.report").joinpath("assets", name).read_text(encoding="utf-8")


def _figure(chart_id: str, caption: str, svg: str) -> str:
    return f'<figure class="chart" id="{chart_id}">{svg}<figcaption class="note">{caption}</figcaption></figure>'


def _limit(summary: Summary, name: str, side: str) -> float | None:
    value = summary.thresholds.get(name)
    if isinstance(value, dict) and isinstance(value.get(side), int | float):
        return float(value[side])
    return None


def _accuracy(summary: Summary, colours: dict[str, str]) -> str:
    items = [(s.candidate, s.simulated, s.accuracy, colours[s.candidate]) for s in summary.ranked()]
    lows = [i.lower for _, _, i, _ in items if i is not None and i.lower is not None]
    acc_min = _limit(summary, "accuracy", "min")
    lo = max(0.0, min([*lows, acc_min if acc_min is not None else 1.0, 1.0]) - 0.02)
    marks = [(acc_min, "threshold", f"min {acc_min:g}")] if acc_min is not None else []
    return _figure(
        "chart-accuracy",
        "Dot: pass rate over scored tasks (errors excluded); line: 95% interval; a dashed line: a bound the data "
        "cannot give.",
        interval_chart(items, lo=lo, hi=1.0, marks=marks),
    )


def _paired(summary: Summary, colours: dict[str, str]) -> str:
    stats = {s.candidate: s for s in summary.candidates}
    comps = [c for c in summary.comparisons if c.diff is not None]
    if not comps:
        return ""
    margin = summary.thresholds.get("noninferiority_margin")
    ends = [v for c in comps for v in (c.diff.lower, c.diff.upper) if v is not None]  # type: ignore[union-attr]
    lo = min([*ends, -(margin or 0.0), 0.0]) - 0.01
    hi = max([*ends, 0.0]) + 0.01
    marks = [(0.0, "zero", "0"), *([(-float(margin), "threshold", f"−margin {margin:g}")] if margin else [])]
    items = [(c.candidate, stats[c.candidate].simulated, c.diff, colours[c.candidate]) for c in comps]
    return _figure(
        "chart-paired",
        "Candidate minus baseline pass rate on the same tasks, errors counted as failures (95% interval). "
        "Non-inferior needs the interval right of −margin, with error pairs left out as well (table below).",
        interval_chart(items, lo=lo, hi=hi, marks=marks, signed=True),
    )


def _bias(summary: Summary, colours: dict[str, str]) -> str:
    items = [(f"{s.candidate} · {b.attribute}", s.simulated, b.flip_rate, colours[s.candidate])
             for s in summary.ranked() for b in s.bias]  # fmt: skip
    if not items:
        return "<p>No counterfactual cases in this run, so no bias was measured.</p>"
    flip_max = _limit(summary, "bias_flip_rate", "max")
    uppers = [i.upper for _, _, i, _ in items if i is not None and i.upper is not None]
    hi = min(1.0, max([*uppers, flip_max or 0.0, 0.1]) + 0.02)
    marks = [(flip_max, "threshold", f"max {flip_max:g}")] if flip_max is not None else []
    return _figure(
        "chart-bias",
        "One row per candidate and attribute: the share of counterfactual cases whose decision changed when only "
        "that attribute changed (95% interval).",
        interval_chart(items, lo=0.0, hi=hi, marks=marks),
    ) + sec.bias_table(summary)


def render_html(summary: Summary, transcripts: dict[str, list[dict[str, Any]]] | None = None) -> str:
    transcripts = transcripts or {}
    colours = {s.candidate: PALETTE[i % len(PALETTE)] for i, s in enumerate(summary.candidates)}
    rec, gate, prov = summary.recommendation, summary.gate, summary.provenance
    decision = "ALLOW" if gate.allow else "DENY"
    target = gate.proposed or "any candidate"
    rec_label = sec.label(rec.candidate, rec.simulated) if rec.candidate else "none"
    sim_note = (
        '<p class="note">Candidates marked <span class="badge">simulated</span> are guardrail\'s simulated models '
        "with planted behaviour, not real providers.</p>"
        if any(s.simulated for s in summary.candidates)
        else ""
    )
    sections = [
        f"<h1>{escape(prov.eval_name)}: which model should {escape(prov.agent)} run on?</h1>",
        f'<p class="lead">run {escape(prov.run_id)} · baseline {escape(summary.baseline)} · current model '
        f"{escape(summary.current_model or 'unknown')} · {len(summary.candidates)} candidates</p>",
        f'<div class="callout {"allow" if gate.allow else "deny"}"><p><b>Gate: {decision}</b> for {escape(target)} '
        f"(policy <code>{escape(gate.policy)}</code>).</p><p><b>Recommendation:</b> {rec_label}.</p>"
        f"<p>{escape(rec.message)}</p></div>",
        sec.warnings(summary),
        sim_note,
        "<h2>Ranked candidates</h2>",
        sec.ranked_table(summary),
        "<h2>Why candidates failed</h2>",
        sec.reasons(summary),
        "<h2>Thresholds</h2>",
        sec.thresholds_table(summary),
        "<h2>Accuracy with 95% intervals</h2>",
        _accuracy(summary, colours),
        "<h2>Paired comparison against the baseline</h2>",
        _paired(summary, colours),
        sec.paired_table(summary),
        "<h2>Cost against accuracy</h2>",
        _figure(
            "chart-pareto",
            "Bars: 95% intervals. Filled dots passed the gate, hollow ones failed it. Larger dots and the dashed "
            "line: the Pareto frontier among the passing candidates (none is cheaper and at least as accurate). "
            "Dashed amber: thresholds.",
            pareto_chart(summary, colours),
        ),
        "<h2>Accuracy per slice</h2>",
        _figure(
            "chart-slices",
            "Pass rate per slice value; hover a cell for its 95% interval and n.",
            slice_heatmap(summary),
        ),
        "<h2>Bias</h2>",
        _bias(summary, colours),
        *(["<h2>LLM-judge metrics (reported, not gated)</h2>", sec.judge_table(summary)] if summary.judge else []),
        "<h2>Policy violations</h2>",
        sec.violations(summary, transcripts),
        "<h2>What the numbers mean</h2>",
        sec.glossary(),
        "<h2>Provenance</h2>",
        sec.provenance(summary),
        '<p id="render-status" data-ok="false">charts not checked (scripts disabled)</p>',
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>guardrail · {escape(prov.eval_name)} · {escape(prov.run_id)}</title>"
        f"<style>{_asset('report.css')}</style></head><body><main>"
        + "\n".join(part for part in sections if part)
        + f"</main><script>{_asset('report.js')}</script></body></html>\n"
    )


__all__ = ["render_html"]
