"""The measured tables of docs/statistics.md: how often a candidate worse than the baseline by the margin is allowed
or recommended, how often the paired interval covers the truth, and how often an equal candidate is allowed.

Every run goes through the project's own report path (statistics, comparison, the gate policy in regorus, the
recommendation); see tests/validity/runs.py. The CI tests run the same cells with fewer runs.

    .venv/bin/python scripts/validity_tables.py --sims 4000     # about 1.5 hours on a quiet 2-core machine
    .venv/bin/python scripts/validity_tables.py --sims 200 --only "20 tasks"
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.validity import coverage  # noqa: E402
from tests.validity.cells import DECISIONS, POWER  # noqa: E402
from tests.validity.runs import measure  # noqa: E402

from guardrail.core.paired import PairedTable, noninferiority_p  # noqa: E402


def exact_sizes(
    sizes: tuple[int, ...] = (10, 20, 30, 50, 100, 300), margins: tuple[float, ...] = (0.03, 0.05, 0.1)
) -> None:
    """The non-inferiority test's exact size on independent pairs: the chance it passes a candidate exactly `margin`
    worse, summed over every (better, worse) count, at its worst over the share of discordant pairs."""
    import numpy as np
    from scipy.stats import multinomial

    print("\n| pairs | margin | worst size, discordance up to 0.4 | worst size, any discordance | at discordance |")
    print("| --- | --- | --- | --- | --- |")
    for n in sizes:
        b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        ok = b + c <= n
        for m in margins:
            passes = np.zeros_like(ok)
            for i, j in zip(*np.nonzero(ok), strict=True):
                t = PairedTable(n11=n - i - j, n12=int(i), n21=int(j), n=n, clusters=n)
                passes[i, j] = noninferiority_p(t, m) < 0.025
            worst, where, realistic = 0.0, 0.0, 0.0
            for q10 in np.arange(0.0, (1 - m) / 2, 0.005):
                q01 = q10 + m
                pmf = multinomial.pmf(np.stack([b, c, n - b - c], -1), n, [q10, q01, 1 - q10 - q01])
                size = float(np.where(ok & passes, pmf, 0.0).sum())
                if size > worst:
                    worst, where = size, 2 * q10 + m
                if 2 * q10 + m <= 0.4:
                    realistic = max(realistic, size)
            print(f"| {n} | {m} | {realistic:.4f} | {worst:.4f} | {where:.2f} |", flush=True)


def _row(label: str, count: int, runs: int, covered: int, intervals: int) -> str:
    p = count / runs
    se = math.sqrt(max(p, 1 / runs) * (1 - p) / runs)
    coverage = f"{covered / intervals:.3f}" if intervals else "–"
    return f"| {label} | {runs} | {p:.4f} | {se:.4f} | {coverage} |"


def coverage_table(runs: int, seed: int) -> None:
    """Coverage of every interval the gate reads (tests/validity/coverage.py), with `runs` Monte Carlo runs."""
    rows = [coverage.proportion_exact(n, p) for n in (20, 50, 300, 1000) for p in (0.5, 0.85, 0.95, 0.99, 0.995)]
    rows += [coverage.proportion_clustered(k, 3, p, 0.3, runs, seed) for k in (10, 20, 40, 100) for p in (0.85, 0.95)]
    rows += [coverage.mean_lognormal(n, s, runs, seed) for n in (20, 50, 300) for s in (0.3, 0.5, 1.0)]
    rows += [coverage.p95_lognormal(n, runs, seed) for n in (20, 50, 100, 300)]
    rows += [coverage.p95_lognormal(100, runs, seed, repeats=3, within=0.7)]
    for cases, rates, agreement in ((30, (0.5, 0.5), 0.9), (85, (0.5, 0.5), 0.9), (85, (0.6, 0.45), 0.8),
                                    (75, (0.5, 0.5), 0.6)):  # fmt: skip
        rows += coverage.parity_pairs(cases, rates, agreement, max(200, runs // 4), seed)
    print("\n| interval | runs | coverage | low | high | bounded |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row.row(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--only", default=None, help="one cell's key")
    parser.add_argument("--exact", action="store_true", help="only the exact size table (independent pairs)")
    parser.add_argument("--coverage", action="store_true", help="only the interval coverage table")
    args = parser.parse_args()
    if args.exact:
        exact_sizes()
        return
    if args.coverage:
        coverage_table(args.sims, args.seed)
        return
    load = os.getloadavg()[0]
    print(f"load average at start: {load:.2f}{' (busy: timings provisional)' if load > 1.5 else ''}")
    print("\n| decision cell (worse by the margin) | runs | P(allowed or recommended) | MC s.e. | coverage |")
    print("| --- | --- | --- | --- | --- |")
    started = time.perf_counter()
    for key, cell in DECISIONS.items():
        if args.only and key != args.only:
            continue
        t = measure(cell, args.sims, args.seed)
        print(_row(cell.label, t.wrong, t.runs, t.covered, t.intervals), flush=True)
    print("\n| power cell | runs | P(allowed) | MC s.e. | coverage |")
    print("| --- | --- | --- | --- | --- |")
    for key, cell in POWER.items():
        if args.only and key != args.only:
            continue
        t = measure(cell, args.sims, args.seed)
        print(_row(cell.label, t.allowed, t.runs, t.covered, t.intervals), flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
