"""The Ray half of bench/bench_audit.py (imported only with --ray, in a child process): the same events through
`guardrail audit --engine ray`'s pipeline with N policy workers on a local Ray started for the measurement."""

from __future__ import annotations

import time
from pathlib import Path


def measure_ray(path: Path, workers: int, repo: Path) -> dict[str, float]:
    from guardrail.adapters import ray_data
    from guardrail.adapters.roster_file import load_roster
    from guardrail.app.audit import catalog_aliases
    from guardrail.app.audit_policy import agent_contexts
    from guardrail.app.audit_ray import ray_judged_events
    from guardrail.app.audit_stream import Window
    from guardrail.app.engine import load_policies

    roster = load_roster(repo / "examples" / "roster.yaml").roster
    bundle = load_policies(repo / "policies")
    started = time.perf_counter()
    stream, counters = ray_judged_events(
        [path],
        bundle=bundle,
        contexts=agent_contexts(roster),
        aliases=catalog_aliases(bundle),
        default_agent=None,
        window=Window(),
        workers=workers,
    )
    events = violating = 0
    for event, violations in stream:
        events += event.kind == "tool_call"
        violating += bool(violations)
    wall = time.perf_counter() - started
    ray_data.shutdown()
    return {"events": events, "violating": violating, "wall_s": wall, "startup_s": counters.startup_s}
