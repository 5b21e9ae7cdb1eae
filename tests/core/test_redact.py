"""The redactor: what each built-in detector catches, what it must leave alone (order numbers, dates, amounts), the
rules a suite or spec adds, and the deep walk over records. Fake credentials are assembled from parts so that no
key-shaped literal is committed."""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.policies.test_personal_data_policy import _corpus

from guardrail.core import redact
from guardrail.core.personal_data import luhn
from guardrail.core.redact import Redactor
from guardrail.core.redaction_rules import RedactionRules

R = Redactor.default()

OPENAI = "sk-" + "proj-" + "Z3x9Q2w8E7r6T5y4U3i2O1p0"
ANTHROPIC = "sk-" + "ant-api03-" + "aB3dE5fG7hI9jK1lM3nO5pQ7"
AWS = "AK" + "IA" + "Q4Z7X2C9V1B8N3M6"
GITHUB = "gh" + "p_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
SLACK = "xo" + "xb-" + "1234567890-abcdefghij"
JWT = "ey" + "JhbGciOiJIUzI1NiJ9." + "ey" + "JzdWIiOiIxMjM0NTY3ODkwIn0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = (
    "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9\n-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to ann.lee+billing@example.co.uk today", "write to [REDACTED:email] today"),
        ("<Ingrid Fraser <ingrid.fraser@riverbend.example>", "<Ingrid Fraser <[REDACTED:email]>"),
        ("call +1 (415) 555-2671 now", "call [REDACTED:phone] now"),
        ("ring +44 20 7946 0958.", "ring [REDACTED:phone]."),
        ("E.164: +4930123456", "E.164: [REDACTED:phone]"),
        ("office 415-555-2671, desk (415) 555-2672", "office [REDACTED:phone], desk [REDACTED:phone]"),
        ("London 020 7946 0958 or mobile 07700 900123", "London [REDACTED:phone] or mobile [REDACTED:phone]"),
        ("Paris 01 23 45 67 89", "Paris [REDACTED:phone]"),
        ("Tel: 5550199", "Tel: [REDACTED:phone]"),
        ("card 4111 1111 1111 1111 exp 12/26", "card [REDACTED:card] exp 12/26"),
        ("amex 3782-822463-10005", "amex [REDACTED:card]"),
        ("mc 5555555555554444", "mc [REDACTED:card]"),
    ],
)
def test_personal_data_is_redacted(text: str, expected: str) -> None:
    assert R.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I cancelled order LK-50063 before it shipped",
        "order #10023456 and order 1234567890",  # bare digits: not a phone without a phone word
        "ticket T-10750, lead L-2049, invoice INV-2024-00123",
        "charged on 2024-03-15 at 10:30:45, again 15/03/2024 and 03.15.2024",
        "total $1,234,567.89 or €139.00; revenue about $100,000; 10500000 units",
        "server 192.168.100.200 runs v1.12.3 build 20240315123045",
        "tracking 1Z999AA10123456784 and 9400111899223100000000",
        "id 123e4567-e89b-12d3-a456-426614174000",
        "card ending 4111111111111112",  # fails Luhn
        "serial 1234 5678 9012 3456",  # passes no network prefix + Luhn
        "max_tokens=512 prompt_tokens: 12 and a token count of 40",
        "the password reset flow; secret sauce; Password: forgotten",
        "a climbing gym with 3 stores and 45 staff, 28 km away, since 1999",
    ],
)
def test_ordinary_numbers_and_words_are_left_alone(text: str) -> None:
    assert R.text(text) == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"key {OPENAI} here", "key  here"),
        (f"anthropic {ANTHROPIC}", "anthropic "),
        (f"aws {AWS}", "aws "),
        (f"gh {GITHUB}", "gh "),
        (f"slack {SLACK}", "slack "),
        (f"jwt {JWT}", "jwt "),
        (f"pem {PEM} end", "pem  end"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123", "Authorization: Bearer "),
        ("dsn postgres://bob:hunter2@db.example.com:5432/app", "dsn postgres://@db.example.com:5432/app"),
        ("password=hunter2 and api_key: abc123", "password= and api_key: "),
        ("password: correcthorsebattery", "password: "),
        ('{"client_secret": "s3cr3t-value"}', '{"client_secret": ""}'),
    ],
)
def test_credentials_are_redacted_keeping_their_context(text: str, kept: str) -> None:
    out = R.text(text)
    assert "[REDACTED:credential]" in out
    assert out.replace("[REDACTED:credential]", "") == kept


def test_redacting_twice_changes_nothing() -> None:
    text = f"ann@example.com +1 415 555 2671 4111-1111-1111-1111 {OPENAI} https://u:p4ss@h.example Bearer {JWT}"
    once = R.text(text)
    assert R.text(once) == once
    assert R.value({"a": [once]}) == {"a": [once]}


def test_luhn() -> None:
    assert luhn("4111111111111111") and luhn("79927398713")
    assert not luhn("4111111111111112")


def test_value_walks_records_and_keeps_non_strings() -> None:
    record = {
        "messages": [{"role": "user", "content": "I am ann@example.com"}],
        "n": 3,
        "ok": True,
        "none": None,
        "pair": ("call +1 415 555 2671", 2),
        "params": {"api_key": "literal-value-123", "token": "os.environ/OPENAI_API_KEY", "max_tokens": 100, "pwd": "x"},
    }
    out = R.value(record)
    assert out["messages"][0]["content"] == "I am [REDACTED:email]"
    assert (out["n"], out["ok"], out["none"]) == (3, True, None)
    assert out["pair"] == ("call [REDACTED:phone]", 2)
    # a secret-named key's value goes whatever it looks like; a reference to the environment is no secret
    assert out["params"] == {
        "api_key": "[REDACTED:credential]",
        "token": "os.environ/OPENAI_API_KEY",
        "max_tokens": 100,
        "pwd": "[REDACTED:credential]",  # a record never needs even a placeholder
    }
    assert record["messages"][0]["content"] == "I am ann@example.com"  # the input is not changed


def test_json_held_in_strings_is_redacted_as_the_value_it_encodes() -> None:
    tool_message = {"role": "tool", "content": '{"customer": "Ann Lee", "email": "ann@example.com", "amount": 40}'}
    rules = RedactionRules(fields=["customer"])
    out = R.with_rules(rules).value(tool_message)
    assert out["content"] == '{"customer": "[REDACTED:sensitive]", "email": "[REDACTED:email]", "amount": 40}'
    untouched = {"content": '{"amount": 40, "queue": "billing"}'}
    assert R.with_rules(rules).value(untouched) == untouched  # formatting kept when nothing was sensitive


def test_a_sensitive_fields_value_is_redacted_where_it_recurs() -> None:
    redactor = R.with_rules(RedactionRules(fields=["Customer-Name"]))
    record = {
        "tool_results": {"crm.lookup_order": {"customer_name": "Kevin Hughes", "status": "charged"}},
        "messages": [{"content": "Ticket T-1 · customer: Kevin Hughes\n\nKevin Hughes: charged twice"}],
    }
    out = redactor.value(record)
    assert out["tool_results"]["crm.lookup_order"] == {"customer_name": "[REDACTED:sensitive]", "status": "charged"}
    assert "Kevin" not in str(out)
    assert out["messages"][0]["content"].count("[REDACTED:sensitive]") == 2


def test_rules_add_patterns_and_reject_bad_ones() -> None:
    redactor = R.with_rules(RedactionRules(patterns={"member_id": r"\bMEM-\d{6}\b"}))
    assert redactor.text("member MEM-123456, order LK-50063") == "member [REDACTED:member_id], order LK-50063"
    with pytest.raises(ValueError, match="not a valid regex"):
        RedactionRules(patterns={"x": "("})
    with pytest.raises(ValueError, match="pattern name"):
        RedactionRules(patterns={"Bad Name": "x"})


@dataclass
class _Class:
    fields: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)


def test_data_classes_contribute_their_fields_and_patterns() -> None:
    classes = {"customer_pii": _Class(fields=["address"], patterns=[r"\bLK-\d{5}\b"]), "public": _Class()}
    redactor = R.with_rules(RedactionRules(data_classes=["customer_pii"]), classes)
    out = redactor.value({"address": {"street": "1 Main St", "city": "Oslo"}, "note": "order LK-50063"})
    assert out == {"address": "[REDACTED:customer_pii]", "note": "order [REDACTED:customer_pii]"}
    with pytest.raises(KeyError, match="unknown data class"):
        R.with_rules(RedactionRules(data_classes=["nope"]), classes)


def test_merged_rules_keep_order_without_repeats() -> None:
    a = RedactionRules(fields=["a"], patterns={"x": "x"}, data_classes=["c"])
    b = RedactionRules(fields=["a", "b"], patterns={"y": "y"}, data_classes=["c", "d"])
    merged = a.merged(b, None)
    assert (merged.fields, list(merged.patterns), merged.data_classes) == (["a", "b"], ["x", "y"], ["c", "d"])


def test_bundled_suites_show_no_phone_or_card_false_positives(repo_root: Path) -> None:
    """The demo suites hold order numbers, ticket ids, amounts, revenues and dates, and no phone or card
    numbers: every phone or card hit there would be a false positive. Emails are real hits (lead contacts)."""
    hits: dict[str, int] = {}
    for path in sorted((repo_root / "suites").rglob("*.yaml")):
        for kind in re.findall(r"\[REDACTED:(\w+)\]", R.text(path.read_text(encoding="utf-8"))):
            hits[kind] = hits.get(kind, 0) + 1
    assert set(hits) <= {"email"}, hits
    assert hits.get("email", 0) > 100


def test_the_screens_change_no_answer() -> None:
    """The cheap tests run before a rule's regex ('@' for an email, 7 digits for a number its check accepts, a
    marker for a credential) only skip texts the rule would find nothing in."""
    unscreened = redact.Redactor(
        tuple(dataclasses.replace(rule, needs=None) for rule in (*redact._CREDENTIALS, *redact._PERSONAL))
    )
    rng = random.Random(5)
    numbers = ["".join(rng.choice("0123456789 -.()+/") for _ in range(rng.randint(3, 24))) for _ in range(2000)]
    texts = [*_corpus(), *numbers, *(f"call {n}" for n in numbers[:300]), "sk-test-1234567890abcdefghij", "a@b.co"]
    screened = redact.Redactor.default()
    assert [screened.text(t) for t in texts] == [unscreened.text(t) for t in texts]
    assert sum(screened.text(t) != t for t in numbers) > 10  # the numbers exercise both answers
