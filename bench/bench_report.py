"""What comparing adds to a run: statistics + reports + MLflow logging for 300 tasks x 5 candidates.

Target (issue 4): "at most a few seconds" on top of the replay. Prints medians over repeats, split by stage, and
proves `guardrail report` never imports litellm. Run: .venv/bin/python bench/bench_report.py [--repeats N]

Stages:
- statistics: every interval, paired comparison and bias metric (core.measurement, core.comparison; closed-form
  and score intervals, no resampling);
- gate: the Rego decision in the policy worker (includes forking the worker and loading the policies);
- reports: results.csv, summary.json, report.md, report.html;
- mlflow: first invocation on a new local store (creates the sqlite schema) and a warm one.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.support.rows import Plant, Scenario, write_run  # noqa: E402

import guardrail  # noqa: E402,F401  (offline defaults first)
from guardrail.adapters.journal import read_rows  # noqa: E402
from guardrail.app import report as app_report  # noqa: E402
from guardrail.core.comparison import AnalysisSet, compare, completeness  # noqa: E402
from guardrail.core.gate_input import gate_input  # noqa: E402
from guardrail.core.measurement import all_candidate_stats  # noqa: E402
from guardrail.project import Project  # noqa: E402

PLANTS = [
    Plant("sim/frontier", 0.95, cost=0.003, latency=2.0),
    Plant("sim/balanced", 0.93, cost=0.0008),
    Plant("sim/budget", 0.82, hard_accuracy=0.55, cost=0.0002, latency=0.5),
    Plant("sim/reckless", 0.93, violation_rate=0.05, error_rate=0.02, cost=0.0004),
    Plant("sim/skewed", 0.93, flip_rate=0.1, cost=0.0005),
]


def _project(root: Path) -> Project:
    (root / "policies" / "gate").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "gate" / "eval.rego", root / "policies" / "gate" / "eval.rego")
    return Project(root)


def _timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=260)
    parser.add_argument("--groups", type=int, default=20)  # 260 tasks + 20 x 2 counterfactual variants = 300
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="guardrail-bench-report-"))
    try:
        project = _project(root / "project")
        sc = Scenario(PLANTS, tasks=args.tasks, groups=args.groups, seed=1, run_id="bench")
        run_dir = write_run(project.reports, sc, proposed="sim/balanced", current_model="sim/frontier")
        rows = read_rows(run_dir / "results.jsonl")
        per_candidate = len(rows) // len(PLANTS)
        print(f"rows: {len(rows)} ({per_candidate} tasks x {len(PLANTS)} candidates)")

        import numpy  # noqa: F401  (imported by any run already; not part of what comparing adds)

        times: dict[str, list[float]] = {"statistics": [], "gate": [], "reports": [], "total (no MLflow)": []}
        for _ in range(args.repeats):
            manifest = app_report.read_manifest(run_dir)
            ids = [c.id for c in manifest.candidates]
            start = time.perf_counter()
            analysis = AnalysisSet(tasks=manifest.task_count, repeats=manifest.repeats)
            cand_stats = all_candidate_stats(rows, ids)
            comparisons = compare(rows, manifest.baseline, ids, margin=0.05, analysis=analysis)
            times["statistics"].append(time.perf_counter() - start)
            document = gate_input(
                cand_stats,
                comparisons,
                thresholds=manifest.thresholds,
                baseline=manifest.baseline,
                proposed=manifest.proposed,
                max_error_rate=manifest.max_error_rate,
                incomplete=completeness(rows, ids, analysis),
            )
            _, t_gate = _timed(app_report.decide, project, document)
            times["gate"].append(t_gate)
            summary = app_report.analyse(manifest, rows, project)
            start = time.perf_counter()
            app_report.write_csv(run_dir / "results.csv", rows)
            app_report.write_documents(run_dir, summary, app_report.read_violation_transcripts(run_dir, rows))
            t_files = time.perf_counter() - start
            times["reports"].append(t_files)
            _, t_total = _timed(app_report.build_reports, run_dir, track=False, tracking_uri=None, project=project)
            times["total (no MLflow)"].append(t_total)

        for name, values in times.items():
            print(f"{name:>24}: median {statistics.median(values):6.2f} s  (n={len(values)})")

        # What a user waits for: fresh processes, as `guardrail run` / `guardrail report` really start.
        env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "HOME": str(root)}

        def fresh(*argv: str) -> tuple[float, str]:
            probe = (
                "import sys, time\n"
                "start = time.perf_counter()\n"
                "from guardrail.cli.main import main\n"
                f"code = main({list(argv)!r})\n"
                "print('SECONDS', time.perf_counter() - start, 'LITELLM', 'litellm' in sys.modules, 'CODE', code)\n"
            )
            done = subprocess.run(
                [sys.executable, "-c", probe], cwd=project.root, capture_output=True, text=True, env=env, timeout=600
            )
            last = next((line for line in done.stdout.splitlines() if line.startswith("SECONDS")), None)
            if last is None:
                raise SystemExit(done.stdout[-1000:] + done.stderr[-2000:])
            parts = last.split()
            return float(parts[1]), f"litellm imported: {parts[3]}, exit code {parts[5]}"

        baseline = statistics.median(fresh("--version")[0] for _ in range(args.repeats))
        cold, _ = fresh("report", str(run_dir))  # creates the sqlite store under .guardrail/
        tracked = [fresh("report", str(run_dir))[0] for _ in range(args.repeats)]
        untracked = [fresh("report", str(run_dir), "--no-track") for _ in range(args.repeats)]
        added_untracked = statistics.median(t for t, _ in untracked) - baseline
        added_tracked = statistics.median(tracked) - baseline
        print(f"{'CLI start (baseline)':>24}: median {baseline:6.2f} s")
        print(f"{'report --no-track':>24}: +{added_untracked:5.2f} s over the baseline")
        print(f"{'report, MLflow warm':>24}: +{added_tracked:5.2f} s over the baseline (imports mlflow)")
        print(f"{'report, MLflow new store':>24}: +{cold - baseline:5.2f} s (first use: creates the sqlite schema)")
        # `guardrail run` starts importing mlflow before its replay (cli/report.prefetch_tracking); with a replay
        # of >= 8 s (300 tasks x 5 candidates) the import is done by the time the reports are built.
        overlap = (
            "import time\n"
            "from guardrail.cli.report import prefetch_tracking, report_and_show\n"
            f"prefetch_tracking(True, None, __import__('pathlib').Path({str(run_dir)!r}))\n"
            "time.sleep(8)  # the replay: waiting on model calls\n"
            "start = time.perf_counter()\n"
            f"report_and_show(__import__('pathlib').Path({str(run_dir)!r}), track=True, tracking_uri=None)\n"
            "print('AFTER_REPLAY', time.perf_counter() - start)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", overlap], cwd=project.root, capture_output=True, text=True, env=env, timeout=600
        )
        after = [line for line in done.stdout.splitlines() if line.startswith("AFTER_REPLAY")]
        if not after:
            raise SystemExit(done.stdout[-1000:] + done.stderr[-2000:])
        added_run = float(after[0].split()[1])
        print(f"{'run: after the replay':>24}: +{added_run:5.2f} s (stats, gate, reports, MLflow; import prefetched)")
        target = 5.0
        print(
            f"seconds added to `guardrail run` (warm store, import prefetched): {added_run:.2f} s; "
            f"target <= {target:.0f} s: ratio {added_run / target:.2f}"
        )
        print(
            f"seconds added by a standalone `guardrail report` with MLflow: {added_tracked:.2f} s "
            f"(ratio {added_tracked / target:.2f}); without MLflow: {added_untracked:.2f} s"
        )

        print("guardrail report --no-track:", untracked[0][1], "(exit 1 = the gate denied; exit 0 = allowed)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
