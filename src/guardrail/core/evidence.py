"""Evidence an auditor can check: one record per candidate per run, content-addressed, optionally signed.

The address is the sha256 of the record's canonical JSON (sorted keys, no whitespace, UTF-8) without its
`signature`, and it is the file's name: editing any value after the fact breaks the address. When a key is
configured the same canonical bytes are signed with HMAC-SHA256, so even a re-addressed forgery fails without
the key. Addresses and signatures are computed over the raw JSON object as stored, not a re-serialised model,
so a field a model would drop still counts. Pure: hashlib and hmac only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EVIDENCE_SCHEMA_VERSION = 1
EVIDENCE_KEY_ENV = "GUARDRAIL_EVIDENCE_KEY"
SIGNATURE_PREFIX = "hmac-sha256:"

SignatureStatus = Literal["valid", "missing", "invalid", "not_required"]


class EvidenceHashes(BaseModel):
    """The inputs the result depends on; the gate recomputes them and demands equality."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str
    policies: str
    suites: dict[str, str] = Field(default_factory=dict)  # suite name -> tree hash
    roster: str | None = None  # informational: the switch itself edits the roster


class MetricValue(BaseModel):
    """A metric with its 95% interval (bounds absent when the statistics had none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float | None = None
    low: float | None = None
    high: float | None = None


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    passed: bool
    reasons: list[str] = Field(default_factory=list)
    complete: bool | None = None  # the run covered every task for this candidate and the baseline (None: not recorded)


class Evidence(BaseModel):
    """What one run showed about one candidate for one agent, bound to the hashes of what it ran."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = EVIDENCE_SCHEMA_VERSION
    eval_name: str
    spec_path: str
    agent: str
    model: str
    simulated: bool = False
    hashes: EvidenceHashes
    thresholds: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    verdict: Verdict
    guardrail_version: str
    created_at: datetime
    run_id: str
    mlflow_run_id: str | None = None
    signature: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON object that is stored, addressed and signed."""
        return self.model_dump(mode="json", exclude_none=False)


def canonical_bytes(payload: Mapping[str, Any]) -> bytes:
    """The bytes that are addressed and signed: canonical JSON of everything except the signature."""
    body = {key: value for key, value in payload.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def address(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()


def signature_for(payload: Mapping[str, Any], key: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(key, canonical_bytes(payload), hashlib.sha256).hexdigest()


def sign(payload: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """A copy of the payload carrying its HMAC; the address does not change by signing."""
    return {**payload, "signature": signature_for(payload, key)}


def signature_status(payload: Mapping[str, Any], key: bytes | None) -> SignatureStatus:
    """`not_required` without a key (nothing to verify against); with a key, unsigned is `missing`."""
    if not key:
        return "not_required"
    found = payload.get("signature")
    if not found:
        return "missing"
    if not isinstance(found, str):
        return "invalid"
    return "valid" if hmac.compare_digest(found, signature_for(payload, key)) else "invalid"


__all__ = [
    "EVIDENCE_KEY_ENV",
    "EVIDENCE_SCHEMA_VERSION",
    "Evidence",
    "EvidenceHashes",
    "MetricValue",
    "SignatureStatus",
    "Verdict",
    "address",
    "canonical_bytes",
    "sign",
    "signature_for",
    "signature_status",
]
