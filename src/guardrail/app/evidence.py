"""Evidence for the CI gate: written at the end of every run, checked by `guardrail gate`.

`write_evidence(run_dir, manifest, gate, tracking)` turns a finished run (its manifest and the eval gate's
decision, the records the report step holds) into one Evidence record per candidate, signs it when
GUARDRAIL_EVIDENCE_KEY is set, and writes it both to `reports/<run-id>/evidence/` and to the project's committed
`evidence/` folder.

`current_hashes` recomputes today's input hashes exactly as the runner computes them
(app/run_eval.input_hashes: sha256_file of the spec, sha256_tree of each suite folder, core.hashing.policies_hash
of the policy folder), so the gate can demand that evidence was produced on the very inputs in this commit. The two must
stay in step.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrail.adapters.evidence_store import write_payload
from guardrail.adapters.loading import load_yaml
from guardrail.core.evidence import (
    EVIDENCE_KEY_ENV,
    Evidence,
    EvidenceHashes,
    MetricValue,
    Verdict,
    sign,
)
from guardrail.core.hashing import policies_hash, sha256_file, sha256_tree
from guardrail.errors import ConfigError, CouldNotFinish
from guardrail.project import Project

if TYPE_CHECKING:  # the gate reads evidence only; the run records load when evidence is written
    from guardrail.core.gate_input import GateDecision
    from guardrail.core.results import RunManifest
    from guardrail.core.stats import Interval
    from guardrail.core.summary import Tracking

RUN_FILE = "run.json"
EVIDENCE_DIR = "evidence"


def evidence_key() -> bytes | None:
    """The HMAC key from the environment; never printed, never stored. Unset means no key; set but empty (or
    blank) is an error: a secret that failed to arrive must not quietly turn signing and checking off."""
    value = os.environ.get(EVIDENCE_KEY_ENV)
    if value is None:
        return None
    if not value.strip():
        raise ConfigError(
            "is set but empty, so evidence could be neither signed nor checked",
            field=EVIDENCE_KEY_ENV,
            hint=f"set it to the evidence key, or unset it (`unset {EVIDENCE_KEY_ENV}`) to work without signatures",
        )
    return value.encode("utf-8")


# --- a run's records ----------------------------------------------------------------------------------------


def _metric(interval: Interval) -> MetricValue:
    return MetricValue(value=interval.point, low=interval.lower, high=interval.upper)


def evidence_for_run(manifest: RunManifest, gate: GateDecision, tracking: Tracking | None = None) -> list[Evidence]:
    """One record per candidate from the run's manifest and the eval gate's decision; a candidate without a
    verdict gets a failing record (never pass by default)."""
    if not manifest.hashes.get("spec") or not manifest.hashes.get("policies"):
        raise CouldNotFinish(
            f"run {manifest.run_id} has no spec/policy hashes in {RUN_FILE}, so its evidence cannot be bound"
        )
    hashes = EvidenceHashes(
        spec=manifest.hashes["spec"],
        policies=manifest.hashes["policies"],
        suites=dict(manifest.suites),
        roster=manifest.hashes.get("roster"),
    )
    tracked = tracking.child_run_ids if tracking is not None else {}
    created = manifest.finished_at or manifest.started_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    records = []
    for candidate in manifest.candidates:
        verdict = gate.verdict(candidate.id)
        if verdict is not None:
            reasons = [r.msg if r.msg.startswith(r.threshold) else f"{r.threshold}: {r.msg}" for r in verdict.reasons]
            outcome = Verdict(passed=verdict.passed, reasons=reasons, complete=verdict.complete)
        else:
            outcome = Verdict(passed=False, reasons=["the run has no gate verdict for this candidate"])
        records.append(
            Evidence(
                eval_name=manifest.eval_name,
                spec_path=manifest.eval_path,
                agent=manifest.agent,
                model=candidate.id,
                simulated=candidate.simulated,
                hashes=hashes,
                thresholds=manifest.thresholds,
                metrics={name: _metric(i) for name, i in sorted(verdict.metrics.items())} if verdict else {},
                verdict=outcome,
                guardrail_version=manifest.guardrail_version,
                created_at=created.astimezone(UTC),
                run_id=manifest.run_id,
                mlflow_run_id=(verdict.mlflow_run_id if verdict else None) or tracked.get(candidate.id),
            )
        )
    return records


def write_evidence(
    run_dir: Path,
    manifest: RunManifest,
    gate: GateDecision,
    tracking: Tracking | None = None,
    *,
    project_evidence: Path | None = None,
) -> list[Path]:
    """Write each candidate's evidence to `<run_dir>/evidence/` and the project's `evidence/`; return paths.

    Deterministic: the same run always yields the same records and addresses, so rebuilding a report rewrites
    nothing, and evidence can never be refreshed without a new run.
    """
    shared = project_evidence or Project.find(run_dir).evidence
    key = evidence_key()
    written: list[Path] = []
    for record in evidence_for_run(manifest, gate, tracking):
        payload = record.payload()
        if key:
            payload = sign(payload, key)
        written.append(write_payload(payload, run_dir / EVIDENCE_DIR))
        if shared.resolve() != (run_dir / EVIDENCE_DIR).resolve():
            written.append(write_payload(payload, shared))
    return written


# --- today's inputs -----------------------------------------------------------------------------------------


def suite_dirs(root: Path, spec: Any) -> dict[str, Path]:
    """Suite name -> folder, as a spec (its parsed content) names them, relative to the project root."""
    suites = spec.get("suites") if isinstance(spec, dict) else None
    if not isinstance(suites, list):
        return {}
    return {Path(str(rel)).name: root / str(rel) for rel in suites}


def spec_suite_dirs(root: Path, spec_path: str) -> dict[str, Path]:
    """Suite name -> folder, as the spec at `spec_path` (relative to the project root) names them today."""
    path = root / spec_path
    return suite_dirs(root, load_yaml(path).data) if path.is_file() else {}


class CurrentHashes:
    """Today's hashes, computed once each (many evidence files share a spec, suite and the policy folder).
    `suites_of` maps a spec to its suite folders; pass a reader that already holds the parsed specs."""

    def __init__(self, root: Path, policies: Path, suites_of: Callable[[str], dict[str, Path]] | None = None) -> None:
        self.root, self.policies_dir = root, policies
        self.suites_of = suites_of or (lambda spec_path: spec_suite_dirs(root, spec_path))
        self._files: dict[Path, str | None] = {}
        self._trees: dict[Path, str | None] = {}
        self._policies: str | None = None
        self._specs: dict[str, dict[str, Path]] = {}

    @property
    def policies(self) -> str:
        if self._policies is None:
            self._policies = policies_hash(self.policies_dir)
        return self._policies

    def spec(self, spec_path: str) -> str | None:
        path = self.root / spec_path
        if path not in self._files:
            self._files[path] = sha256_file(path) if path.is_file() else None
        return self._files[path]

    def suite(self, spec_path: str, name: str) -> str | None:
        if spec_path not in self._specs:
            self._specs[spec_path] = self.suites_of(spec_path)
        folder = self._specs[spec_path].get(name, self.root / "suites" / name)
        if folder not in self._trees:
            self._trees[folder] = sha256_tree(folder) if folder.is_dir() else None
        return self._trees[folder]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def mismatched_hashes(payload: dict[str, Any], current: CurrentHashes) -> list[str]:
    """Which bound inputs differ today: "spec", "policies", "suites.<name>" (a suite gone today counts)."""
    hashes = _mapping(payload.get("hashes"))
    spec_path = str(payload.get("spec_path", ""))
    out = []
    if hashes.get("spec") != current.spec(spec_path):
        out.append("spec")
    if hashes.get("policies") != current.policies:
        out.append("policies")
    suites = _mapping(hashes.get("suites"))
    for name, value in sorted(suites.items()):
        if value != current.suite(spec_path, str(name)):
            out.append(f"suites.{name}")
    return out


__all__ = [
    "CurrentHashes",
    "evidence_for_run",
    "evidence_key",
    "mismatched_hashes",
    "spec_suite_dirs",
    "suite_dirs",
    "write_evidence",
]
