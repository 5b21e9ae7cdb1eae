"""Audit throughput and memory: events/s through normalisation + the action policy, and peak memory.

    python bench/bench_audit.py                      # 1,000,000 execute_tool spans, embedded engine, one core
    python bench/bench_audit.py --spans 100000 --sizes 100000,1000000
    python bench/bench_audit.py --ray 1,2            # also Ray Data with 1 and 2 workers (needs guardrail[ray])
    python bench/bench_audit.py --long 100000        # also traces of 200 calls, where histories are 64 deep

Targets (issue 13): >= 20,000 events/s on one core with the embedded engine; peak memory <= 500 MB whatever the
input size. The spans are generated like a production export: one `resourceSpans` line per agent run (an
`invoke_agent` span naming the agent, written after its `execute_tool` children, which do not), realistic arguments
(order ids, queues, amounts), and a person's approval before each checkpointed call. Each measurement runs in a
fresh process pinned to one CPU (the policy worker it forks inherits the pin), so "one core" means one core in
total; peak memory is the high-water RSS of that process plus its policy worker.

The CPU time per event is printed beside the rate (the machine is shared: it moves less with the load), and the
action policy's evaluation alone (the same batches, regorus in-process, only the evaluation timed) is measured
separately: it is the floor no change outside the policy engine can go below.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_EVENTS_PER_S = 20_000
TARGET_PEAK_MB = 500

# agent -> (tools with an argument maker each), all granted in examples/roster.yaml
WORK = {
    "support-triage": ["crm.lookup_order", "tickets.route", "payments.refund"],
    "refunds": ["crm.lookup_order", "crm.lookup_customer", "payments.refund", "email.send"],
    "lead-qualification": ["crm.lookup_lead", "web.search", "crm.update_lead", "calendar.book"],
    "content-writer": ["docs.search", "web.search", "cms.draft", "cms.publish"],
    "research": ["web.search", "web.fetch", "docs.search"],
}
CHECKPOINTED = {"payments.refund", "email.send", "calendar.book", "cms.publish"}


def _args(tool: str, rng: random.Random, n: int) -> dict[str, object]:
    ref = f"LK-{rng.randint(10000, 99999)}"
    if tool in ("crm.lookup_order", "crm.lookup_customer"):
        return {"order_id": ref}
    if tool == "tickets.route":
        return {"ticket": f"T-{n}", "queue": rng.choice(["billing", "shipping", "returns", "technical"])}
    if tool == "payments.refund":
        return {"order_id": ref, "amount": rng.choice([19.0, 40.0, 129.0])}
    if tool == "email.send":
        return {"template": "refund_confirmation", "order_id": ref}
    if tool in ("web.search", "docs.search"):
        return {"q": rng.choice(["tent care", "trail shoes sizing", "winter gloves", "stove fuel"])}
    if tool == "web.fetch":
        return {"url": f"https://reviews.example/{rng.randint(1, 500)}"}
    if tool in ("crm.lookup_lead", "crm.update_lead", "calendar.book"):
        return {"lead_id": f"L-{rng.randint(1000, 9999)}", "score": rng.randint(1, 99)}
    return {"title": f"draft {n}"}


def _attr(key: str, value: str) -> dict[str, object]:
    return {"key": key, "value": {"stringValue": value}}


def generate(path: Path, spans: int, seed: int = 7, run_calls: tuple[int, int] = (3, 6)) -> None:
    """`spans` execute_tool spans in runs of 3-6 calls (or `run_calls`), one line per run."""
    rng = random.Random(seed)
    t0 = 1_796_000_000_000_000_000  # 2026-11-28 in Unix nanoseconds
    written = run = 0
    with path.open("w", encoding="utf-8") as out:
        while written < spans:
            agent = rng.choice(list(WORK))
            trace = f"{run:032x}"
            root = f"{run:016x}"
            items = []
            for k in range(min(rng.randint(*run_calls), spans - written)):
                tool = rng.choice(WORK[agent])
                start = t0 + (run * 60 + k) * 1_000_000_000
                if tool in CHECKPOINTED:
                    items.append(
                        {
                            "traceId": trace,
                            "spanId": f"{run:010x}a{k:05x}",
                            "parentSpanId": root,
                            "name": "approval",
                            "startTimeUnixNano": str(start - 1000),
                            "attributes": [
                                _attr("guardrail.approval.tool", tool),
                                _attr("guardrail.approval.approver", "lead"),
                            ],
                        }
                    )
                items.append(
                    {
                        "traceId": trace,
                        "spanId": f"{run:010x}{k:06x}",
                        "parentSpanId": root,
                        "name": f"execute_tool {tool}",
                        "startTimeUnixNano": str(start),
                        "attributes": [
                            _attr("gen_ai.operation.name", "execute_tool"),
                            _attr("gen_ai.tool.name", tool),
                            _attr("gen_ai.tool.call.arguments", json.dumps(_args(tool, rng, written))),
                        ],
                    }
                )
                written += 1
            items.append(
                {
                    "traceId": trace,
                    "spanId": root,
                    "name": f"invoke_agent {agent}",
                    "startTimeUnixNano": str(t0 + run * 60_000_000_000),
                    "attributes": [_attr("gen_ai.operation.name", "invoke_agent"), _attr("gen_ai.agent.name", agent)],
                }
            )
            out.write(json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": items}]}]}) + "\n")
            run += 1


def measure_embedded(path: Path) -> dict[str, float]:
    """In this process (pinned to one CPU by the caller): the audit as `guardrail audit FILE --no-track` runs it
    (app/audit.run_audit: load the roster and policies, read, assemble, judge and tally every event, the audit
    rules), without writing the reports."""
    from guardrail.app.audit import AuditOptions, run_audit

    options = AuditOptions(traces=[path], roster=REPO / "examples" / "roster.yaml", policies=REPO / "policies")
    started = time.perf_counter()
    cpu = time.process_time()
    report = run_audit(options)  # closes its policy worker, so the worker's CPU is in RUSAGE_CHILDREN below
    wall = time.perf_counter() - started
    own_cpu = time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "events": report.scorecard.tool_calls,
        "violating": sum(a.violating_calls for a in report.scorecard.agents),
        "wall_s": wall,
        "cpu_s": own_cpu + children.ru_utime + children.ru_stime,
        "peak_mb": (own.ru_maxrss + children.ru_maxrss) / 1024,
    }


def measure_policy(path: Path, sample: int) -> dict[str, float]:
    """The floor: the batches the audit sends for the first `sample` calls, evaluated by regorus in this process.
    Only the evaluation is timed (CPU): reading, assembly and building the batches are not counted."""
    from guardrail.adapters.rego import RegoEngine, to_json
    from guardrail.adapters.roster_file import load_roster
    from guardrail.adapters.traces import observations
    from guardrail.app.audit import catalog_aliases
    from guardrail.app.audit_policy import BATCH_SIZE, agent_contexts, batch_document, judged
    from guardrail.app.audit_stream import TraceAssembler
    from guardrail.app.engine import load_policies
    from guardrail.core.action import ACTION_QUERY

    roster = load_roster(REPO / "examples" / "roster.yaml").roster
    bundle = load_policies(REPO / "policies")
    contexts = agent_contexts(roster)
    contexts_json = {name: to_json(context) for name, context in contexts.items()}
    engine = RegoEngine(bundle)
    assembler = TraceAssembler(catalog_aliases(bundle))
    cpu, decided, batch = 0.0, 0, []

    def evaluate() -> float:
        document = batch_document(batch, contexts_json)
        started = time.process_time()
        answer = engine.eval_rule_json(ACTION_QUERY, document)
        spent = time.process_time() - started
        assert isinstance(json.loads(answer), list)
        batch.clear()
        return spent

    def items():  # type: ignore[no-untyped-def]
        for observation in observations(path):
            yield from assembler.feed(observation)
        yield from assembler.finish()

    agents = set(contexts)
    for item in items():
        if judged(item.event, agents):
            batch.append(item)
            decided += 1
            if len(batch) == BATCH_SIZE:
                cpu += evaluate()
            if decided >= sample:
                break
    if batch:
        cpu += evaluate()
    return {"decided": decided, "cpu_s": cpu}


def run_child(mode: str, path: Path, extra: list[str]) -> dict[str, float]:
    code = [sys.executable, __file__, "--child", mode, "--file", str(path), *extra]
    proc = subprocess.run(code, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--sizes", default="", help="also measure peak memory at these sizes (comma-separated)")
    parser.add_argument("--ray", default="", help="Ray worker counts to measure, e.g. 1,2")
    parser.add_argument("--policy-sample", type=int, default=200_000, help="calls in the policy-alone measurement")
    parser.add_argument("--long", type=int, default=0, help="also N spans in traces of 200 calls (deep histories)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--file", default="", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child in ("embedded", "policy"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        path = Path(args.file)
        print(json.dumps(measure_embedded(path) if args.child == "embedded" else measure_policy(path, args.sample)))
        return
    if args.child == "ray":
        from bench.bench_audit_ray import measure_ray

        print(json.dumps(measure_ray(Path(args.file), args.workers, REPO)))
        return
    one, five, fifteen = os.getloadavg()
    print(f"load: {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)")
    sizes = sorted({args.spans, *(int(s) for s in args.sizes.split(",") if s)})
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"spans-{size}.jsonl"
            generate(path, size)
            mb = path.stat().st_size / 2**20
            got = run_child("embedded", path, [])
            rate = got["events"] / got["wall_s"]
            cpu_us = got["cpu_s"] / got["events"] * 1e6
            print(
                f"embedded, one core, {size:,} execute_tool spans ({mb:,.0f} MB of OTLP/JSON): "
                f"{rate:,.0f} events/s (target >= {TARGET_EVENTS_PER_S:,}: ratio {rate / TARGET_EVENTS_PER_S:.2f}); "
                f"{cpu_us:.0f} us of CPU per event (a free core: {1e6 / cpu_us:,.0f} events/s); "
                f"peak {got['peak_mb']:.0f} MB (target <= {TARGET_PEAK_MB})"
            )
            if size == args.spans and args.policy_sample > 0:
                alone = run_child("policy", path, ["--sample", str(args.policy_sample)])
                policy_us = alone["cpu_s"] / alone["decided"] * 1e6
                print(
                    f"  of which the action policy alone (regorus, in-process, batches of 1,000, first "
                    f"{alone['decided']:,.0f} calls): {policy_us:.0f} us of CPU per call, a ceiling of "
                    f"{1e6 / policy_us:,.0f} events/s on one core if nothing else ran; everything else (reading, "
                    f"normalisation, assembly, batch building, the worker round trip, tallies): "
                    f"{cpu_us - policy_us:.0f} us"
                )
            for workers in (int(w) for w in args.ray.split(",") if w):
                ray = run_child("ray", path, ["--workers", str(workers)])
                ray_rate = ray["events"] / ray["wall_s"]
                print(
                    f"ray, {workers} worker(s), {size:,} spans: {ray_rate:,.0f} events/s "
                    f"({ray['wall_s']:.1f} s, of which {ray['startup_s']:.1f} s starting Ray); "
                    f"vs embedded: {ray_rate / rate:.2f}x; same findings: {ray['violating'] == got['violating']}"
                )
            path.unlink()
        if args.long:
            from guardrail.app.audit_stream import HISTORY_MAX

            path = Path(tmp) / "long.jsonl"
            generate(path, args.long, run_calls=(200, 200))
            got = run_child("embedded", path, [])
            print(
                f"embedded, one core, {args.long:,} spans in traces of 200 calls (histories {HISTORY_MAX} deep): "
                f"{got['events'] / got['wall_s']:,.0f} events/s; {got['cpu_s'] / got['events'] * 1e6:.0f} us of CPU "
                f"per event; peak {got['peak_mb']:.0f} MB"
            )
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
