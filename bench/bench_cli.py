"""Benchmark whole commands as a user runs them: process start to exit, default settings (issue 16 targets).

    .venv/bin/python bench/bench_cli.py                  # everything (a few minutes on 2 cores)
    .venv/bin/python bench/bench_cli.py --only latency   # latency | zero | cached | cold
    .venv/bin/python bench/bench_cli.py --repeats 5

`guardrail run evals/triage.yaml` in a fresh project (tests/support/run_project.py): 300 answer-only tasks x 3
`openai/<name>` candidates with an api_base and spec prices, against tests/support/openai_server.py in its own
process, with everything a user gets by default (response cache, MLflow tracking to the local store, reports,
evidence). Each figure is a median over --repeats fresh projects and is printed with its target:
  * 200 ms per call: wall time against the ideal  calls x latency / concurrency  (<= 1.5x, <= 4.2 s at 64), and
    against bare HTTP (the same calls from one aiohttp session, nothing around them);
  * 0 ms: task-evaluations per second, whole command (>= 300/s);
  * the cached re-run of the 0 ms project: zero calls, wall time (<= 2 s);
  * peak PSS of the command's whole process tree (<= 300 MB);
  * cold `guardrail gate` on 200 agents (<= 0.5 s) and cold `roster check` (<= 0.3 s), from bench_gate/bench_roster.
The split (start-up, replay, reporting, tracking, exit) comes from timestamps taken around the command's own
functions by this script's wrapper (microseconds each; `run` only: other commands import nothing extra); the
command is otherwise the `guardrail` console script. The end is timed when the process exits (PSS is sampled in a
thread beside the wait, not between polls).
The machine is shared: the load average is printed with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from bench.bench_runner import PRICES, ServerProcess, _tree_pss_mb, bare_calls  # noqa: E402

TASKS = 300
CANDIDATES = ("a", "b", "c")
CONCURRENCY = 64  # the spec's default, which the user gets
PHASES = ("start-up", "replay", "reporting", "tracking", "exit")

# The `guardrail` console script, plus timestamps around the phases (wrapped where the command calls them).
_WRAPPER = r"""
import atexit, json, resource, sys, time
marks = {}
marks_path = sys.argv[1]
def save():  # at the report's end and at exit: the command leaves by os._exit once its exit handlers ran
    with open(marks_path, "w") as out:
        json.dump(marks, out)
atexit.register(save)
def cpu():
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
def timed(module, name, label):
    inner = getattr(module, name)
    def wrapper(*args, **kwargs):
        marks.setdefault(label + ".start", time.time())
        marks.setdefault(label + ".cpu", -cpu())
        try:
            return inner(*args, **kwargs)
        finally:
            marks[label + ".end"] = time.time()
            marks[label + ".cpu"] += cpu()
    setattr(module, name, wrapper)
from guardrail.cli.main import entry
if sys.argv[2:3] == ["run"]:  # only `run` has phases; another command must not pay for importing the runner
    import guardrail.app.run_eval as run_eval, guardrail.cli.run as cli_run
    timed(run_eval, "_replay_here", "replay")
    timed(run_eval, "run_sharded", "replay")
    def tracked():
        import guardrail.adapters.mlflow_store as store
        timed(store, "log_comparison", "tracking")
    inner_report = cli_run.report_and_show
    def report_and_show(*args, **kwargs):
        tracked()
        marks["report.start"] = time.time()
        try:
            return inner_report(*args, **kwargs)
        finally:
            marks["report.end"] = time.time()
            save()
    cli_run.report_and_show = report_and_show
sys.argv = ["guardrail", *sys.argv[2:]]
try:
    entry()
finally:
    save()
"""


def uptime_load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(name: str, value: float, unit: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("OK" if ok else "MISSED")
    print(f"{name:<62} {value:>9.3f} {unit:<3} {target:<12} {verdict:<7} {uptime_load()}", flush=True)


def run_command(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One whole command in its own process: wall time, exit code, peak PSS of its tree, the phase split."""
    with tempfile.NamedTemporaryFile(suffix=".json") as marks_file:
        started = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, marks_file.name, *argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # PSS is sampled beside the wait, so the exit is timed when it happens, not at the next sample
        peaks = [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peaks.append(_tree_pss_mb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = proc.communicate()
        ended = time.time()
        done.set()
        sampler.join()
        peak = max(peaks)
        marks = json.loads(Path(marks_file.name).read_text() or "{}")
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv} exited {proc.returncode}:\n{out[-2000:]}\n{err[-3000:]}")
    split = _split(started, ended, marks)
    return {
        "wall": ended - started,
        "pss": peak,
        "split": split,
        "replay_cpu": marks.get("replay.cpu", 0.0),
        "out": out,
    }


def _split(started: float, ended: float, marks: dict[str, float]) -> dict[str, float]:
    replay_start = marks.get("replay.start", started)
    replay_end = marks.get("replay.end", replay_start)
    report_end = marks.get("report.end", replay_end)
    tracking = marks.get("tracking.end", 0.0) - marks.get("tracking.start", 0.0)
    return {
        "start-up": replay_start - started,
        "replay": replay_end - replay_start,
        "reporting": report_end - replay_end - tracking,
        "tracking": tracking,
        "exit": ended - report_end,
    }


def _project(root: Path, server: ServerProcess) -> Path:
    from tests.support.run_project import make_project

    candidates = [{"id": f"openai/{name}", "params": server.params, **PRICES} for name in CANDIDATES]
    spec = make_project(root, tasks=TASKS, candidates=candidates, tools=False)
    # YAML reads 1e-06 as a string, which the spec's credential check (core/secrets.py) takes for a key under a
    # "*_token" name; written with a decimal point, the prices are numbers
    spec.write_text(spec.read_text().replace("1e-06", "1.0e-06").replace("4e-06", "4.0e-06"))
    gate = root / "policies/gate/eval.rego"  # the report step asks the project's gate policy
    gate.parent.mkdir(parents=True)
    gate.write_text((REPO / "policies/gate/eval.rego").read_text())
    return spec


def _median_split(results: list[dict[str, Any]]) -> str:
    return " · ".join(f"{p} {statistics.median(r['split'][p] for r in results):.2f}" for p in PHASES)


def bench_run(latency_ms: float, repeats: int, *, cached: bool) -> None:
    """`guardrail run` on fresh projects (then once more on each, all answers cached, when `cached`)."""
    firsts: list[dict[str, Any]] = []
    agains: list[dict[str, Any]] = []
    calls = TASKS * len(CANDIDATES)
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp, ServerProcess(latency_ms) as server:
            spec = _project(Path(tmp), server)
            argv = ["run", str(spec.relative_to(tmp))]
            firsts.append(run_command(argv, Path(tmp)))
            sent = server.count()
            assert sent == calls, f"the server saw {sent} requests, expected {calls}"
            if cached:
                agains.append(run_command(argv, Path(tmp)))
                assert server.count() == sent, "the cached re-run made model calls"
    label = f"run {TASKS}x{len(CANDIDATES)} @ {latency_ms:g} ms"
    wall = statistics.median(r["wall"] for r in firsts)
    if latency_ms:
        ideal = calls * latency_ms / 1000 / CONCURRENCY
        report(
            f"{label}: whole command (median of {repeats})", wall, "s", f"<= {1.5 * ideal:.1f} s", wall <= 1.5 * ideal
        )
        report(
            f"{label}: / ideal {calls} x {latency_ms:g} ms / {CONCURRENCY}",
            wall / ideal,
            "x",
            "<= 1.5",
            wall / ideal <= 1.5,
        )
    else:
        rate = calls / wall
        report(f"{label}: task-evaluations/s, whole command", rate, "/s", ">= 300/s", rate >= 300)
    bare = bare_calls("http", latency_ms, calls, CONCURRENCY, with_tools=False)
    report(f"{label}: bare HTTP, same {calls} calls, one process", bare, "s", "", None)
    report(f"{label}: whole command / bare HTTP", wall / bare, "x", "", None)
    pss = max(r["pss"] for r in firsts)
    report(f"{label}: peak PSS, all processes (max of {repeats})", pss, "MB", "<= 300 MB", pss <= 300)
    print(f"  split, s (medians): {_median_split(firsts)}", flush=True)
    if cached:
        again = statistics.median(r["wall"] for r in agains)
        report(f"{label}: cached re-run, 0 calls, whole command", again, "s", "<= 2 s", again <= 2)
        pss = max(r["pss"] for r in agains)
        report(f"{label}: cached re-run peak PSS", pss, "MB", "<= 300 MB", pss <= 300)
        print(f"  split, s (medians): {_median_split(agains)}", flush=True)


def bench_cold(repeats: int) -> None:
    """Cold `gate` (200 agents, 75 model switches, 150 evidence files: bench_gate's project) and cold
    `roster check` on the same roster: a fresh process each time. The first run of each meets an empty
    prepared-policy cache (adapters/prepared_cache.py, in a user cache folder of its own here) and is printed
    apart; the median is of the runs after it, as a user's next command would find it."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_gate import build_project

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        build_project(root)
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        for name, argv, target in (
            (
                "gate",
                ["gate", "--roster", "roster.yaml", "--base", "base.yaml", "--format", "json", "-o", "g.json"],
                0.5,
            ),
            ("roster check", ["roster", "check", "roster.yaml", "--format", "json", "-o", "c.json"], 0.3),
        ):
            first = run_command(argv, root, env)["wall"]
            report(f"{name}, 200 agents, cold, empty prepared-policy cache", first, "s", "", None)
            wall = statistics.median(run_command(argv, root, env)["wall"] for _ in range(repeats))
            report(f"{name}, 200 agents, cold (median of {repeats})", wall, "s", f"<= {target} s", wall <= target)


def _byte_compiled() -> bool:
    """Whether the measured commands find guardrail's modules compiled (a .pyc Python can use for cli/main.py)."""
    import importlib.util

    spec = importlib.util.find_spec("guardrail.cli.main")
    source = spec.origin if spec is not None else None
    return source is None or Path(importlib.util.cache_from_source(source)).is_file()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("latency", "zero", "cached", "cold"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"guardrail whole-command benchmark · {os.cpu_count()} cores · {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    if not _byte_compiled():
        print(
            "  note: guardrail's modules have no .pyc here (PYTHONDONTWRITEBYTECODE with an editable install), so "
            "every command compiles them (~0.2 s of a run on 2 cores); an installed guardrail has them",
            flush=True,
        )
    cases: dict[str, Callable[[], None]] = {
        "latency": lambda: bench_run(200, args.repeats, cached=False),
        "zero": lambda: bench_run(0, args.repeats, cached=True),
        "cold": lambda: bench_cold(max(args.repeats, 5)),
    }
    for name, case in cases.items():
        if args.only in (None, name) or (args.only == "cached" and name == "zero"):
            case()


if __name__ == "__main__":
    main()
