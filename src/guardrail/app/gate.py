"""`guardrail gate`: may this roster change merge? Python gathers the facts, the trusted Rego gate policy decides.

Facts: the roster diff against the base (a file or a git ref), the roster policies' findings on the new roster,
what the change does to the policies and eval specs the gate trusts, and for every model switch the evidence on
disk with its checks (app/gate_evidence). With `--base-ref` every policy, policy data file, eval spec and suite the
decision rests on is the base's (app/trusted), never the change's own. The decision is `data.gate.change.decision`;
anything unexpected about it (no gate policy, an engine error, an answer of the wrong shape) is an error, never a pass.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guardrail.adapters.evidence_store import read_dir
from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, UNDEFINED, PolicyBundle, PolicyEngine
from guardrail.adapters.roster_file import LoadedRoster, load_roster, roster_at_ref
from guardrail.app.engine import load_policies, open_engine
from guardrail.app.evidence import evidence_key
from guardrail.app.gate_evidence import EvidenceView, Wanted, select_evidence
from guardrail.app.gate_fixes import FixCommands
from guardrail.app.gate_report import GateItem, GateReport, place
from guardrail.app.governance import load_approvals
from guardrail.app.roster_check import check_references, roster_findings
from guardrail.app.trusted import TrustedTree, open_trusted
from guardrail.core.diff import Change, diff_rosters
from guardrail.errors import ConfigError, EngineError, GuardrailError, PolicyError
from guardrail.project import Project

GATE_PACKAGE = "data.gate.change"
GATE_QUERY = f"{GATE_PACKAGE}.decision"
DEFAULT_MAX_AGE_DAYS = 30.0
EVIDENCE_KINDS = ("model_switch", "agent_added")


def _load_base(
    roster_path: Path, project: Project, base_path: Path | None, base_ref: str | None, catalog: Path
) -> tuple[LoadedRoster, str]:
    if base_path is not None:
        return load_roster(base_path, catalog_dir=catalog), project.display(base_path)
    assert base_ref is not None
    label = f"{base_ref}:{project.display(roster_path)}"
    return roster_at_ref(roster_path, base_ref, display=project.display, catalog_dir=catalog), label


def _require_gate(engine: PolicyEngine, policies_dir: Path) -> None:
    """Insist on a gate policy: without one nothing could ever be allowed."""
    if GATE_PACKAGE not in engine.packages():
        raise PolicyError(
            f"{policies_dir}: no gate policy (package gate.change), so no change can be allowed",
            hint="copy policies/gate/change.rego from guardrail's repository",
        )


def _catalog(bundle: PolicyBundle) -> dict[str, Any]:
    catalog = bundle.data.get("catalog")
    tools = catalog.get("tools") if isinstance(catalog, dict) else None
    return tools if isinstance(tools, dict) else {}


class _Evidence:
    """Which agent|model keys need evidence, from which official spec (trusted) and for which suites."""

    def __init__(self, changes: list[Change], base: LoadedRoster, head: LoadedRoster, trusted: TrustedTree) -> None:
        self.wanted: dict[str, Wanted] = {}
        self.problems: dict[str, str | None] = {}
        for change in changes:
            if change.kind not in EVIDENCE_KINDS:
                continue
            new = head.roster.agent(change.agent)
            old = base.roster.agent(change.agent)
            # an existing agent's official spec and suites are the base's: the change cannot re-point or drop them
            source = old if old is not None else new
            suites = list(dict.fromkeys([*(old.suites if old else []), *(new.suites if new else [])]))
            official, problem = trusted.specs.official(change.agent, source.eval_spec if source else None)
            key = f"{change.agent}|{self.model(change)}"
            self.wanted[key] = Wanted(suites=suites, official_spec=official)
            self.problems[key] = problem

    @staticmethod
    def model(change: Change) -> str:
        return str(change.details.get("to") if change.kind == "model_switch" else change.details.get("model"))

    def change_input(self, change: Change, fixes: FixCommands, evidence: dict[str, EvidenceView]) -> dict[str, Any]:
        item: dict[str, Any] = change.model_dump(mode="json")
        item["key"] = change.key
        if change.kind in EVIDENCE_KINDS:
            key = f"{change.agent}|{self.model(change)}"
            official = self.wanted[key].official_spec
            item.update(evidence_key=key, official_spec=official, official_spec_problem=self.problems[key])
            item["fix"] = fixes(change.agent, self.model(change), official, self.problems[key])
        return item


def _items(raw: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(i, dict) and isinstance(i.get("msg"), str) for i in raw):
        raise EngineError(f"the gate policy's {what} are not a list of {{rule, msg}} objects", hint=f"see {GATE_QUERY}")
    return raw


def _sorted(items: list[GateItem]) -> list[GateItem]:
    return sorted(items, key=lambda i: (i.change_index if i.change_index is not None else -1, i.rule, i.msg))


def run_gate(
    roster_path: Path,
    *,
    policies_dir: Path,
    base_path: Path | None = None,
    base_ref: str | None = None,
    evidence_dir: Path | None = None,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    now: datetime | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    opa_url: str | None = None,
) -> GateReport:
    """Diff, check, gather evidence, ask the trusted policy. Raises on anything that prevents a real decision."""
    if (base_path is None) == (base_ref is None):
        raise ConfigError(
            "say what to compare against: --base-ref REF (e.g. origin/main) or --base FILE",
            field="--base-ref",
            hint="the gate never passes by default, so it needs a base",
        )
    key = evidence_key()  # an empty key is bad input before any work
    with tempfile.TemporaryDirectory(prefix="guardrail-base-") as scratch:
        project = Project.find(roster_path)
        try:
            trusted = open_trusted(project, policies_dir, base_ref, Path(scratch))
            return _decide(
                roster_path,
                project,
                trusted,
                base_path,
                base_ref,
                evidence_dir,
                key,
                max_age_days,
                (now or datetime.now(UTC)).astimezone(UTC),
                timeout_s,
                opa_url,
            )
        except GuardrailError as exc:
            # a file of the base is named as git names it (`origin/main:policies/...`), not by the scratch folder
            for folder in {scratch, str(Path(scratch).resolve())} if base_ref is not None else ():
                _relabel(exc, f"{folder}/", f"{base_ref}:")
            raise


def _relabel(error: GuardrailError, scratch: str, label: str) -> None:
    error.message = error.message.replace(scratch, label)
    error.args = tuple(a.replace(scratch, label) if isinstance(a, str) else a for a in error.args)
    if isinstance(getattr(error, "path", None), str):
        error.path = error.path.replace(scratch, label)  # type: ignore[attr-defined]


def _decide(
    roster_path: Path,
    project: Project,
    trusted: TrustedTree,
    base_path: Path | None,
    base_ref: str | None,
    evidence_dir: Path | None,
    key: bytes | None,
    max_age_days: float,
    moment: datetime,
    timeout_s: float,
    opa_url: str | None,
) -> GateReport:
    """The roster policies run in the engine's process while this one reads the base, diffs and checks evidence:
    on two cores that overlap is most of a cold gate's budget."""
    bundle = load_policies(trusted.policies_dir)
    load_approvals(bundle, trusted.policies_dir)
    # The engine process is forked here, before any other thread or subprocess exists: a fork racing `git show`
    # would inherit git's pipes and keep them open, and the gate would wait for git's output forever. It loads
    # the policies while this process reads the head roster.
    engine = open_engine(bundle, timeout_s=timeout_s, opa_url=opa_url, wait=False)
    try:
        head = load_roster(roster_path, catalog_dir=trusted.policies_dir / "data")  # subagents' tools, trusted aliases
        _require_gate(engine, trusted.policies_dir)
    except BaseException:
        engine.close()
        raise
    head_label = project.display(roster_path)
    # roster findings are located with the path as users (and GitHub) read it
    head_for_findings = LoadedRoster(head.roster, replace(head.doc, path=head_label), head.findings)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-roster")
    roster_side = pool.submit(roster_findings, engine, bundle, head_for_findings, trusted.policies_dir, moment.date())
    try:
        base, base_label = _load_base(roster_path, project, base_path, base_ref, trusted.policies_dir / "data")
        changes = diff_rosters(
            base.roster,
            head.roster,
            base_path=base_label,
            head_path=head_label,
            base_lines=base.doc.line_of,
            head_lines=head.doc.line_of,
            catalog=_catalog(bundle),
            base_paths=base.path_of,
            head_paths=head_for_findings.path_of,
        )
        # the suites and specs the changed agents name exist here (roster check verifies every agent)
        check_references(head, trusted.head_specs, project, {c.agent for c in changes})
        needs = _Evidence(changes, base, head, trusted)
        specs = sorted({w.official_spec for w in needs.wanted.values() if w.official_spec})
        trusted.fetch_suites(specs, sorted({s for w in needs.wanted.values() for s in w.suites}))
        shelf = evidence_dir if evidence_dir is not None else project.evidence
        stored = read_dir(shelf) if needs.wanted else []
        evidence = select_evidence(stored, needs.wanted, current=trusted.current, key=key, now=moment, project=project)
        fixes = FixCommands(trusted.specs, signed=key is not None, drift=trusted.drift)
        change_inputs = [needs.change_input(c, fixes, evidence) for c in changes]
        findings = roster_side.result()
    except BaseException:
        pool.shutdown(wait=True)
        engine.close()
        raise
    pool.shutdown(wait=True)
    deny = [f for f in findings if f.kind == "deny"]
    gate_input = {
        "changes": change_inputs,
        "findings": [
            {"rule": f.rule, "agent": f.agent, "msg": f.msg, "severity": f.severity, "waived": f.waiver is not None}
            for f in deny
        ],
        "evidence": {k: v.model_dump(mode="json") for k, v in evidence.items()},
        "policy": {
            "source": trusted.source,
            "trusted": trusted.trusted,
            "changes": [c.model_dump() for c in trusted.policy_changes],
            "change_key": trusted.proposal_key(),
            "governance_changes": [c.model_dump() for c in trusted.governance_changes],
        },
        "now": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": {"max_evidence_age_days": max_age_days},
    }
    try:
        answer = engine.query(GATE_QUERY, gate_input)
    finally:
        engine.close()

    if answer is UNDEFINED or not isinstance(answer, dict) or not isinstance(answer.get("allow"), bool):
        raise EngineError(f"{GATE_QUERY} gave no decision (expected {{allow, blocking, warnings}})")
    blocking = [place(i, changes, deny) for i in _items(answer.get("blocking"), "blocking reasons")]
    warnings = [place(i, changes, deny) for i in _items(answer.get("warnings", []), "warnings")]
    return GateReport(
        roster=head_label,
        base=base_label,
        policies=project.display(trusted.head_policies),
        policy_source=trusted.source,
        now=gate_input["now"],
        changes=changes,
        policy_changes=trusted.policy_changes,
        governance_changes=trusted.governance_changes,
        findings=findings,
        evidence=evidence,
        unreadable_evidence=[project.display(s.path) for s in stored if s.payload is None],
        allow=answer["allow"] is True and not blocking,
        blocking=_sorted(blocking),
        warnings=_sorted(warnings),
    )


__all__ = ["GATE_QUERY", "EvidenceView", "FixCommands", "GateItem", "GateReport", "run_gate"]
