"""Roster check speed: cold `guardrail roster check` on a 200-agent roster, and roster-policy decisions per second.

Targets (issue 2): cold roster check <= 1.0 s (median); decisions/s on a 1,000-agent roster printed.
Run: .venv/bin/python bench/bench_roster.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, cold_cli, median_of, report


def generated_roster(agents: int) -> dict[str, object]:
    """The demo roster's catalog with `agents` agents cloned from its agents (names made unique)."""
    base = yaml.safe_load((REPO / "examples" / "roster.yaml").read_text())
    template = base["agents"]
    base["agents"] = []
    for index in range(agents):
        agent = dict(template[index % len(template)])
        agent["name"] = f"{agent['name']}-{index:04d}"
        agent.pop("eval_spec", None)  # the demo's specs are for the demo's agent names
        base["agents"].append(agent)
    return base


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        roster_200 = Path(tmp) / "roster-200.yaml"
        roster_200.write_text(yaml.safe_dump(generated_roster(200)))
        argv = ["roster", "check", str(roster_200), "--policies", str(REPO / "policies")]
        assert cold_cli(argv) in (0, 1)
        cold, _ = median_of(7, lambda: cold_cli(argv))
        report("cold `guardrail roster check`, 200 agents (median of 7)", cold, "s", "<= 1.0 s", cold <= 1.0)
        interpreter, _ = median_of(7, lambda: cold_cli(["--version"]))
        report("  of which interpreter + CLI start (`--version`)", interpreter, "s", "-", True)

        from guardrail.adapters.rego import EngineWorker
        from guardrail.adapters.roster_file import load_roster
        from guardrail.app.engine import load_policies
        from guardrail.core.action import ACTION_QUERY, action_input

        roster_1000 = Path(tmp) / "roster-1000.yaml"
        roster_1000.write_text(yaml.safe_dump(generated_roster(1000)))
        loaded = load_roster(roster_1000)
        bundle = load_policies(REPO / "policies")
        with EngineWorker(bundle) as worker:
            payload = loaded.roster.policy_input()
            worker.query("data.roster", payload)
            per_eval, _ = median_of(5, lambda: worker.query("data.roster", payload))
            report(
                "roster policies, 1,000 agents: agent decisions/s (median of 5)",
                1000 / per_eval,
                "agents/s",
                "printed",
                True,
            )
            agent = payload["agents"][0]
            asked = action_input(
                agent=agent,
                tools=payload["tools"],
                data_classes=payload["data_classes"],
                call=agent["tools"][0] if agent["tools"] else "tickets.route",
                args={},
            )
            n = 2000
            started = time.perf_counter()
            for _ in range(n):
                worker.query(ACTION_QUERY, asked)
            elapsed = time.perf_counter() - started
            report("action policy via the worker: decisions/s", n / elapsed, "dec/s", "printed", True)


if __name__ == "__main__":
    main()
