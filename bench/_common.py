"""Helpers for benchmarks: medians of repeated measurements, printed with their targets."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def median_of(runs: int, fn: Callable[[], object]) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def cold_cli(argv: list[str], cwd: Path = REPO) -> int:
    """One cold process: interpreter start, imports, work, exit."""
    code = "import sys\nfrom guardrail.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True).returncode


def report(name: str, value: float, unit: str, target: str, ok: bool) -> None:
    print(f"{name:<58} {value:>10.3f} {unit:<10} target {target:<12} {'OK' if ok else 'MISSED'}")
