"""The report's charts as hand-written SVG: intervals, the cost/accuracy frontier and the slice heat map.

No chart library: the page must open offline and archive as one file. Axes use "nice" ticks (1, 2, 2.5 or 5 times a
power of ten) printed with one number format per axis; labels get the width they need.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from guardrail.core.llm import model_label
from guardrail.core.stats import Interval
from guardrail.core.summary import Summary
from guardrail.report.format import num

WIDTH = 720
CHAR_W = 6.4  # px per character of an 11px label (system-ui), generous so labels are never cut


def svg_label(name: str, simulated: bool) -> str:
    return escape(model_label(name, simulated, short=True))


def message(text: str) -> str:
    return f'<svg viewBox="0 0 {WIDTH} 40" role="img"><text x="10" y="24">{escape(text)}</text></svg>'


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], Callable[[float], str]]:
    """Round tick values covering [lo, hi], and one formatter with the decimals their step needs."""
    span = hi - lo if hi > lo else abs(hi) or 1.0
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = [first + i * step for i in range(count + 2) if first + i * step <= hi + step * 1e-9]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9) + (1 if step / power == 2.5 else 0))

    def fmt(value: float) -> str:
        return f"{0.0 if abs(value) < step * 1e-9 else value:.{decimals}f}"

    return ticks, fmt


def _label_width(labels: Sequence[str]) -> float:
    return min(360.0, max(120.0, max((len(s) for s in labels), default=0) * CHAR_W + 16))


def interval_chart(
    items: Sequence[tuple[str, bool, Interval | None, str]],
    *,
    lo: float,
    hi: float,
    marks: Sequence[tuple[float, str, str]] = (),
    signed: bool = False,
) -> str:
    """One row per item: its 95% interval and point; vertical marks for thresholds or zero. A bound the data
    cannot give is drawn as a dashed line running off the axis."""
    ticks, fmt = nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    label_w = _label_width([model_label(name, sim, short=True) for name, sim, _, _ in items])
    row_h, top, bottom = 26, 28, 26
    height = top + row_h * len(items) + bottom
    span = hi - lo or 1.0

    def x(v: float) -> float:
        return label_w + (min(max(v, lo), hi) - lo) / span * (WIDTH - label_w - 20)

    def show(v: float) -> str:
        return ("+" if signed and v > 0 else "") + fmt(v)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{height - bottom}"/>'
            f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle">{escape(show(tick))}</text>'
        )
    for value, css, label in marks:
        parts.append(
            f'<line class="{css}" x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top - 10}" y2="{height - bottom}"/>'
            f'<text x="{x(value):.1f}" y="{top - 14}" text-anchor="middle">{escape(label)}</text>'
        )
    for n, (name, simulated, interval, colour) in enumerate(items):
        y = top + row_h * n + row_h / 2
        parts.append(
            f'<text x="{label_w - 8:.1f}" y="{y + 4:.1f}" text-anchor="end">{svg_label(name, simulated)}</text>'
        )
        if interval is None:
            parts.append(f'<text x="{label_w + 4:.1f}" y="{y + 4:.1f}">not measured</text>')
            continue
        low = lo if interval.lower is None else interval.lower
        high = hi if interval.upper is None else interval.upper
        tip = (
            f"{name}: {show(interval.point)} (95% CI {'–' if interval.lower is None else show(interval.lower)} to "
            f"{'–' if interval.upper is None else show(interval.upper)}, n={interval.n})"
            + (f"; {interval.note}" if interval.note else "")
        )
        open_end = ' stroke-dasharray="3 3"' if interval.lower is None or interval.upper is None else ""
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<line class="ci-line" stroke="{colour}"{open_end} x1="{x(low):.1f}" x2="{x(high):.1f}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<circle cx="{x(interval.point):.1f}" cy="{y:.1f}" r="5" fill="{colour}"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bound(thresholds: dict[str, object], name: str, side: str) -> float | None:
    value = thresholds.get(name)
    if isinstance(value, dict) and isinstance(value.get(side), int | float):
        return float(value[side])
    return None


def pareto_chart(summary: Summary, colours: dict[str, str]) -> str:
    """Cost per task (x) against accuracy (y) with intervals; the frontier joins the passing candidates no other
    passing candidate beats. Candidates the gate failed are drawn hollow and never on the frontier."""
    points = [s for s in summary.candidates if s.cost_per_task is not None and s.accuracy is not None]
    if not points:
        return message("no candidate has both a cost and an accuracy")
    passed = {v.candidate for v in summary.gate.verdicts if v.passed}
    height, left, right, top, bottom = 360, 78, 30, 24, 48

    def ends(i: Interval) -> list[float]:
        return [v for v in (i.lower, i.point, i.upper) if v is not None]

    costs = [v for s in points for v in ends(s.cost_per_task)]  # type: ignore[arg-type]
    accs = [v for s in points for v in ends(s.accuracy)]  # type: ignore[arg-type]
    cost_max = _bound(summary.thresholds, "cost_per_task_usd", "max")
    acc_min = _bound(summary.thresholds, "accuracy", "min")
    x_ticks, x_fmt = nice_ticks(0.0, max([*costs, cost_max or 0.0]) * 1.05 or 1.0)
    y_ticks, y_fmt = nice_ticks(max(0.0, min([*accs, acc_min or 1.0]) - 0.02), min(1.0, max(accs) + 0.01))
    x_lo, x_hi, y_lo, y_hi = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def x(v: float) -> float:
        return left + (v - x_lo) / ((x_hi - x_lo) or 1.0) * (WIDTH - left - right)

    def y(v: float) -> float:
        return top + (y_hi - v) / ((y_hi - y_lo) or 1.0) * (height - top - bottom)

    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for t in x_ticks:
        parts.append(
            f'<line class="grid" x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{height - bottom}"/>'
            f'<text x="{x(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x_fmt(t)}</text>'
        )
    for t in y_ticks:
        parts.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{y_fmt(t)}</text>'
        )
    mid = (top + height - bottom) / 2
    parts.append(
        f'<text x="{(left + WIDTH - right) / 2}" y="{height - 8}" text-anchor="middle">cost per task (USD)</text>'
        f'<text x="16" y="{mid:.1f}" text-anchor="middle" transform="rotate(-90 16 {mid:.1f})">accuracy</text>'
    )
    if cost_max is not None and x_lo <= cost_max <= x_hi:
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
        verdict = "passed the gate" if s.candidate in passed else "failed the gate"
        tip = (
            f"{s.candidate}: accuracy {num(a.point)} [{num(a.lower)}, {num(a.upper)}], "
            f"cost/task {num(c.point, 5)} [{num(c.lower, 5)}, {num(c.upper, 5)}]; {verdict}"
            + (" · on the Pareto frontier" if s.on_pareto_front else "")
        )
        fill = colour if s.candidate in passed else "#fff"
        parts.append(
            f'<g class="point"><title>{escape(tip)}</title>'
            f'<line stroke="{colour}" x1="{x(c.lower if c.lower is not None else x_lo):.1f}" '
            f'x2="{x(c.upper if c.upper is not None else x_hi):.1f}" y1="{y(a.point):.1f}" y2="{y(a.point):.1f}"/>'
            f'<line stroke="{colour}" x1="{x(c.point):.1f}" x2="{x(c.point):.1f}" '
            f'y1="{y(a.lower if a.lower is not None else y_lo):.1f}" '
            f'y2="{y(a.upper if a.upper is not None else y_hi):.1f}"/>'
            f'<circle cx="{x(c.point):.1f}" cy="{y(a.point):.1f}" r="{7 if s.on_pareto_front else 5}" '
            f'fill="{fill}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{x(c.point) + (-10 if right_side else 10):.1f}" y="{y(a.point) - 8:.1f}" '
            f'text-anchor="{"end" if right_side else "start"}">{svg_label(s.candidate, s.simulated)}</text>'
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
        return message("no slices in this suite")
    label_w = _label_width([f"{k}={v}" for k, v in cells])
    cell_w = max(90, min(150, (WIDTH - label_w) // max(len(cands), 1)))
    row_h, top = 30, 44
    width = label_w + cell_w * len(cands) + 10
    height = top + row_h * len(cells) + 10
    parts = [f'<svg viewBox="0 0 {width:.0f} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for j, s in enumerate(cands):
        parts.append(
            f'<text x="{label_w + cell_w * j + cell_w / 2:.1f}" y="{top - 10}" text-anchor="middle">'
            f"{svg_label(s.candidate, s.simulated)}</text>"
        )
    for i, (key, value) in enumerate(cells):
        y = top + row_h * i
        parts.append(
            f'<text x="{label_w - 8:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(key)}={escape(value)}</text>"
        )
        for j, s in enumerate(cands):
            sl = next((c for c in s.slices if c.key == key and c.value == value), None)
            x = label_w + cell_w * j
            if sl is None:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{cell_w - 2}" height="{row_h - 2}" fill="#eaeef2"/>')
                continue
            a = sl.accuracy
            tip = f"{s.candidate} · {key}={value}: {num(a.point)} [{num(a.lower)}, {num(a.upper)}], n={a.n}"
            parts.append(
                f'<g><title>{escape(tip)}</title><rect x="{x:.1f}" y="{y}" width="{cell_w - 2}" '
                f'height="{row_h - 2}" fill="{_heat(a.point)}"/><text x="{x + cell_w / 2:.1f}" '
                f'y="{y + row_h / 2 + 4:.1f}" text-anchor="middle" style="fill:#fff">{a.point:.2f}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["interval_chart", "message", "nice_ticks", "pareto_chart", "slice_heatmap", "svg_label"]
