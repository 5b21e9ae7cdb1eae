"""ACT-003 and the redactor give one answer to "is there personal data in this text?": the policy reads the shapes
generated from core/personal_data.py, and both classify one corpus (fixed cases plus seeded joins) identically.
The numbers are reserved or well-known test values (555-01xx phones, test card numbers, example domains)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from guardrail.adapters.rego import UNDEFINED, RegoEngine, load_bundle
from guardrail.core import personal_data
from guardrail.core.redact import Redactor

REPO = Path(__file__).resolve().parents[2]
WHAT = {shape.kind: shape.what for shape in personal_data.SHAPES}

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


def _python(text: str) -> set[str]:
    marked = Redactor.default().text(text)
    return {WHAT[kind] for kind in re.findall(r"\[REDACTED:(email|phone|card)\]", marked)}


@pytest.fixture(scope="module")
def engine() -> RegoEngine:
    return RegoEngine(load_bundle(REPO / "policies", include_tests=False, display_root=REPO))


def test_the_policy_data_file_is_generated_from_python() -> None:
    committed = (REPO / "policies" / "data" / "personal_data.yaml").read_text(encoding="utf-8")
    assert committed == personal_data.render_policy_data(), (
        "stale: run `python -m guardrail.core.personal_data > policies/data/personal_data.yaml`"
    )


def test_rego_and_python_classify_one_corpus_identically(engine: RegoEngine) -> None:
    texts = _corpus()
    hits = engine.query("data.action.found", {"call": {"name": "email.send", "args": dict(enumerate(texts))}})
    rego: dict[int, set[str]] = {}
    for arg, what in [] if hits is UNDEFINED else hits:
        rego.setdefault(int(arg), set()).add(what)
    python = {i: found for i, text in enumerate(texts) if (found := _python(text))}
    assert rego == python
    assert 150 < len(python) < len(texts)  # the corpus exercises both answers
    assert python[0] == {"an email address"} and 13 not in python  # a card failing Luhn is no card
