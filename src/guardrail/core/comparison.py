"""Each candidate against the baseline on the same tasks: the paired comparison the gate's non-inferiority
rule reads.

The analysis set is every task of every suite the spec names, times the repeats, for the baseline and for each
candidate. A run that did not finish, or a candidate (or baseline) missing tasks, is still compared on what it
has, for the report, but `complete` is False and the gate never allows it.

Two analyses, both of which must show non-inferiority:
- primary: every task, an ERROR counted as a failure (a model that errors where it would fail must not look
  better for it);
- errors excluded: only the pairs where neither side errored (an erroring baseline must not flatter a candidate).

Several candidates make a family: Holm's step-down adjusts the non-inferiority p-values (and those of the test
that the pass rates differ) across the non-baseline candidates, so the chance that any candidate worse by the
margin passes stays at 2.5%.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core import paired, stats
from guardrail.core.measurement import cluster
from guardrail.core.results import ResultRow
from guardrail.core.stats import ALPHA, Interval

Key = tuple[str, str, int]  # (suite, task, repeat)
MIN_CLUSTERS = 20  # below this many clusters the clustered interval's coverage was not shown (docs/statistics.md)
SIGNIFICANCE = 0.05
NONINFERIORITY_ALPHA = ALPHA / 2  # one-sided: the 95% interval's lower bound above -margin


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class AnalysisSet(_Record):
    """What a complete run holds for every candidate: each task of each suite the spec names, `repeats` times."""

    tasks: int
    repeats: int = 1
    status: str = "finished"  # the run's status in run.json

    @property
    def expected(self) -> int:
        return self.tasks * self.repeats


class PairedAnalysis(_Record):
    """One paired analysis of candidate minus baseline."""

    pairs: int
    clusters: int
    better: int  # the candidate passed where the baseline did not
    worse: int  # the candidate did not pass where the baseline did
    diff: Interval | None  # candidate pass rate minus baseline pass rate
    design_effect: float = 1.0
    p_difference: float | None = None  # two-sided: the pass rates differ
    p_difference_adjusted: float | None = None  # Holm over the candidates
    p_noninferiority: float | None = None  # one-sided: H0 "worse by the margin or more"
    p_noninferiority_adjusted: float | None = None  # Holm over the candidates


class Comparison(_Record):
    candidate: str
    baseline: str
    margin: float | None
    complete: bool  # the analysis set is complete on both sides and the run finished
    incomplete: list[str] = Field(default_factory=list)  # why not
    errors_as_failures: PairedAnalysis  # the primary analysis
    errors_excluded: PairedAnalysis
    dropped_errors: int  # pairs with an error on either side (left out of errors_excluded)
    family: int = 1  # candidates whose tests were adjusted together (Holm)
    significantly_worse: bool = False  # adjusted two-sided p < 0.05 and the candidate's pass rate is lower
    significantly_better: bool = False
    pairs_needed: int | None = None  # for 80% power at the margin if the candidate were as good (Holm's worst case)
    warnings: list[str] = Field(default_factory=list)

    @property
    def diff(self) -> Interval | None:
        return self.errors_as_failures.diff


def completeness(
    rows: Iterable[ResultRow], candidates: Sequence[str], analysis: AnalysisSet | None
) -> dict[str, list[str]]:
    """Per candidate, why its results are not the whole analysis set (an empty list: complete)."""
    keys: dict[str, set[Key]] = defaultdict(set)
    for row in rows:
        keys[row.candidate].add((row.suite, row.task_id, row.repeat))
    union = set().union(*keys.values()) if keys else set()
    expected = analysis.expected if analysis else len(union)
    out: dict[str, list[str]] = {}
    for name in candidates:
        reasons = []
        if analysis is not None and analysis.status != "finished":
            reasons.append(f"the run is {analysis.status}, not finished")
        have = len(keys.get(name, set()))
        if have < expected or have < len(union):
            reasons.append(f"{have} of {max(expected, len(union))} task results")
        out[name] = reasons
    return out


def _analysis(pairs: list[tuple[ResultRow, ResultRow]], margin: float | None) -> PairedAnalysis:
    test = paired.paired(
        [c.passed for c, _ in pairs], [b.passed for _, b in pairs], [cluster(b) for _, b in pairs], margin=margin
    )
    if test is None:
        return PairedAnalysis(pairs=0, clusters=0, better=0, worse=0, diff=None)
    return PairedAnalysis(
        pairs=test.n_pairs,
        clusters=test.clusters,
        better=test.better,
        worse=test.worse,
        diff=test.diff,
        design_effect=test.design_effect,
        p_difference=test.p_difference,
        p_noninferiority=test.p_noninferiority,
    )


def _pairs_needed(c: Comparison, family: int) -> int | None:
    """Pairs for 80% power at the margin if the candidate were as good as the baseline, at Holm's worst-case level
    for this family, with the agreement and design effect this run showed."""
    a = c.errors_as_failures
    if c.margin is None or not a.pairs:
        return None
    discordance = (a.better + a.worse) / a.pairs
    confidence = 1 - ALPHA / family
    return paired.pairs_needed(c.margin, discordance, design_effect=a.design_effect, confidence=confidence)


def _warnings(primary: PairedAnalysis, margin: float | None, needed: int | None) -> list[str]:
    out = []
    if primary.pairs and primary.clusters < primary.pairs and primary.clusters < MIN_CLUSTERS:
        out.append(
            f"only {primary.clusters} independent clusters: the clustered interval's coverage was measured from "
            f"{MIN_CLUSTERS} up"
        )
    d = primary.diff
    inconclusive = d is not None and margin is not None and (d.lower or -1.0) <= -margin < (d.upper or 1.0)
    if inconclusive and needed is not None and primary.pairs < needed:
        agreement = 1 - (primary.better + primary.worse) / primary.pairs
        out.append(
            f"underpowered: neither non-inferiority nor a loss beyond the {margin:g} margin is shown; "
            f"{needed} task results would give an 80% chance to show non-inferiority if the candidate were as good "
            f"as the baseline (agreement {agreement:.0%}); this run has {primary.pairs}"
        )
    return out


def compare(
    rows: Iterable[ResultRow],
    baseline: str,
    candidates: Sequence[str],
    *,
    margin: float | None,
    analysis: AnalysisSet | None = None,
) -> list[Comparison]:
    """Each candidate vs the baseline on the analysis set; Holm across the candidates."""
    rows = list(rows)
    table: dict[str, dict[Key, ResultRow]] = defaultdict(dict)
    for row in rows:
        table[row.candidate][(row.suite, row.task_id, row.repeat)] = row
    missing = completeness(rows, [baseline, *candidates], analysis)
    base = table.get(baseline, {})
    raw: list[Comparison] = []
    for cand in candidates:
        if cand == baseline or cand not in table:
            continue
        mine = table[cand]
        shared = sorted(set(mine) & set(base))
        every = [(mine[k], base[k]) for k in shared]
        scored = [(c, b) for c, b in every if c.status != "error" and b.status != "error"]
        primary, secondary = _analysis(every, margin), _analysis(scored, margin)
        incomplete = list(missing.get(cand, []))
        incomplete += [f"baseline {baseline}: {why}" for why in missing.get(baseline, []) if "run is" not in why]
        unpaired = len(set(mine) ^ set(base))
        if unpaired and not incomplete:
            incomplete.append(f"{unpaired} task results are not on both sides")
        raw.append(
            Comparison(
                candidate=cand,
                baseline=baseline,
                margin=margin,
                complete=not incomplete,
                incomplete=incomplete,
                errors_as_failures=primary,
                errors_excluded=secondary,
                dropped_errors=len(every) - len(scored),
            )
        )
    return _adjust(raw)


def _holm(comparisons: list[Comparison], analysis: str, field: str) -> dict[str, float]:
    values = {c.candidate: getattr(getattr(c, analysis), field) for c in comparisons}
    return stats.holm({k: v for k, v in values.items() if v is not None})


def _adjust(raw: list[Comparison]) -> list[Comparison]:
    """Holm's adjustment across the family of candidates, for each analysis and each test."""
    adjusted = {
        (analysis, field): _holm(raw, analysis, field)
        for analysis in ("errors_as_failures", "errors_excluded")
        for field in ("p_difference", "p_noninferiority")
    }
    out = []
    for c in raw:
        updates: dict[str, object] = {"family": len(raw)}
        for analysis in ("errors_as_failures", "errors_excluded"):
            part = getattr(c, analysis)
            updates[analysis] = part.model_copy(
                update={
                    f"{field}_adjusted": adjusted[(analysis, field)].get(c.candidate)
                    for field in ("p_difference", "p_noninferiority")
                }
            )
        primary = updates["errors_as_failures"]
        assert isinstance(primary, PairedAnalysis)
        significant = primary.p_difference_adjusted is not None and primary.p_difference_adjusted < SIGNIFICANCE
        point = primary.diff.point if primary.diff else 0.0
        updates["significantly_worse"] = significant and point < 0
        updates["significantly_better"] = significant and point > 0
        needed = _pairs_needed(c, len(raw))
        updates["pairs_needed"] = needed
        updates["warnings"] = _warnings(primary, c.margin, needed)
        out.append(c.model_copy(update=updates))
    return out


__all__ = [
    "MIN_CLUSTERS",
    "NONINFERIORITY_ALPHA",
    "AnalysisSet",
    "Comparison",
    "PairedAnalysis",
    "compare",
    "completeness",
]
