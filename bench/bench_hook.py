"""Live hook speed: `guardrail hook claude-code` as Claude Code runs it, one cold process per tool call.

Target (issue 14): <= 150 ms per call, median, cold process, cached snapshot. Printed: median and p95 over many
runs (allow, ask and deny payloads in turn), the first call after an edit (snapshot rebuilt), and the floors it
cannot go below (interpreter start; the imports the hook needs), with the machine's load before and after.
Run: .venv/bin/python bench/bench_hook.py [--runs 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, report

PAYLOADS = [
    {"tool_name": "WebSearch", "tool_input": {"query": "pricing"}, "agent_type": "research"},  # allow
    {
        "tool_name": "mcp__stripe__create_refund",
        "tool_input": {"order_id": "1234", "email": "ann@example.com"},
        "agent_type": "support-triage",
    },  # ask
    {"tool_name": "Bash", "tool_input": {"command": "rm -rf /"}, "agent_type": "research"},  # deny
]


def hook_command() -> list[str]:
    """The installed `guardrail` script when there is one (what settings.json runs), else the same module."""
    script = Path(sys.executable).parent / "guardrail"
    head = [str(script)] if script.is_file() else [sys.executable, "-m", "guardrail.cli.launch"]
    return [*head, "hook", "claude-code"]


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for descendants: the hook and its forked child
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], stdin: bytes, cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and its children, exit code)."""
    started, cpu = time.perf_counter(), cpu_of_children()
    proc = subprocess.run(argv, input=stdin, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - started, cpu_of_children() - cpu, proc.returncode


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    runs = parser.parse_args().runs
    print(f"load average before: {load()} (figures above ~1.5 are provisional)")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(REPO / "policies", project / "policies")
        shutil.copy(REPO / "examples" / "roster.yaml", project / "roster.yaml")
        (project / ".git").mkdir()
        argv = hook_command()
        env_payloads = [json.dumps(p).encode() for p in PAYLOADS]

        rebuilt = []
        for _ in range(5):  # an edit changes the snapshot key: the next call validates and caches again
            shutil.rmtree(project / ".guardrail", ignore_errors=True)
            rebuilt.append(timed(argv, env_payloads[0], project)[0])

        codes: dict[int, int] = {}
        times, cpu = [], []
        for index in range(runs):
            elapsed, used, code = timed(argv, env_payloads[index % len(env_payloads)], project)
            cpu.append(used)
            times.append(elapsed)
            codes[code] = codes.get(code, 0) + 1
        assert set(codes) == {0, 2}, f"unexpected exit codes {codes}"  # allow/ask 0, deny 2

        floors = {  # each a cold process: the hook's critical path is start + parent + max(redaction, child)
            "interpreter start (`python -c pass`)": "pass",
            "+ the hook's own imports (parent)": "import guardrail.cli.hook",
            "+ redaction (core/redact.py)": "import guardrail.cli.hook, guardrail.core.redact",
            "+ the policy engine (child: adapters/rego.py)": "import guardrail.cli.hook, guardrail.adapters.rego",
            "  pydantic alone (kept off the hook's path)": "from pydantic import BaseModel",
        }
        floor_ms = {}
        for name, source in floors.items():
            samples = [timed([sys.executable, "-c", source], b"", project) for _ in range(15)]
            floor_ms[name] = tuple(1000 * statistics.median(s[i] for s in samples) for i in (0, 1))

    median, p95 = 1000 * statistics.median(times), 1000 * percentile(times, 0.95)
    report(f"cold `guardrail hook claude-code`, median of {runs}", median, "ms", "<= 150 ms", median <= 150)
    report(f"  p95 of {runs}", p95, "ms", "printed", True)
    # CPU time moves less with the machine's load than wall time does: on a quiet machine the wall time is about
    # the parent's CPU plus whatever part of the child's does not overlap it
    report("  CPU per call, hook + its forked child (median)", 1000 * statistics.median(cpu), "ms", "printed", True)
    first = 1000 * statistics.median(rebuilt)
    report("  first call after an edit (snapshot rebuilt), median of 5", first, "ms", "printed", True)
    for name, (wall, used) in floor_ms.items():
        report(f"  floor: {name} (CPU {used:.0f} ms)", wall, "ms", "-", True)
    print(f"exit codes: {codes}; load average after: {load()}")


if __name__ == "__main__":
    main()
