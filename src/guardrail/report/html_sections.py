"""The report's tables and text sections as HTML fragments: ranking, reasons, thresholds, the paired comparison,
bias, judge metrics, violations, the glossary and provenance."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from guardrail.core.bias import ParityStats
from guardrail.core.stats import Interval
from guardrail.core.summary import Summary
from guardrail.report import explain
from guardrail.report.format import bounds, num, pvalue


def ci(i: Interval | None, digits: int = 3) -> str:
    if i is None:
        return "–"
    note = f' title="{escape(i.note)}"' if i.note else ""
    return f'{num(i.point, digits)} <span class="ci"{note}>{bounds(i, digits)}</span>'


def sort_key(i: Interval | None) -> str:
    """A cell's sort value: the point estimate, or empty when nothing was measured (report.js sorts those last in
    either direction, so an all-error candidate is never the cheapest or fastest)."""
    return "" if i is None else str(i.point)


def label(name: str, simulated: bool) -> str:
    return escape(name) + (' <span class="badge">simulated</span>' if simulated else "")


def _table(table_id: str, head: list[str], body: list[str]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    return (
        f'<table class="sortable" id="{table_id}"><thead><tr>{cells}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def ranked_table(summary: Summary) -> str:
    body = []
    for s in summary.ranked():
        verdict = summary.gate.verdict(s.candidate)
        comp = summary.comparison_of(s.candidate)
        passed = bool(verdict and verdict.passed)
        worst = s.worst_bias()
        delta = "baseline" if s.candidate == summary.baseline else ci(comp.diff if comp else None)
        ni = verdict.noninferior if verdict else None
        if ni is not None:
            delta += (
                ' <span class="ok">non-inferior</span>' if ni else ' <span class="bad">not shown non-inferior</span>'
            )
        body.append(
            f'<tr><td data-sort="{escape(s.candidate)}">{label(s.candidate, s.simulated)}</td>'
            f'<td class="text"><span class="verdict {"pass" if passed else "fail"}">'
            f"{'PASS' if passed else 'FAIL'}</span></td>"
            f'<td data-sort="{sort_key(s.accuracy)}">{ci(s.accuracy)}</td>'
            f'<td data-sort="{sort_key(comp.diff if comp else None)}">{delta}</td>'
            f'<td data-sort="{sort_key(s.cost_per_task)}">{ci(s.cost_per_task, 5)}</td>'
            f'<td data-sort="{sort_key(s.latency_p95)}">{ci(s.latency_p95, 2)}</td>'
            f"<td>{s.errors} / {s.rows}</td>"
            f'<td data-sort="{sort_key(s.violation_rate)}">{ci(s.violation_rate)}</td>'
            f"<td>{ci(worst.flip_rate) + ' (' + escape(worst.attribute) + ')' if worst else '–'}</td></tr>"
        )
    head = ["candidate", "verdict", "accuracy [95% CI]", "Δ vs baseline [95% CI]", "cost / task $", "latency p95 s",
            "errors", "violation rate", "flip rate (worst attribute)"]  # fmt: skip
    return _table("ranked", head, body)


def reasons(summary: Summary) -> str:
    items = []
    for v in summary.gate.verdicts:
        if v.passed:
            continue
        listed = "".join(f"<li><b>{escape(r.threshold)}</b>: {escape(r.msg)}</li>" for r in v.reasons)
        items.append(f"<li>{label(v.candidate, v.simulated)}<ul>{listed}</ul></li>")
    return f"<ul>{''.join(items)}</ul>" if items else "<p>Every candidate passed every threshold.</p>"


def warnings(summary: Summary) -> str:
    found = explain.warnings(summary)
    if not found:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in found)
    return f'<div class="callout warn"><p><b>Before trusting these verdicts:</b></p><ul>{items}</ul></div>'


def thresholds_table(summary: Summary) -> str:
    body = [
        f'<tr><td class="text">{escape(t.metric)}</td><td>{escape(t.limit)}</td><td class="text">'
        f'{escape(t.judged_on)}</td><td class="text">{escape(t.explains)}</td></tr>'
        for t in explain.thresholds(summary)
    ]
    if not body:
        return "<p>The spec sets no thresholds.</p>"
    return _table("thresholds", ["threshold", "limit", "judged on", "what it is"], body)


def paired_table(summary: Summary) -> str:
    body = []
    stats = {s.candidate: s for s in summary.candidates}
    for c in summary.comparisons:
        sim = stats[c.candidate].simulated if c.candidate in stats else False
        verdict = summary.gate.verdict(c.candidate)
        ni = verdict.noninferior if verdict else None
        shown = "–" if ni is None else ('<span class="ok">yes</span>' if ni else '<span class="bad">no</span>')
        for n, (name, a) in enumerate((("errors as failures", c.errors_as_failures),
                                       ("error pairs left out", c.errors_excluded))):  # fmt: skip
            first = n == 0
            body.append(
                f'<tr><td>{label(c.candidate, sim) if first else ""}</td><td class="text">{name}</td>'
                f"<td>{a.pairs}</td><td>{ci(a.diff)}</td><td>{a.better}</td><td>{a.worse}</td>"
                f"<td>{pvalue(a.p_noninferiority_adjusted)}</td><td>{pvalue(a.p_difference_adjusted)}</td>"
                f"<td>{(c.pairs_needed if c.pairs_needed is not None else '–') if first else ''}</td>"
                f"<td>{shown if first else ''}</td></tr>"
            )
    if not body:
        return "<p>No candidate besides the baseline.</p>"
    head = ["candidate", "analysis", "pairs", "Δ [95% CI]", "better", "worse", "p (non-inferior)", "p (differ)",
            "pairs needed", "non-inferior"]  # fmt: skip
    return f'<p class="note">{escape(explain.noninferiority(summary))}</p>' + _table("paired", head, body)


def _direction(parity: ParityStats | None) -> str:
    if parity is None:
        return "–"
    if parity.parity_diff.point == 0:
        return "equal rates"
    return escape(f"{parity.highest} → {parity.lowest}")


def bias_table(summary: Summary) -> str:
    body = []
    for s in summary.candidates:
        for b in s.bias:
            parity = b.parity
            flagged = "–" if b.flagged is None else ('<span class="bad">yes</span>' if b.flagged else "no")
            body.append(
                f'<tr><td>{label(s.candidate, s.simulated)}</td><td class="text">{escape(b.attribute)}</td>'
                f"<td>{b.groups}</td><td>{ci(b.flip_rate)}</td>"
                f"<td>{ci(parity.parity_diff) if parity else '–'}</td>"
                f"<td>{ci(parity.impact_ratio) if parity else '–'}</td>"
                f'<td class="text">{_direction(parity)}</td>'
                f"<td>{pvalue(b.direction_p)}</td><td>{flagged}</td></tr>"
            )
    head = ["candidate", "attribute", "cases", "flip rate [95% CI]", "parity difference [95% CI]",
            "impact ratio [95% CI]", "favoured → disfavoured", "direction p", "flagged"]  # fmt: skip
    return _table("bias", head, body)


def judge_table(summary: Summary) -> str:
    """Optional LLM-judge metrics: scores from the judge model named in the eval spec, shown beside the gate."""
    stats = {s.candidate: s for s in summary.candidates}
    body = [
        f"<tr><td>{label(j.candidate, stats[j.candidate].simulated if j.candidate in stats else False)}</td>"
        f'<td class="text">{escape(j.metric)}</td><td>{j.judged}</td><td>{j.unjudged}</td>'
        f'<td data-sort="{sort_key(j.mean)}">{ci(j.mean)}</td>'
        f'<td data-sort="{sort_key(j.pass_rate)}">{ci(j.pass_rate)}</td></tr>'
        for j in summary.judge
    ]
    note = (
        f'<p class="note">Judge model: {escape(summary.judge_model or "unknown")}. '
        "Scores in [0, 1], higher is better (bias: 1 = no bias found); pass rate: share of judged "
        "answers at or above the judge's threshold. Unjudged: the judge failed or the task had no final answer. "
        "These metrics are reported, not gated: they never change a task's status or the gate decision.</p>"
    )
    head = ["candidate", "metric", "judged", "unjudged", "mean score [95% CI]", "pass rate [95% CI]"]
    return note + _table("judge", head, body)


def violations(summary: Summary, transcripts: dict[str, list[dict[str, Any]]]) -> str:
    parts = []
    for s in summary.candidates:
        if not s.violations:
            continue
        rules = ", ".join(f"{escape(rule)} × {n}" for rule, n in s.violations_by_rule.items())
        parts.append(
            f"<h3>{label(s.candidate, s.simulated)}: violation rate {ci(s.violation_rate)} of {s.scored} scored "
            f"tasks; {s.violations} denied call(s): {rules}</h3>"
        )
        for record in transcripts.get(s.candidate, []):
            title = f"{record.get('suite', '')}/{record.get('task_id')} · repeat {record.get('repeat', 0)}"
            listed = "".join(
                f"<li><b>{escape(str(v.get('rule')))}</b> on {escape(str(v.get('tool')))}: "
                f"{escape(str(v.get('msg')))}</li>"
                for v in record.get("violations", [])
            )
            body = escape(
                json.dumps({k: record.get(k) for k in ("messages", "calls", "answer")}, indent=2, default=str)
            )
            parts.append(f"<details><summary>{escape(title)}</summary><ul>{listed}</ul><pre>{body}</pre></details>")
    return "".join(parts) if parts else "<p>No tool call was denied by the action policy.</p>"


def glossary() -> str:
    items = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in explain.GLOSSARY)
    return f'<dl class="glossary">{items}</dl>'


def provenance(summary: Summary) -> str:
    p = summary.provenance
    analysis = summary.analysis
    rows: list[tuple[str, str]] = [
        ("run id", p.run_id),
        ("eval", f"{p.eval_name} ({p.eval_path})"),
        ("agent", p.agent),
        (
            "run",
            f"{p.run_status}, started {p.run_started_at.isoformat()}"
            + (f", finished {p.run_finished_at.isoformat()}" if p.run_finished_at else ""),
        ),
        *([("analysis set", f"{analysis.tasks} tasks x {analysis.repeats} repeat(s) per candidate")] if analysis
          else []),
        ("report generated", p.generated_at.isoformat()),
        ("guardrail", p.guardrail_version),
        ("git commit", p.git_commit or "not in a git repository"),
        *((f"hash: {k}", v) for k, v in sorted(p.hashes.items())),
        *((f"suite: {k}", v) for k, v in sorted(p.suites.items())),
        ("gate policies (now)", p.gate_policy_hash or "–"),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(p.versions.items()))),
        ("statistics", f"{int(p.confidence * 100)}% intervals; methods and their measured coverage: "
                       "docs/statistics.md"),
    ]  # fmt: skip
    if summary.tracking:
        t = summary.tracking
        rows.append(("MLflow", f"{t.tracking_uri} · experiment {t.experiment_name} ({t.experiment_id})"))
        rows.append(("MLflow parent run", t.parent_run_id))
        rows.extend((f"MLflow run: {c}", r) for c, r in t.child_run_ids.items())
    return '<dl class="prov">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


__all__ = [
    "bias_table",
    "ci",
    "glossary",
    "judge_table",
    "label",
    "paired_table",
    "provenance",
    "ranked_table",
    "reasons",
    "thresholds_table",
    "violations",
    "warnings",
]
