"""`guardrail gate`: may this roster change merge? Python gathers the facts, the Rego gate policy decides.

Facts: the roster diff against the base (a file or a git ref), the roster policies' findings on the new
roster, and for every model switch the best evidence on disk with its checks (content address, HMAC signature,
hashes against today's spec, suites and policies, age). The decision is `data.gate.change.decision`; anything
unexpected about it (no gate policy, an engine error, an answer of the wrong shape) is an error, never a pass.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from guardrail.adapters.evidence_store import StoredEvidence, read_dir
from guardrail.adapters.git import show_file
from guardrail.adapters.loading import load_yaml, schema_error
from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, UNDEFINED, PolicyBundle, PolicyEngine
from guardrail.adapters.roster_file import LoadedRoster, load_roster, parse_roster
from guardrail.app.engine import load_policies, open_engine
from guardrail.app.evidence import CurrentHashes, evidence_key, mismatched_hashes
from guardrail.app.roster_check import roster_findings
from guardrail.core.diff import Change, diff_rosters
from guardrail.core.evidence import address, signature_status
from guardrail.core.findings import Finding, FindingsDoc, Location
from guardrail.errors import ConfigError, EngineError, PolicyError
from guardrail.project import Project

GATE_PACKAGE = "data.gate.change"
GATE_QUERY = f"{GATE_PACKAGE}.decision"
DEFAULT_MAX_AGE_DAYS = 30.0
SIGNATURE_RANK = {"valid": 0, "not_required": 0, "missing": 1, "invalid": 2}


class Approval(BaseModel):
    """An approval record in `policies/data/approvals.yaml`; checked here so a typo is an input error (exit 2)
    rather than a policy evaluation error (exit 3)."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1)
    change: str = Field(pattern=r"^[a-z_]+:.+$")
    approver: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    approved_at: str
    expires: str

    @field_validator("approved_at", "expires", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> str:
        """`YYYY-MM-DD` or an RFC3339 time with a zone, as the policy's time functions read them; YAML's own
        dates and timestamps (unquoted) are accepted and written back that way."""
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                if len(value) == 10:
                    return date.fromisoformat(value).isoformat()
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise ValueError("expected a date (YYYY-MM-DD) or an RFC3339 time with a zone (2026-06-01T09:00:00Z)")


class EvidenceChecks(BaseModel):
    address_ok: bool
    signature: str
    hash_match: bool
    mismatched: list[str] = Field(default_factory=list)
    missing_suites: list[str] = Field(default_factory=list)
    age_days: float


class EvidenceView(BaseModel):
    """What the gate saw of one evidence file: the record's summary and its checks (never the signature)."""

    file: str
    agent: str
    model: str
    eval_name: str | None = None
    spec_path: str | None = None
    run_id: str | None = None
    created_at: str | None = None
    simulated: bool = False
    verdict: dict[str, Any] = Field(default_factory=dict)
    checks: EvidenceChecks


class GateItem(BaseModel):
    """A blocking reason or a warning from the policy, placed on a roster line."""

    rule: str
    msg: str
    fix: str | None = None
    agent: str | None = None
    change_index: int | None = None
    location: Location | None = None
    finding: Finding | None = None  # the roster finding behind a `roster_deny`


class GateReport(BaseModel):
    roster: str
    base: str
    policies: str
    now: str
    changes: list[Change]
    findings: list[Finding] = Field(default_factory=list)  # roster policy findings on the new roster
    evidence: dict[str, EvidenceView] = Field(default_factory=dict)
    unreadable_evidence: list[str] = Field(default_factory=list)
    allow: bool
    blocking: list[GateItem] = Field(default_factory=list)
    warnings: list[GateItem] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.allow and not self.blocking

    def findings_doc(self) -> FindingsDoc:
        """The neutral record the shared outputters render (text, JSON, JUnit, SARIF, GitHub, markdown)."""
        out: list[Finding] = []
        pairs: list[tuple[GateItem, Literal["deny", "warn"]]] = [
            *((b, "deny") for b in self.blocking),
            *((w, "warn") for w in self.warnings),
        ]
        for item, kind in pairs:
            msg = f"{item.msg}. Fix: {item.fix}" if item.fix and kind == "deny" else item.msg
            source = item.finding
            out.append(
                Finding(
                    rule=f"gate.{item.rule}",
                    kind=kind,
                    msg=msg,
                    agent=item.agent,
                    severity=source.severity if source else ("high" if kind == "deny" else "medium"),
                    controls=source.controls if source else (),
                    title=source.title if source else None,
                    policy="gate.change",
                    location=item.location,
                )
            )
        agents = list(dict.fromkeys(c.agent for c in self.changes))
        return FindingsDoc(
            title="gate",
            subject=f"{self.roster} (base {self.base})",
            passed=self.passed,
            findings=out,
            subjects=agents,
            notes=self.notes(),
        )

    def notes(self) -> list[str]:
        lines = [f"changes against {self.base}: {len(self.changes)}"]
        lines += [f"  - {c.describe()}  ({c.location})" for c in self.changes]
        for key, view in sorted(self.evidence.items()):
            c = view.checks
            verdict = "pass" if view.verdict.get("passed") is True else "fail"
            lines.append(
                f"evidence {key}: {view.file} run {view.run_id} verdict {verdict}, age {c.age_days:g}d, "
                f"hashes {'match' if c.hash_match else 'differ: ' + ', '.join(c.mismatched)}, "
                f"address {'ok' if c.address_ok else 'BROKEN'}, signature {c.signature}"
            )
        lines += [f"unreadable evidence file skipped: {path}" for path in self.unreadable_evidence]
        return lines


# --- inputs -------------------------------------------------------------------------------------------------


def _load_base(
    roster_path: Path, project: Project, base_path: Path | None, base_ref: str | None
) -> tuple[LoadedRoster, str]:
    if (base_path is None) == (base_ref is None):
        raise ConfigError(
            "say what to compare against: --base-ref REF (e.g. origin/main) or --base FILE",
            field="--base-ref",
            hint="the gate never passes by default, so it needs a base",
        )
    if base_path is not None:
        return load_roster(base_path), project.display(base_path)
    assert base_ref is not None
    label = f"{base_ref}:{project.display(roster_path)}"
    return parse_roster(show_file(roster_path, base_ref), label), label


_APPROVALS = TypeAdapter(list[Approval])


def normalise_approvals(bundle: PolicyBundle, policies_dir: Path) -> None:
    """Validate `data.approvals.approvals` and hand the policy dates as strings it can parse."""
    raw = bundle.data.get("approvals")
    if raw is None:
        return
    source = next(iter(sorted((policies_dir / "data").glob("approvals.*"))), None)

    def error(message: str, loc: tuple[str | int, ...]) -> ConfigError:
        if source is None:
            return ConfigError(message, field="data.approvals." + ".".join(map(str, loc)))
        return load_yaml(source).error(message, loc)

    if not isinstance(raw, dict):
        raise error("expected `approvals: [...]` at the top level", ())
    try:
        approvals = _APPROVALS.validate_python(raw.get("approvals") or [])
    except ValidationError as exc:
        doc = load_yaml(source) if source is not None else None
        raise schema_error(exc, doc, prefix=("approvals",) if doc else ("data", "approvals", "approvals")) from None
    bundle.data["approvals"] = {**raw, "approvals": [a.model_dump() for a in approvals]}


def _candidate_ids(spec: dict[str, Any] | None) -> list[str]:
    return [str(c.get("id") if isinstance(c, dict) else c) for c in (spec or {}).get("candidates") or []]


class FixCommands:
    """The exact command that produces missing evidence, from the project's eval specs.

    Specs are read once per gate with the lightweight loader (no suites, no roster): every model switch asks for
    its command, and most share a spec.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[str, dict[str, Any] | None] = {}

    def spec(self, rel: str) -> dict[str, Any] | None:
        if rel not in self._specs:
            try:
                data = load_yaml(self.root / rel).data if (self.root / rel).is_file() else None
            except ConfigError:
                data = None
            self._specs[rel] = data if isinstance(data, dict) else None
        return self._specs[rel]

    def find(self, agent: str, model: str) -> tuple[str | None, dict[str, Any]]:
        """The eval spec (relative path) for `agent` and its content, preferring one that lists `model`."""
        evals = self.root / "evals"
        paths = sorted([*evals.glob("*.yaml"), *evals.glob("*.yml")]) if evals.is_dir() else []
        fallback: tuple[str | None, dict[str, Any]] = (None, {})
        for path in paths:
            rel = path.relative_to(self.root).as_posix()
            spec = self.spec(rel)
            if spec is None or spec.get("agent") != agent:
                continue
            if model in _candidate_ids(spec):
                return rel, spec
            if fallback[0] is None:
                fallback = (rel, spec)
        return fallback

    def __call__(self, agent: str, model: str, spec_hint: str | None = None) -> str:
        """The spec's baseline runs beside the candidate: non-inferiority is judged against it on the same tasks."""
        hinted = self.spec(spec_hint) if spec_hint else None
        spec_path, spec = (spec_hint, hinted) if hinted is not None else self.find(agent, model)
        if spec_path is None:
            return (
                f"write an eval spec for {agent} under evals/ (agent: {agent}, candidates including {model}), "
                f"then: guardrail run evals/<name>.yaml --candidates {model}"
            )
        baseline = spec.get("baseline")
        models = [baseline, model] if isinstance(baseline, str) and baseline != model else [model]
        command = f"guardrail run {spec_path} --candidates {','.join(models)}"
        if model in _candidate_ids(spec):
            return command
        return f"add {model} to the candidates in {spec_path}, then: {command}"


# --- evidence -----------------------------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def inspect_evidence(
    stored: StoredEvidence,
    *,
    required_suites: list[str],
    current: CurrentHashes,
    key: bytes | None,
    now: datetime,
    display: str,
) -> EvidenceView:
    payload = stored.payload or {}
    created = _parse_time(payload.get("created_at"))
    mismatched = mismatched_hashes(payload, current)
    suites = _mapping(_mapping(payload.get("hashes")).get("suites"))
    verdict = _mapping(payload.get("verdict"))
    return EvidenceView(
        file=display,
        agent=str(payload.get("agent")),
        model=str(payload.get("model")),
        eval_name=_text(payload.get("eval_name")),
        spec_path=_text(payload.get("spec_path")),
        run_id=_text(payload.get("run_id")),
        created_at=_text(payload.get("created_at")),
        simulated=payload.get("simulated") is True,
        verdict={
            "passed": verdict.get("passed") is True,
            "reasons": [str(r) for r in verdict.get("reasons") or []],
        },
        checks=EvidenceChecks(
            address_ok=stored.path.stem == address(payload),
            signature=signature_status(payload, key),
            hash_match=not mismatched,
            mismatched=mismatched,
            missing_suites=[s for s in required_suites if s not in suites],
            # undated evidence is as stale as it gets
            age_days=round((now - created).total_seconds() / 86400, 1) if created else 1e9,
        ),
    )


def _rank(view: EvidenceView) -> tuple[int, int, int, int, float]:
    """Best first: authentic, then bound to today's inputs, then passing, then complete, then newest."""
    c = view.checks
    authentic = 0 if c.address_ok and SIGNATURE_RANK.get(c.signature, 3) == 0 else 1
    return (
        authentic,
        0 if c.hash_match else 1,
        0 if view.verdict.get("passed") else 1,
        len(c.missing_suites),
        c.age_days,
    )


def select_evidence(
    stored: list[StoredEvidence],
    wanted: dict[str, list[str]],
    *,
    current: CurrentHashes,
    key: bytes | None,
    now: datetime,
    project: Project,
) -> dict[str, EvidenceView]:
    """For each wanted `agent|model` key, the best record on disk (the policy judges it)."""
    out: dict[str, EvidenceView] = {}
    for item in stored:
        payload = item.payload or {}
        ev_key = f"{payload.get('agent')}|{payload.get('model')}"
        if ev_key not in wanted:
            continue
        view = inspect_evidence(
            item,
            required_suites=wanted[ev_key],
            current=current,
            key=key,
            now=now,
            display=project.display(item.path),
        )
        if ev_key not in out or _rank(view) < _rank(out[ev_key]):
            out[ev_key] = view
    return out


# --- the gate -----------------------------------------------------------------------------------------------


def _change_input(change: Change, fixes: FixCommands, evidence: dict[str, EvidenceView]) -> dict[str, Any]:
    item: dict[str, Any] = change.model_dump(mode="json")
    item["key"] = change.key
    model = change.details.get("to") if change.kind == "model_switch" else change.details.get("model")
    if change.kind in ("model_switch", "agent_added") and isinstance(model, str):
        ev_key = f"{change.agent}|{model}"
        item["evidence_key"] = ev_key
        view = evidence.get(ev_key)
        item["fix"] = fixes(change.agent, model, view.spec_path if view else None)
    return item


def _items(raw: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(i, dict) and isinstance(i.get("msg"), str) for i in raw):
        raise EngineError(f"the gate policy's {what} are not a list of {{rule, msg}} objects", hint=f"see {GATE_QUERY}")
    return raw


def _open_engine(bundle: PolicyBundle, policies_dir: Path, *, timeout_s: float, opa_url: str | None) -> PolicyEngine:
    """Start the engine and insist on a gate policy: without one nothing could ever be allowed."""
    engine = open_engine(bundle, timeout_s=timeout_s, opa_url=opa_url)
    try:
        if GATE_PACKAGE not in engine.packages():
            raise PolicyError(
                f"{policies_dir}: no gate policy (package gate.change), so no change can be allowed",
                hint="copy policies/gate/change.rego from guardrail's repository",
            )
    except BaseException:
        engine.close()
        raise
    return engine


def _roster_findings(
    engine: PolicyEngine, bundle: PolicyBundle, head: LoadedRoster, policies_dir: Path, today: date
) -> list[Finding]:
    return roster_findings(engine, bundle, head, policies_dir, today)


def _wanted_evidence(changes: list[Change], head: LoadedRoster) -> dict[str, list[str]]:
    """`agent|model` -> the suites its evidence must cover, for every switch and every new agent."""
    wanted: dict[str, list[str]] = {}
    for change in changes:
        if change.kind == "model_switch":
            agent = head.roster.agent(change.agent)
            wanted[f"{change.agent}|{change.subject}"] = list(agent.suites) if agent else []
        elif change.kind == "agent_added":
            wanted[f"{change.agent}|{change.details['model']}"] = list(change.details.get("suites", []))
    return wanted


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
    """Diff, check, gather evidence, ask the policy. Raises on anything that prevents a real decision.

    The roster policies run in the engine's process while this one reads the base, diffs and checks evidence:
    on two cores that overlap is most of a cold gate's budget.
    """
    project = Project.find(roster_path)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    head = load_roster(roster_path)
    head_label = project.display(roster_path)
    bundle = load_policies(policies_dir)
    normalise_approvals(bundle, policies_dir)
    # roster findings are located with the path as users (and GitHub) read it
    head_for_findings = LoadedRoster(head.roster, replace(head.doc, path=head_label))
    # The engine process is forked here, before any other thread or subprocess exists: a fork racing `git show`
    # would inherit git's pipes and keep them open, and the gate would wait for git's output forever.
    engine = _open_engine(bundle, policies_dir, timeout_s=timeout_s, opa_url=opa_url)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-roster")
    roster_side = pool.submit(_roster_findings, engine, bundle, head_for_findings, policies_dir, moment.date())
    try:
        base, base_label = _load_base(roster_path, project, base_path, base_ref)
        changes = diff_rosters(
            base.roster,
            head.roster,
            base_path=base_label,
            head_path=head_label,
            base_lines=base.doc.line_of,
            head_lines=head.doc.line_of,
        )
        wanted = _wanted_evidence(changes, head)
        shelf = evidence_dir if evidence_dir is not None else project.evidence
        stored = read_dir(shelf) if wanted else []
        current = CurrentHashes(project.root, policies_dir)
        evidence = select_evidence(stored, wanted, current=current, key=evidence_key(), now=moment, project=project)
        fixes = FixCommands(project.root)
        change_inputs = [_change_input(c, fixes, evidence) for c in changes]
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
        "now": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": {"max_evidence_age_days": max_age_days},
    }
    try:
        answer = engine.query(GATE_QUERY, gate_input)
    finally:
        engine.close()

    if answer is UNDEFINED or not isinstance(answer, dict) or not isinstance(answer.get("allow"), bool):
        raise EngineError(f"{GATE_QUERY} gave no decision (expected {{allow, blocking, warnings}})")
    blocking = [_place(i, changes, deny) for i in _items(answer.get("blocking"), "blocking reasons")]
    warnings = [_place(i, changes, deny) for i in _items(answer.get("warnings", []), "warnings")]
    blocking.sort(key=lambda i: (i.change_index if i.change_index is not None else -1, i.rule, i.msg))
    warnings.sort(key=lambda i: (i.change_index if i.change_index is not None else -1, i.rule, i.msg))
    return GateReport(
        roster=head_label,
        base=base_label,
        policies=project.display(policies_dir),
        now=gate_input["now"],
        changes=changes,
        findings=findings,
        evidence=evidence,
        unreadable_evidence=[project.display(s.path) for s in stored if s.payload is None],
        allow=answer["allow"] is True and not blocking,
        blocking=blocking,
        warnings=warnings,
    )


def _place(raw: dict[str, Any], changes: list[Change], deny: list[Finding]) -> GateItem:
    """Attach the roster line: the change's for change rules, the finding's for roster denies."""
    index = raw.get("change_index")
    finding_index = raw.get("finding_index")
    location, agent, finding = None, None, None
    if isinstance(index, int) and 0 <= index < len(changes):
        location, agent = changes[index].location, changes[index].agent
    elif isinstance(finding_index, int) and 0 <= finding_index < len(deny):
        finding = deny[finding_index]
        location, agent = finding.location, finding.agent
    fix = raw.get("fix")
    return GateItem(
        rule=str(raw.get("rule", "gate")),
        msg=raw["msg"],
        fix=fix if isinstance(fix, str) and fix else None,
        agent=agent,
        change_index=index if isinstance(index, int) else None,
        location=location,
        finding=finding,
    )


__all__ = ["GATE_QUERY", "EvidenceView", "FixCommands", "GateItem", "GateReport", "run_gate"]
