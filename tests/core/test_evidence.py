"""Evidence records: a content address that breaks on any edit, and an HMAC that needs the key."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrail.core.evidence import (
    Evidence,
    EvidenceHashes,
    MetricValue,
    Verdict,
    address,
    canonical_bytes,
    sign,
    signature_status,
)

KEY = b"test-evidence-key"


def _record(**overrides: object) -> Evidence:
    fields: dict[str, object] = {
        "eval_name": "support-triage-model-choice",
        "spec_path": "evals/support-triage.yaml",
        "agent": "support-triage",
        "model": "sim/budget",
        "simulated": True,
        "hashes": EvidenceHashes(spec="a" * 64, policies="b" * 64, suites={"support-triage": "c" * 64}),
        "thresholds": {"accuracy": {"min": 0.9}},
        "metrics": {"accuracy": MetricValue(value=0.93, low=0.88, high=0.96)},
        "verdict": Verdict(passed=True),
        "guardrail_version": "0.1.0",
        "created_at": datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        "run_id": "20260601T120000Z-abcd",
    }
    fields.update(overrides)
    return Evidence(**fields)  # type: ignore[arg-type]


def test_address_is_stable_across_key_order_and_whitespace() -> None:
    payload = _record().payload()
    reordered = json.loads(json.dumps(payload, indent=4, sort_keys=False))
    shuffled = dict(reversed(list(reordered.items())))
    assert address(shuffled) == address(payload)
    assert len(address(payload)) == 64


def test_any_value_change_breaks_the_address() -> None:
    payload = _record().payload()
    tampered = json.loads(json.dumps(payload))
    tampered["verdict"]["passed"] = False
    assert address(tampered) != address(payload)
    extra = {**payload, "note": "added later"}
    assert address(extra) != address(payload)


def test_signing_does_not_move_the_address_and_verifies_with_the_key() -> None:
    payload = _record().payload()
    signed = sign(payload, KEY)
    assert signed["signature"].startswith("hmac-sha256:")
    assert address(signed) == address(payload)
    assert canonical_bytes(signed) == canonical_bytes(payload)
    assert signature_status(signed, KEY) == "valid"
    assert signature_status(signed, b"another-key") == "invalid"
    assert KEY.decode() not in json.dumps(signed)


def test_signature_status_without_key_and_without_signature() -> None:
    payload = _record().payload()
    assert signature_status(payload, None) == "not_required"
    assert signature_status(sign(payload, KEY), None) == "not_required"
    assert signature_status(payload, KEY) == "missing"
    assert signature_status({**payload, "signature": 42}, KEY) == "invalid"


def test_a_signed_record_edited_and_re_addressed_still_fails_the_signature() -> None:
    signed = sign(_record().payload(), KEY)
    forged = json.loads(json.dumps(signed))
    forged["metrics"]["accuracy"]["value"] = 0.99
    # a forger can recompute the address, but not the HMAC
    assert address(forged) != address(signed)
    assert signature_status(forged, KEY) == "invalid"


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        canonical_bytes({"x": float("nan")})


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_address_survives_a_json_round_trip(payload: dict[str, object]) -> None:
    """What is written and read back addresses the same: the gate recomputes from the parsed file."""
    stored = json.dumps(payload, indent=2, ensure_ascii=False)
    assert address(json.loads(stored)) == address(payload)
