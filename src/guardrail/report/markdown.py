"""report.md: the comparison as Markdown, for pull requests, tickets and GitHub step summaries."""

from __future__ import annotations

from guardrail.core.stats import Interval
from guardrail.core.summary import Summary


def num(value: float | None, digits: int = 3) -> str:
    """Costs and p-values in scientific notation when tiny; rates with fixed decimals (shared with the HTML)."""
    if value is None:
        return "–"
    if digits > 3 and value != 0 and abs(value) < 0.01:  # costs and p-values; rates keep fixed decimals
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def ci(interval: Interval | None, digits: int = 3) -> str:
    if interval is None:
        return "–"
    return f"{num(interval.point, digits)} [{num(interval.lower, digits)}, {num(interval.upper, digits)}]"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _name(candidate: str, simulated: bool) -> str:
    return _cell(f"{candidate} (simulated)" if simulated else candidate)


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
        "## Ranked candidates (95% intervals)",
        "",
        "| # | candidate | verdict | accuracy | Δ vs baseline | non-inferior | cost/task $ | p95 s | errors "
        "| violations |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rank, s in enumerate(summary.ranked(), start=1):
        verdict = gate.verdict(s.candidate)
        comp = summary.comparison_of(s.candidate)
        ni = (
            "baseline"
            if s.candidate == summary.baseline
            else ("–" if comp is None or comp.noninferior is None else ("yes" if comp.noninferior else "**no**"))
        )
        lines.append(
            f"| {rank} | {_name(s.candidate, s.simulated)} | {'PASS' if verdict and verdict.passed else '**FAIL**'} "
            f"| {ci(s.accuracy)} | {ci(comp.diff) if comp else '–'} | {ni} | {ci(s.cost_per_task, 5)} "
            f"| {ci(s.latency_p95, 2)} | {s.errors}/{s.rows} | {s.violations} |"
        )
    failing = [v for v in gate.verdicts if not v.passed]
    if failing:
        lines += ["", "## Why candidates failed", ""]
        for v in failing:
            lines.append(f"- **{_name(v.candidate, v.simulated)}**")
            lines += [f"  - `{r.threshold}`: {r.msg}" for r in v.reasons]
    if summary.comparisons:
        lines += [
            "",
            "## Paired comparison against the baseline",
            "",
            "| candidate | pairs | dropped (errors) | difference | better | worse | McNemar p | Holm p |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in summary.comparisons:
            lines.append(
                f"| {_cell(c.candidate)} | {c.n_pairs} | {c.dropped_errors} | {ci(c.diff)} | {c.better} | {c.worse} "
                f"| {num(c.mcnemar_p, 4)} | {num(c.holm_p, 4)} |"
            )
    bias = [(s, b) for s in summary.candidates for b in s.bias]
    if bias:
        lines += [
            "",
            "## Bias (counterfactual groups)",
            "",
            "| candidate | attribute | groups | flip rate | parity difference | impact ratio | flagged |",
            "|---|---|---|---|---|---|---|",
        ]
        for s, b in bias:
            p = b.parity
            flagged = "–" if b.flagged is None else ("**yes**" if b.flagged else "no")
            lines.append(
                f"| {_name(s.candidate, s.simulated)} | {_cell(b.attribute)} | {b.groups} | {ci(b.flip_rate)} "
                f"| {ci(p.parity_diff) if p else '–'} | {ci(p.impact_ratio) if p else '–'} | {flagged} |"
            )
    slices = sorted({(sl.key, sl.value) for s in summary.candidates for sl in s.slices})
    if slices:
        ranked = summary.ranked()
        lines += ["", "## Accuracy per slice", ""]
        lines.append("| slice | " + " | ".join(_name(s.candidate, s.simulated) for s in ranked) + " |")
        lines.append("|---" * (len(ranked) + 1) + "|")
        for key, value in slices:
            cells = []
            for s in ranked:
                found = next((x for x in s.slices if x.key == key and x.value == value), None)
                cells.append(ci(found.accuracy, 2) if found else "–")
            lines.append(f"| {_cell(key)}={_cell(value)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Provenance",
        "",
        f"- guardrail {prov.guardrail_version}, git commit `{prov.git_commit or 'none'}`",
        f"- run {prov.run_status}, started {prov.run_started_at.isoformat()}; report {prov.generated_at.isoformat()}",
        *(f"- hash `{k}`: `{v}`" for k, v in sorted(prov.hashes.items())),
        f"- gate policies now: `{prov.gate_policy_hash or '–'}`",
        f"- statistics: 95% intervals, {prov.resamples} bootstrap resamples (seeded)",
    ]
    if summary.tracking:
        t = summary.tracking
        lines.append(f"- MLflow: `{t.tracking_uri}`, experiment `{t.experiment_name}`, parent run `{t.parent_run_id}`")
    if any(s.simulated for s in summary.candidates):
        lines += ["", "_Candidates marked (simulated) are guardrail's simulated models, not real providers._"]
    return "\n".join(lines) + "\n"


__all__ = ["ci", "render_markdown"]
