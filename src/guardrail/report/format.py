"""Numbers as every report prints them: one formatting for the console, Markdown and HTML."""

from __future__ import annotations

from guardrail.core.llm import model_label
from guardrail.core.stats import Interval

MISSING = "–"


def num(value: float | None, digits: int = 3) -> str:
    """Fixed decimals; costs (digits > 3) in scientific notation when below a cent, so they stay readable."""
    if value is None:
        return MISSING
    if digits > 3 and value != 0 and abs(value) < 0.01:
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def pvalue(value: float | None) -> str:
    if value is None:
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def bounds(interval: Interval, digits: int = 3, scale: float = 1.0) -> str:
    """`[lo, hi]`; a bound the data cannot give prints as "–"."""
    lo = MISSING if interval.lower is None else num(interval.lower * scale, digits)
    hi = MISSING if interval.upper is None else num(interval.upper * scale, digits)
    return f"[{lo}, {hi}]"


def ci(interval: Interval | None, digits: int = 3, scale: float = 1.0) -> str:
    """`0.953 [0.929, 0.973]`."""
    if interval is None:
        return MISSING
    return f"{num(interval.point * scale, digits)} {bounds(interval, digits, scale)}"


def name(candidate: str, simulated: bool) -> str:
    return model_label(candidate, simulated)


__all__ = ["MISSING", "bounds", "ci", "name", "num", "pvalue"]
