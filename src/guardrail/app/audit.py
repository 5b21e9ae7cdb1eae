"""`guardrail audit`: apply the same policies to what agents did in production.

    trace files -> observations (adapters/traces*) -> events, one trace at a time (audit_stream)
       -> the action policy in batches (audit_policy) -> tallies per agent and day (audit_score)
       -> the audit rules over the window (policies/audit) -> findings + scorecard (AuditReport)

The embedded path streams: memory is bounded by the trace buffer and the tallies, not by the number of events.
`engine="ray"` runs normalisation and the action policy as Ray Data tasks instead (app/audit_ray.py) and feeds
the same tallies, so both engines report the same findings.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import guardrail
from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, PolicyBundle, PolicyEngine
from guardrail.adapters.rego_meta import parse_metadata
from guardrail.adapters.roster_file import load_roster
from guardrail.adapters.traces import observations, trace_files
from guardrail.app.audit_policy import (
    BATCH_SIZE,
    BatchJudge,
    action_finding,
    agent_contexts,
    audit_rule_findings,
)
from guardrail.app.audit_score import Tally
from guardrail.app.audit_stream import Judgeable, TraceAssembler, Window

if TYPE_CHECKING:
    from guardrail.app.audit_ray import RayCounters
from guardrail.app.engine import load_policies, open_engine
from guardrail.app.governance import load_waivers
from guardrail.collector import collecting_rarely
from guardrail.core.audit import AuditFinding, AuditReport, TraceEvent
from guardrail.core.findings import SEVERITY_ORDER, apply_waivers
from guardrail.core.hashing import policies_hash
from guardrail.core.llm import sim_profile
from guardrail.errors import ConfigError

Engine = Literal["local", "ray"]
MAX_LISTED = 1000  # findings listed per (agent, rule); the rest are counted


@dataclass
class AuditOptions:
    traces: list[Path]
    roster: Path
    policies: Path
    since: datetime | None = None
    until: datetime | None = None
    default_agent: str | None = None
    engine: Engine = "local"
    ray_address: str | None = None
    ray_workers: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_listed: int = MAX_LISTED
    today: date | None = None
    opa_url: str | None = None  # the action and audit policies on this OPA server (the local engine only)


@dataclass
class _Sink:
    """Findings, listed up to a cap per (agent, rule) and counted beyond it (memory flat in the violations)."""

    cap: int
    listed: list[AuditFinding] = field(default_factory=list)
    counts: dict[tuple[str | None, str], int] = field(default_factory=dict)
    not_listed: dict[str, int] = field(default_factory=dict)

    def add(self, finding: AuditFinding) -> None:
        key = (finding.agent, finding.rule)
        seen = self.counts.get(key, 0)
        self.counts[key] = seen + 1
        if seen < self.cap:
            self.listed.append(finding)
        else:
            label = f"{finding.agent} {finding.rule}"
            self.not_listed[label] = self.not_listed.get(label, 0) + 1


def catalog_aliases(bundle: PolicyBundle) -> dict[str, str]:
    """Runtime tool names -> catalog names, from `aliases:` in the governance catalog (policies/data/catalog.yaml)."""
    tools = (bundle.data.get("catalog") or {}).get("tools") or {}
    out: dict[str, str] = {}
    for name, entry in tools.items():
        for alias in (entry or {}).get("aliases") or [] if isinstance(entry, dict) else []:
            out[str(alias)] = name
    return out


def list_price(model_id: str, input_tokens: int, output_tokens: int) -> float | None:
    """Tokens at the model's list price; None when nobody priced the model. Simulated models are priced from their
    profiles (what the runner registers with litellm), so the demo needs no litellm import."""
    from guardrail.adapters import sim_profiles

    name = sim_profile(model_id)
    if name is not None:
        profile = sim_profiles.PROFILES.get(name)
        if profile is None:
            return None
        return input_tokens * profile.input_cost_per_token + output_tokens * profile.output_cost_per_token
    from guardrail.adapters import llm

    cost = llm.token_cost(model_id, input_tokens, output_tokens)
    return cost if cost > 0 or (input_tokens == 0 and output_tokens == 0) else None


def judge_stream(
    items: Iterable[Judgeable], judge: BatchJudge, *, batch_size: int = BATCH_SIZE
) -> Iterator[tuple[TraceEvent, list[dict[str, Any]] | None]]:
    """Each event with the action policy's violations (None for events the action policy does not judge)."""
    batch: list[Judgeable] = []

    def flush() -> Iterator[tuple[TraceEvent, list[dict[str, Any]] | None]]:
        yield from zip((j.event for j in batch), judge.verdicts(batch), strict=True)
        batch.clear()

    for item in items:
        batch.append(item)
        if len(batch) >= batch_size:
            yield from flush()
    yield from flush()


def local_events(files: list[Path], assembler: TraceAssembler) -> Iterator[Judgeable]:
    for path in files:
        for observation in observations(path):
            yield from assembler.feed(observation)
    yield from assembler.finish()


def run_audit(options: AuditOptions) -> AuditReport:
    if options.since and options.until and options.since >= options.until:
        raise ConfigError("--since must be before --until", field="--since")
    if options.opa_url and options.engine == "ray":
        raise ConfigError(
            "--engine ray evaluates on each Ray worker's embedded engine, not on an OPA server",
            field="--opa-url",
            hint="drop --opa-url, or audit with --engine local",
        )
    loaded = load_roster(options.roster)
    roster = loaded.roster
    bundle = load_policies(options.policies)
    metas = {m.id: m for m in parse_metadata(bundle) if m.id}
    files = trace_files(options.traces)
    if options.default_agent is not None and roster.agent(options.default_agent) is None:
        raise ConfigError(f"unknown agent {options.default_agent!r}: not in {loaded.path}", field="--agent")
    window = Window(options.since, options.until)
    contexts = agent_contexts(roster)
    tally = Tally(roster, list_price)
    sink = _Sink(options.max_listed)
    engine: PolicyEngine = open_engine(bundle, timeout_s=options.timeout_s, opa_url=options.opa_url)
    by_source: dict[str, int] = {}
    counters: RayCounters | TraceAssembler
    stream: Iterator[tuple[TraceEvent, list[dict[str, Any]] | None]] = iter(())
    try:
        if options.engine == "ray":
            from guardrail.app.audit_ray import ray_judged_events

            stream, counters = ray_judged_events(
                files,
                bundle=bundle,
                contexts=contexts,
                aliases=catalog_aliases(bundle),
                default_agent=options.default_agent,
                window=window,
                address=options.ray_address,
                workers=options.ray_workers,
            )
        else:
            assembler = TraceAssembler(catalog_aliases(bundle), default_agent=options.default_agent, window=window)
            judge = BatchJudge(engine, contexts)
            stream = judge_stream(local_events(files, assembler), judge)
            counters = assembler
        with collecting_rarely():
            for event, violations in stream:
                tally.add(event, violations)
                for violation in violations or ():
                    sink.add(action_finding(event, violation, metas))
        by_source = dict(counters.by_source)
        rule_findings = audit_rule_findings(engine, tally.rules_input(options.since, options.until), metas, tally.where)
    finally:
        if isinstance(stream, Generator):
            stream.close()  # even when the loop above failed: a Ray audit's stream then shuts its Ray down
        engine.close()
    for finding in rule_findings:
        sink.add(finding)
    waivers = load_waivers(bundle, options.policies)
    findings = apply_waivers(list(sink.listed), waivers, options.today or date.today())
    scorecard = tally.scorecard(options.since, options.until, by_source)
    scorecard.outside_window = counters.outside_window
    created = datetime.now(UTC)
    return AuditReport(
        id=f"audit-{created:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",
        created=created,
        inputs=[str(p) for p in files],
        roster=loaded.path,
        policies=str(options.policies),
        policy_hash=policies_hash(options.policies),
        guardrail_version=guardrail.__version__,
        engine=options.engine,
        findings=sort_audit_findings(findings),  # type: ignore[arg-type]
        not_listed=sink.not_listed,
        rules=[
            {
                "id": m.id,
                "title": m.title,
                "description": m.description,
                "severity": m.severity,
                "controls": list(m.controls),
                "source": f"{m.path}:{m.line}",
            }
            for m in metas.values()
            if m.package.startswith(("data.action", "data.audit"))
        ],
        scorecard=scorecard,
    )


def sort_audit_findings(findings: list[AuditFinding]) -> list[AuditFinding]:
    """Blocking first, then by agent, severity, rule and time: the order an auditor reads them in."""
    return sorted(
        findings,
        key=lambda f: (
            not f.blocking,
            f.agent or "",
            SEVERITY_ORDER.get(f.severity, 9),
            f.rule,
            f.time.isoformat() if f.time else "",
            f.trace_id or "",
            f.span_id or "",
        ),
    )


__all__ = [
    "AuditOptions",
    "catalog_aliases",
    "judge_stream",
    "list_price",
    "local_events",
    "run_audit",
    "sort_audit_findings",
]
