"""The report renderers on real summaries: every statistic explained, the fixed chart defects stay fixed."""

from __future__ import annotations

import io
import re
from html import escape
from pathlib import Path

import pytest
from tests.support.rows import Plant, Scenario, make_rows, manifest
from tests.validity.runs import engine

from guardrail.app.report import GATE_QUERY, summarise
from guardrail.core.run_report import ReportOutcome
from guardrail.core.summary import Summary
from guardrail.report.console import render_console
from guardrail.report.explain import GLOSSARY
from guardrail.report.html import render_html
from guardrail.report.html_charts import nice_ticks
from guardrail.report.markdown import render_markdown

PLANTS = [
    Plant("sim/frontier", 0.95, cost=0.003),
    Plant("sim/balanced", 0.95, cost=0.0008),
    Plant("sim/budget-with-a-long-name", 0.8, cost=0.0002),
    Plant("sim/reckless", 0.93, violation_rate=0.05, cost=0.0004),
]


def _summary(plants: list[Plant], groups: int = 0, tasks: int = 200, **kw: object) -> Summary:
    sc = Scenario(plants, tasks=tasks, groups=groups, coupling=0.9, seed=11)
    run = manifest(sc, proposed="sim/balanced", current_model="sim/frontier", **kw)  # type: ignore[arg-type]
    return summarise(run, make_rows(sc), lambda doc: engine().query(GATE_QUERY, doc), gate_policy_hash=None)


@pytest.fixture(scope="module")
def with_bias() -> Summary:
    return _summary([*PLANTS, Plant("sim/skewed", 0.94, flip_rate=0.25, cost=0.0005)], groups=40)


def test_html_explains_every_statistic_and_lists_thresholds_with_their_judgement(with_bias: Summary) -> None:
    html = render_html(with_bias)
    assert all(f"<dt>{escape(term)}</dt>" in html for term, _ in GLOSSARY)
    assert "flagged" in html and "the flips of an attribute lean one way" in html
    assert re.search(r"<td class=\"text\">bias_flip_rate</td><td>max 0.1</td><td class=\"text\">upper bound</td>", html)
    assert "flip rate (worst attribute)" in html and "(gender)" in html  # which attribute an interval belongs to
    assert "violation rate" in html and "denied call(s)" in html  # a rate, not only rule hits


def test_a_failing_candidate_is_never_on_the_pareto_frontier(with_bias: Summary) -> None:
    failed = {v.candidate for v in with_bias.gate.verdicts if not v.passed}
    assert "sim/budget-with-a-long-name" in failed
    assert not any(s.on_pareto_front for s in with_bias.candidates if s.candidate in failed)
    chart = re.search(r'id="chart-pareto">(.*?)</figure>', render_html(with_bias), re.S)
    assert chart is not None and 'fill="#fff"' in chart.group(1)  # failed: drawn hollow


def test_bias_labels_fit_and_axis_ticks_share_one_format(with_bias: Summary) -> None:
    chart = re.search(r'id="chart-bias">(.*?)</figure>', render_html(with_bias), re.S)
    assert chart is not None
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end">([^<]+)</text>', chart.group(1))
    longest = max(labels, key=lambda item: len(item[1]))
    assert float(longest[0]) >= len(longest[1]) * 6.0  # room for the whole label left of the axis
    ticks, fmt = nice_ticks(0.0, 0.00275)
    assert len({len(fmt(t)) for t in ticks}) == 1 and fmt(0.0) == "0.000"  # no "0.0000" beside "1.25e-03"
    pareto = re.search(r'id="chart-pareto">(.*?)</figure>', render_html(with_bias), re.S)
    assert pareto is not None and 'transform="rotate(-90' in pareto.group(1)  # the y label clear of the top tick


def test_without_counterfactual_cases_bias_is_said_once() -> None:
    html = render_html(_summary(PLANTS))
    assert html.count("No counterfactual cases in this run") == 1 and 'id="chart-bias"' not in html


def test_markdown_and_console_carry_the_same_explanations(with_bias: Summary, tmp_path: Path) -> None:
    md = render_markdown(with_bias)
    assert "## Thresholds" in md and "## What the numbers mean" in md and "| errors as failures |" in md
    assert "error pairs left out" in md and "Holm-adjusted over" in md
    buffer = io.StringIO()
    from rich.console import Console

    render_console(ReportOutcome(run_dir=tmp_path, summary=with_bias), Console(file=buffer, width=200))
    out = buffer.getvalue()
    assert "[lower, upper]: 95% intervals" in out and "Every statistic is explained in report.html" in out
    assert "violation rate" in out


def test_a_significant_loss_is_stated_in_every_report() -> None:
    plants = [Plant("sim/frontier", 0.93, cost=0.003), Plant("sim/balanced", 0.91, cost=0.0008)]
    summary = _summary(plants, tasks=3000, thresholds={"noninferiority_margin": 0.05})
    assert summary.gate.allow and summary.recommendation.loss is not None
    assert "points fewer tasks than the baseline" in render_markdown(summary)
    assert "points fewer tasks than the baseline" in render_html(summary)


def test_a_candidate_whose_every_task_errored_shows_no_cost_and_says_why(tmp_path: Path) -> None:
    plants = [Plant("sim/frontier", 0.95, cost=0.003), Plant("sim/down", 0.9, error_rate=1.0, cost=0.002)]
    summary = _summary(plants, tasks=40)
    (down,) = [s for s in summary.candidates if s.candidate == "sim/down"]
    assert down.cost_per_task is None and down.accuracy is None
    buffer = io.StringIO()
    from rich.console import Console

    render_console(ReportOutcome(run_dir=tmp_path, summary=summary), Console(file=buffer, width=250))
    console = buffer.getvalue()
    (row,) = [line for line in console.splitlines() if "sim/down" in line and "│" in line]
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[cells.index("sim/down (sim)") + 4] == "–"  # $ / 1k tasks: nothing was measured, not $0.00
    assert "no task was scored: every row errored" in console
    html, md = render_html(summary), render_markdown(summary)
    for text in (console, html, md):
        assert "0.00 [0.00, 0.00]" not in text and "0.00e+00" not in text
    assert "every row errored" in html and "every row errored" in md
    # its unmeasured cells sort last in the HTML table (empty sort keys), never first as a cost or latency of 0
    (down_row,) = [r for r in html.split("<tr>") if 'data-sort="sim/down"' in r]
    assert down_row.count('data-sort=""') >= 3 and 'data-sort="0"' not in down_row
