"""Benchmark the replay runner (issue 3 targets), end to end: load, agent loop, policy, scoring, journal.

    .venv/bin/python bench/bench_runner.py                 # everything (a few minutes on 2 cores)
    .venv/bin/python bench/bench_runner.py --only latency  # latency | zero | cached | memory
    .venv/bin/python bench/bench_runner.py --memory-tasks 2000
    .venv/bin/python bench/bench_runner.py --workers 1      # the whole replay in one process
    .venv/bin/python bench/bench_runner.py --transport litellm   # every call through litellm, for comparison

Against tests/support/openai_server.py on 127.0.0.1 (in its own process), 300 tasks x 3 `openai/<name>` candidates
with an api_base, at default settings (spec concurrency 64, transport auto: the direct OpenAI-compatible client,
one replay process per core for big runs, ModelClient cache/throttle/retry). Each task is an agent task: one tool
call (decided by the action policy) and a final answer, so 2 model calls per task-evaluation; the 200 ms case also
runs answer-only tasks (1 call each). Beside each figure, the same calls sent from one process with nothing else
around them: by bare litellm, and as bare HTTP (one aiohttp session), the floors on this machine right now (the
test server shares the same cores).
  * 200 ms latency: wall time (target <= 8 s) and the ratio to the ideal  calls x latency / concurrency  (<= 1.5)
  * 0 ms latency: task-evaluations per second (target >= 200/s)
  * cached re-run: zero model calls; wall time
  * 20,000 tasks on the in-process simulated model (its own process): peak RSS (<= 600 MB) and throughput over the
    first and last tenth of the rows; in one replay process (the target's case), then in one per core.
Figures are medians over --repeats runs where repeated; printed with their targets, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

import guardrail  # noqa: E402,F401  (offline defaults before litellm)

TASKS = 300
PRICES = {"input_cost_per_token": 1e-6, "output_cost_per_token": 4e-6}  # spec prices, as a user states them
CANDIDATES = ("a", "b", "c")


def report(name: str, value: float, unit: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("OK" if ok else "MISSED")
    print(f"{name:<78} {value:>9.3f} {unit:<3} {target:<10} {verdict}", flush=True)


def _project(root: Path, tasks: int, candidates: list[Any], *, tools: bool = True, **spec: Any) -> Path:
    from tests.support.run_project import make_project

    return make_project(root, tasks=tasks, candidates=candidates, tools=tools, **spec)


WORKERS: int | None = None  # --workers; None: the runner's default (one per core for big runs)
TRANSPORT = "auto"  # --transport


def _run(spec: Path, workers: int | None = None) -> tuple[float, Any]:
    from guardrail.app.run_eval import RunOptions, run_eval

    started = time.perf_counter()
    outcome = run_eval(spec, RunOptions(quiet=True, workers=workers or WORKERS))
    return time.perf_counter() - started, outcome


def _calls(outcome: Any) -> tuple[int, int]:
    return sum(r.model_calls for r in outcome.rows), sum(r.cache_hits for r in outcome.rows)


class ServerProcess:
    """The fake provider in its own process, as a real provider would be: in-process, its request handling would
    share the runner's GIL and core. `count()` asks it how many requests it has seen."""

    def __init__(self, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.params = {"api_base": f"http://127.0.0.1:{self.port}/v1", "api_key": "test"}

    def count(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(30)


def serve(latency_ms: float) -> None:
    from tests.support.openai_server import OpenAIServer, ServerConfig

    with OpenAIServer(ServerConfig(latency_ms=latency_ms)) as server:
        print(server.port, flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                print(server.log.count, flush=True)


def bare_calls(client: str, latency_ms: float, calls: int, concurrency: int, *, with_tools: bool = True) -> float:
    """Seconds for `calls` calls of the same shapes (3 tool schemas; every other call carries a tool result) to the
    same server at the same concurrency, with nothing around them: by bare litellm (`client="litellm"`), or as bare
    HTTP from one aiohttp session (`"http"`). The floors each transport sets on this machine right now."""
    import asyncio

    import yaml
    from tests.support.run_project import TOOLS

    tools = [
        {"type": "function", "function": {"name": name.replace(".", "_"), **spec}}
        for name, spec in yaml.safe_load(TOOLS)["tools"].items()
    ]

    def messages(i: int) -> list[dict[str, Any]]:
        first = [{"role": "user", "content": f"I was charged twice for order {i}"}]
        if i % 2 == 0 or not with_tools:
            return first
        call = {"id": "c1", "type": "function", "function": {"name": "crm_lookup_order", "arguments": "{}"}}
        return [
            *first,
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"status": "delivered"}'},
        ]

    from guardrail.adapters.llm import register_prices

    # as the litellm transport does for priced candidates
    register_prices({"openai/x": (PRICES["input_cost_per_token"], PRICES["output_cost_per_token"])})

    async def run(server: ServerProcess) -> float:
        import aiohttp
        import litellm

        gate = asyncio.Semaphore(concurrency)
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        url = server.params["api_base"] + "/chat/completions"

        async def one(i: int) -> None:
            async with gate:
                if client == "litellm":
                    await litellm.acompletion(
                        model="openai/x",
                        messages=messages(i),
                        tools=tools if with_tools else None,
                        max_retries=0,
                        **server.params,
                    )
                    return
                body = {"model": "x", "messages": messages(i), **({"tools": tools} if with_tools else {})}
                async with session.post(url, json=body, headers={"Authorization": "Bearer test"}) as response:
                    json.loads(await response.read())

        try:
            await asyncio.gather(*(one(-i) for i in range(1, 21)))  # warm the client
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(calls)))
            return time.perf_counter() - started
        finally:
            await session.close()

    with ServerProcess(latency_ms) as server:
        return asyncio.run(run(server))


def bench_server(latency_ms: float, repeats: int, *, cached: bool, tools: bool = True) -> None:
    from guardrail.core.suite import EvalSpec

    concurrency = EvalSpec.model_fields["concurrency"].default
    walls, rates, ratios, cached_walls = [], [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp, ServerProcess(latency_ms) as server:
            candidates = [{"id": f"openai/{name}", "params": server.params, **PRICES} for name in CANDIDATES]
            spec = _project(Path(tmp), TASKS, candidates, tools=tools, transport=TRANSPORT)
            wall, outcome = _run(spec)
            calls, _ = _calls(outcome)
            rows = len(outcome.rows)
            sent = server.count()
            assert rows == TASKS * len(CANDIDATES) and sent == calls, (rows, calls, sent)
            walls.append(wall)
            rates.append(rows / wall)
            if latency_ms:
                ratios.append(wall / (calls * latency_ms / 1000 / concurrency))
            if cached:
                wall2, again = _run(spec)
                calls2, hits2 = _calls(again)
                assert server.count() == sent and calls2 == 0 and hits2 == calls, (calls2, hits2)
                cached_walls.append(wall2)
    shape = "tool call + answer" if tools else "answer only"
    shape += "" if TRANSPORT == "auto" else f", transport {TRANSPORT}"
    label = f"{TASKS}x{len(CANDIDATES)} @ {latency_ms:g} ms, {shape}, {outcome.manifest.workers} workers"
    for client in ("litellm", "http"):
        floor = bare_calls(client, latency_ms, calls, concurrency, with_tools=tools)
        report(f"{label}: bare {client}, one process, same {calls} calls", floor, "s", "", None)
        report(f"{label}: runner wall / bare {client} wall", statistics.median(walls) / floor, "x", "", None)
    if latency_ms:
        wall = statistics.median(walls)
        report(f"{label}: wall time (median of {repeats})", wall, "s", "<= 8 s", wall <= 8)
        ratio = statistics.median(ratios)
        report(f"{label}: ratio to calls x latency / {concurrency}", ratio, "x", "<= 1.5", ratio <= 1.5)
    else:
        rate = statistics.median(rates)
        report(f"{label}: task-evaluations/s (median of {repeats})", rate, "/s", ">= 200/s", rate >= 200)
    if cached:
        report(f"{label}: cached re-run wall time, 0 model calls", statistics.median(cached_walls), "s", "", None)


def memory_child(tasks: int, workers: int) -> None:
    """Runs in its own process so ru_maxrss is this run's peak alone; prints one JSON line."""
    os.environ["GUARDRAIL_SIM_LATENCY_SCALE"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        spec = _project(Path(tmp), tasks, ["sim/frontier"])
        wall, outcome = _run(spec, workers)
        stamps = sorted(r.finished_at.timestamp() for r in outcome.rows if r.finished_at)
        tenth = max(1, len(stamps) // 10)
        started = stamps[0] - (stamps[tenth] - stamps[0]) / tenth  # about when the first row started
        first = tenth / (stamps[tenth - 1] - started)
        last = tenth / (stamps[-1] - stamps[-tenth - 1])
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {"rows": len(outcome.rows), "wall": wall, "peak_mb": peak_mb, "first": first, "last": last}
        print(json.dumps({**result, "workers": outcome.manifest.workers}))


def _tree_pss_mb(pid: int) -> float:
    """Proportional set size of a process and its descendants (Linux): shared pages counted once, split
    between the processes sharing them, which RSS would count again in every forked worker."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # it ended meanwhile
    return total / 1024


def bench_memory(tasks: int, workers: int) -> None:
    argv = [sys.executable, __file__, "--memory-child", str(tasks), "--workers", str(workers)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_pss = 0.0
    while proc.poll() is None:
        peak_pss = max(peak_pss, _tree_pss_mb(proc.pid))
        time.sleep(0.25)
    out, err = proc.communicate()
    if proc.returncode != 0:
        print(err[-3000:])
        raise SystemExit("memory benchmark failed")
    data = json.loads(out.strip().splitlines()[-1])
    label = f"{tasks} tasks on sim/frontier, {data['workers']} process(es)"
    if data["workers"] == 1:
        report(f"{label}: peak RSS", data["peak_mb"], "MB", "<= 600 MB", data["peak_mb"] <= 600)
    report(f"{label}: peak PSS, all processes", peak_pss, "MB", "<= 600 MB", peak_pss <= 600)
    report(f"{label}: task-evaluations/s overall", data["rows"] / data["wall"], "/s", "", None)
    report(f"{label}: throughput first tenth", data["first"], "/s", "", None)
    report(f"{label}: throughput last tenth", data["last"], "/s", "", None)
    ratio = data["last"] / data["first"]
    report(f"{label}: last/first tenth", ratio, "x", "~1 (flat)", ratio >= 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("latency", "zero", "cached", "memory"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-tasks", type=int, default=20_000)
    parser.add_argument("--workers", type=int, help="replay processes (default: the runner's own choice)")
    parser.add_argument("--transport", choices=("auto", "litellm"), default="auto", help="the eval spec's transport")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    global WORKERS, TRANSPORT
    WORKERS, TRANSPORT = args.workers, args.transport
    if args.memory_child:
        memory_child(args.memory_child, args.workers or 1)
        return
    print(
        f"guardrail runner benchmark · {os.cpu_count()} cores · load {os.getloadavg()[0]:.1f} · transport {TRANSPORT}",
        flush=True,
    )
    from guardrail.adapters import llm

    llm.preload()  # import cost (~4 s) paid once here, not inside the first timing; bare litellm gets our settings

    if args.only in (None, "latency"):
        bench_server(200, args.repeats, cached=False)
        bench_server(200, args.repeats, cached=False, tools=False)
    if args.only in (None, "zero", "cached"):
        bench_server(0, args.repeats, cached=args.only in (None, "cached"))
    if args.only in (None, "memory"):
        bench_memory(args.memory_tasks, 1)  # the target's case: one process
        if (os.cpu_count() or 1) > 1:
            bench_memory(args.memory_tasks, os.cpu_count() or 1)


if __name__ == "__main__":
    main()
