"""ACT-003 and the redactor give one answer to "is there personal data in this text?": the caller finds it in a
call's arguments with the redactor's own search (core/redact.personal_data_in) and the policy reads that. Held
here on one corpus (fixed cases plus seeded joins) and through the policy end to end. The numbers are reserved or
well-known test values (555-01xx phones, test card numbers, example domains)."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from guardrail.adapters.rego import RegoEngine, load_bundle
from guardrail.core import personal_data
from guardrail.core.action import ACTION_QUERY, action_input, violations_of
from guardrail.core.redact import Redactor, personal_data_in

REPO = Path(__file__).resolve().parents[2]
WHAT = personal_data.WHAT

FRAGMENTS = [
    "ann@example.com",
    "first.last+tag@mail.example.co.uk",
    "not an email: a@b",
    "call +1 (415) 555-2671 now",
    "+44 20 7946 0958",
    "+4930123456",
    "415-555-0142",
    "(415) 555-0199",
    "020 7946 0958",
    "07700 900123",
    "01 23 45 67 89",
    "Tel: 5550199",
    "4111 1111 1111 1111",
    "4111111111111112",
    "3782-822463-10005",
    "5555555555554444",
    "2223003122003222",
    "order #10023456 and order 1234567890",
    "ticket LK-50063 on 2026-11-30 at 10:45",
    "total 1,234.56 USD",
    "v2.3.1 build 415.555.267",
    "ip 10.0.0.5:8000",
    "+1 2",
    "Ünïcödé tëxt",
    "",
]
GLUES = [" ", ", ", ",", "\n", "; ", "/", " or "]


def _corpus(seed: int = 11, joins: int = 300) -> list[str]:
    rng = random.Random(seed)
    texts = list(FRAGMENTS)
    texts += [rng.choice(GLUES).join(rng.sample(FRAGMENTS, k=rng.randint(2, 4))) for _ in range(joins)]
    return texts


def _redacted_kinds(text: str) -> set[str]:
    marked = Redactor.default().text(text)
    return {WHAT[kind] for kind in re.findall(r"\[REDACTED:(email|phone|card)\]", marked)}


@pytest.fixture(scope="module")
def engine() -> RegoEngine:
    return RegoEngine(load_bundle(REPO / "policies", include_tests=False, display_root=REPO))


def test_what_the_policy_reads_is_what_the_redactor_redacts() -> None:
    texts = _corpus()
    found: dict[int, set[str]] = {}
    for arg, what in personal_data_in(dict(enumerate(texts))):
        found.setdefault(int(arg), set()).add(what)
    redacted = {i: kinds for i, text in enumerate(texts) if (kinds := _redacted_kinds(text))}
    assert found == redacted
    assert 150 < len(redacted) < len(texts)  # the corpus exercises both answers
    assert redacted[0] == {"an email address"} and 13 not in redacted  # a card failing Luhn is no card


MAILER = {"name": "mailer", "tools": ["email.send"], "data_scopes": ["customer_pii"], "autonomy": "human_approval"}
CLASSES = {"customer_pii": {"sensitivity": "high"}}


def _leak(engine: RegoEngine, args: dict[str, Any]) -> str | None:
    asked = action_input(agent=MAILER, tools={}, data_classes=CLASSES, call="email.send", args=args)
    leaks = [v["msg"] for v in violations_of(engine.query(ACTION_QUERY, asked)) if v["rule"] == "ACT-003"]
    assert len(leaks) <= 1
    return leaks[0] if leaks else None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"to": "jane.doe@example.com", "body": "hi"}, ["an email address (to)"]),
        (
            {"body": {"lines": ["call me on +1 415 555 0199", "card 4111 1111 1111 1111"]}},
            ["a payment card number (body.lines.1), a phone number (body.lines.0)"],
        ),
        ({"body": "ring (415) 555-0123"}, ["a phone number (body)"]),
        ({"note": "5555-5555-5555-4444"}, ["a payment card number (note)"]),  # Luhn's other branch (digits >= 5)
        ({"body": "0123 4111 1111 1111 1112"}, ["a phone number (body)"]),  # a leading 0 reads as a phone
        ({"body": "order 4111 1111 1111 1112 on 2026-11-21"}, []),  # fails Luhn, and a date: none
        ({"to": "team", "body": "order LK-50063, 12/26"}, []),
    ],
)
def test_the_policy_names_what_the_search_found(engine: RegoEngine, args: dict[str, Any], named: list[str]) -> None:
    leak = _leak(engine, args)
    if not named:
        assert leak is None
        return
    assert leak is not None and "while holding customer_pii" in leak
    assert all(kind in leak for kind in named), leak
    assert "jane.doe" not in leak and "4111" not in leak and "555" not in leak
