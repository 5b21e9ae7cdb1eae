"""Which evidence file the CI gate judges for a model switch, and why every other one lost.

Every record for the agent and the new model is checked (content address, HMAC signature, made with the agent's
official spec, bound to today's trusted inputs, dated no later than now). The newest record that passes those
checks is the one judged, whatever its verdict: a later failing run supersedes an earlier pass, so nobody can keep
re-running until one run passes and cite that one. When no record passes the checks, the newest one is judged (and
blocks, with its reason). Every record passed over is listed with the reason it lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from guardrail.adapters.evidence_store import StoredEvidence
from guardrail.app.evidence import CurrentHashes, mismatched_hashes
from guardrail.core.evidence import address, signature_status
from guardrail.project import Project

SECONDS_PER_DAY = 86400.0
UNDATED_AGE_DAYS = 1e9  # undated evidence is as stale as it gets


@dataclass(frozen=True)
class Wanted:
    """What evidence for one `agent|model` must show: the suites the agent lists and the official spec."""

    suites: list[str]
    official_spec: str | None


class EvidenceChecks(BaseModel):
    address_ok: bool
    signature: str
    hash_match: bool
    mismatched: list[str] = Field(default_factory=list)
    missing_suites: list[str] = Field(default_factory=list)
    age_days: float  # exact, never rounded: `--max-age-days 0` refuses evidence a minute old
    future: bool = False  # dated after the gate's `now`
    official: bool = True  # made with the agent's official eval spec
    official_spec: str | None = None


class PassedOver(BaseModel):
    """A record for the same agent and model that the gate did not judge, and why."""

    file: str
    run_id: str | None = None
    created_at: str | None = None
    why: str


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
    passed_over: list[PassedOver] = Field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Authentic, from the official spec, bound to today's trusted inputs, not from the future."""
        c = self.checks
        return (
            c.address_ok and c.signature in ("valid", "not_required") and c.official and c.hash_match and not c.future
        )

    def flaw(self) -> str:
        """Why an unusable record cannot be judged (first reason only)."""
        c = self.checks
        if not c.address_ok:
            return "edited after it was written (its content no longer matches its name)"
        if c.signature == "missing":
            return "unsigned, and an evidence key is configured"
        if c.signature not in ("valid", "not_required"):
            return "its signature does not verify with the configured key"
        if not c.official:
            return f"made with {self.spec_path}, not the agent's official spec {c.official_spec or '(none)'}"
        if c.future:
            return f"dated {self.created_at}, later than the gate's time"
        if not c.hash_match:
            return f"made on other inputs (changed since: {', '.join(c.mismatched)})"
        return "usable"


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
    wanted: Wanted,
    current: CurrentHashes,
    key: bytes | None,
    now: datetime,
    display: str,
) -> EvidenceView:
    payload = stored.payload or {}
    created = _parse_time(payload.get("created_at"))
    spec_path = _text(payload.get("spec_path"))
    suites = _mapping(_mapping(payload.get("hashes")).get("suites"))
    verdict = _mapping(payload.get("verdict"))
    mismatched = mismatched_hashes(payload, current)
    return EvidenceView(
        file=display,
        agent=str(payload.get("agent")),
        model=str(payload.get("model")),
        eval_name=_text(payload.get("eval_name")),
        spec_path=spec_path,
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
            missing_suites=[s for s in wanted.suites if s not in suites],
            age_days=(now - created).total_seconds() / SECONDS_PER_DAY if created else UNDATED_AGE_DAYS,
            future=created is not None and created > now,
            official=wanted.official_spec is not None and spec_path == wanted.official_spec,
            official_spec=wanted.official_spec,
        ),
    )


def _newest_first(view: EvidenceView) -> tuple[float, str]:
    return (view.checks.age_days, view.file)


def judge(views: list[EvidenceView]) -> EvidenceView:
    """The record to judge among those for one agent and model (see the module docstring), with the others."""
    ordered = sorted(views, key=_newest_first)
    chosen = next((v for v in ordered if v.usable), ordered[0])
    passed_over = [
        PassedOver(
            file=v.file,
            run_id=v.run_id,
            created_at=v.created_at,
            why=f"superseded by the newer run {chosen.run_id}" if v.usable else v.flaw(),
        )
        for v in ordered
        if v is not chosen
    ]
    return chosen.model_copy(update={"passed_over": passed_over})


def select_evidence(
    stored: list[StoredEvidence],
    wanted: dict[str, Wanted],
    *,
    current: CurrentHashes,
    key: bytes | None,
    now: datetime,
    project: Project,
) -> dict[str, EvidenceView]:
    """For each wanted `agent|model` key, the record the policy judges."""
    found: dict[str, list[EvidenceView]] = {}
    for item in stored:
        payload = item.payload or {}
        ev_key = f"{payload.get('agent')}|{payload.get('model')}"
        if ev_key not in wanted:
            continue
        view = inspect_evidence(
            item, wanted=wanted[ev_key], current=current, key=key, now=now, display=project.display(item.path)
        )
        found.setdefault(ev_key, []).append(view)
    return {ev_key: judge(views) for ev_key, views in found.items()}


__all__ = ["EvidenceChecks", "EvidenceView", "PassedOver", "Wanted", "inspect_evidence", "judge", "select_evidence"]
