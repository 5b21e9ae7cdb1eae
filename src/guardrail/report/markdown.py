"""report.md: the comparison as Markdown, for pull requests, tickets and GitHub step summaries."""

from __future__ import annotations

from guardrail.core.summary import Summary
from guardrail.report import explain
from guardrail.report.format import ci, name, num, pvalue


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _name(candidate: str, simulated: bool) -> str:
    return _cell(name(candidate, simulated))


def _ranked(summary: Summary) -> list[str]:
    lines = [
        "## Ranked candidates (95% intervals)",
        "",
        "| # | candidate | verdict | accuracy | Δ vs baseline | non-inferior | cost/task $ | p95 s | errors "
        "| violation rate | violations |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rank, s in enumerate(summary.ranked(), start=1):
        verdict = summary.gate.verdict(s.candidate)
        comp = summary.comparison_of(s.candidate)
        ni = verdict.noninferior if verdict else None
        shown = "baseline" if s.candidate == summary.baseline else ("–" if ni is None else ("yes" if ni else "**no**"))
        lines.append(
            f"| {rank} | {_name(s.candidate, s.simulated)} | {'PASS' if verdict and verdict.passed else '**FAIL**'} "
            f"| {ci(s.accuracy)} | {ci(comp.diff) if comp else '–'} | {shown} | {ci(s.cost_per_task, 5)} "
            f"| {ci(s.latency_p95, 2)} | {s.errors}/{s.rows} | {ci(s.violation_rate)} | {s.violations} |"
        )
    return lines


def _paired(summary: Summary) -> list[str]:
    lines = [
        "",
        "## Paired comparison against the baseline",
        "",
        explain.noninferiority(summary),
        "",
        "| candidate | analysis | pairs | Δ [95% CI] | better | worse | p (non-inferior) | p (differ) | pairs needed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in summary.comparisons:
        for label, a in (("errors as failures", c.errors_as_failures), ("error pairs left out", c.errors_excluded)):
            lines.append(
                f"| {_cell(c.candidate)} | {label} | {a.pairs} | {ci(a.diff)} | {a.better} | {a.worse} "
                f"| {pvalue(a.p_noninferiority_adjusted)} | {pvalue(a.p_difference_adjusted)} "
                f"| {c.pairs_needed if c.pairs_needed is not None and label == 'errors as failures' else ''} |"
            )
    return lines


def _bias(summary: Summary) -> list[str]:
    bias = [(s, b) for s in summary.candidates for b in s.bias]
    if not bias:
        return []
    lines = [
        "",
        "## Bias (counterfactual cases)",
        "",
        "| candidate | attribute | cases | flip rate | parity difference | impact ratio | flagged |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, b in bias:
        p = b.parity
        flagged = "–" if b.flagged is None else ("**yes**" if b.flagged else "no")
        lines.append(
            f"| {_name(s.candidate, s.simulated)} | {_cell(b.attribute)} | {b.groups} | {ci(b.flip_rate)} "
            f"| {ci(p.parity_diff) if p else '–'} | {ci(p.impact_ratio) if p else '–'} | {flagged} |"
        )
    return lines


def _slices(summary: Summary) -> list[str]:
    slices = sorted({(sl.key, sl.value) for s in summary.candidates for sl in s.slices})
    if not slices:
        return []
    ranked = summary.ranked()
    lines = ["", "## Accuracy per slice", ""]
    lines.append("| slice | " + " | ".join(_name(s.candidate, s.simulated) for s in ranked) + " |")
    lines.append("|---" * (len(ranked) + 1) + "|")
    for key, value in slices:
        cells = []
        for s in ranked:
            found = next((x for x in s.slices if x.key == key and x.value == value), None)
            cells.append(ci(found.accuracy, 2) if found else "–")
        lines.append(f"| {_cell(key)}={_cell(value)} | " + " | ".join(cells) + " |")
    return lines


def _explained(summary: Summary) -> list[str]:
    lines = ["", "## Thresholds", "", "| threshold | limit | judged on | what it is |", "|---|---|---|---|"]
    lines += [f"| {t.metric} | {t.limit} | {t.judged_on} | {_cell(t.explains)} |" for t in explain.thresholds(summary)]
    lines += ["", "## What the numbers mean", ""]
    lines += [f"- **{term}**: {_cell(text)}" for term, text in explain.GLOSSARY]
    return lines


def render_markdown(summary: Summary) -> str:
    prov, gate, rec = summary.provenance, summary.gate, summary.recommendation
    lines = [
        f"# {prov.eval_name}: model choice for `{prov.agent}`",
        "",
        f"Run `{prov.run_id}` · baseline `{summary.baseline}` · current model `{summary.current_model or 'unknown'}`",
        "",
        f"**Gate: {'ALLOW' if gate.allow else 'DENY'}** for "
        f"{f'`{gate.proposed}`' if gate.proposed else 'any candidate'}"
        f" (`{gate.policy}`).",
        "",
        f"**Recommendation:** {rec.message}.",
        "",
    ]
    warnings = explain.warnings(summary)
    if warnings:
        lines += ["**Warnings:**", "", *(f"- {_cell(w)}" for w in warnings), ""]
    lines += _ranked(summary)
    failing = [v for v in gate.verdicts if not v.passed]
    if failing:
        lines += ["", "## Why candidates failed", ""]
        for v in failing:
            lines.append(f"- **{_name(v.candidate, v.simulated)}**")
            lines += [f"  - `{r.threshold}`: {r.msg}" for r in v.reasons]
    if summary.comparisons:
        lines += _paired(summary)
    lines += _bias(summary) + _slices(summary) + _explained(summary)
    analysis = summary.analysis
    lines += [
        "",
        "## Provenance",
        "",
        f"- guardrail {prov.guardrail_version}, git commit `{prov.git_commit or 'none'}`",
        f"- run {prov.run_status}, started {prov.run_started_at.isoformat()}; report {prov.generated_at.isoformat()}",
        *([f"- analysis set: {analysis.tasks} tasks x {analysis.repeats} repeat(s) per candidate"] if analysis else []),
        *(f"- hash `{k}`: `{v}`" for k, v in sorted(prov.hashes.items())),
        f"- gate policies now: `{prov.gate_policy_hash or '–'}`",
        f"- statistics: {num(prov.confidence * 100, 0)}% intervals, methods in docs/statistics.md",
    ]
    if summary.tracking:
        t = summary.tracking
        lines.append(f"- MLflow: `{t.tracking_uri}`, experiment `{t.experiment_name}`, parent run `{t.parent_run_id}`")
    if any(s.simulated for s in summary.candidates):
        lines += ["", "_Candidates marked (simulated) are guardrail's simulated models, not real providers._"]
    return "\n".join(lines) + "\n"


__all__ = ["render_markdown"]
