"""The one statement of what personal data looks like in text: email addresses, phone numbers, payment card numbers.

The redactor (core/redact.py) removes them from everything guardrail writes, and finds them in a tool call's
arguments for the action policy (`personal_data_in`): ACT-003 (policies/action/action.rego) refuses a call that
sends them to an external tool. One search serves both, so what the policy refuses to send is what every record
redacts.

Every pattern is written without look-around or back-references, so an edge is a consumed character,
`(?:^|[^...])` before and `(?:$|[^...])` after, and the `secret` group is the personal data itself; a match's
number is then accepted or not by its digits (`accept`): a card needs a network's prefix and the Luhn checksum, a
phone number 7 to 15 digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_NOT_AFTER_NUMBER = r"(?:$|[^\w.,:/-]|[.,:/](?:$|[^0-9]))"  # not glued to more of a number (a decimal, a time)
_NOT_AFTER_WORD = r"(?:$|[^\w-])"
_EDGE = r"(?:^|[^\w.-])"

# Card networks by leading digits: prefixes, and (length, low, high) ranges of the leading number.
CARD_PREFIXES = ("4", "34", "37", "36", "38", "39", "35", "62", "65", "6011")
CARD_RANGES = ((2, 51, 55), (4, 2221, 2720), (3, 644, 649), (3, 300, 305))
CARD_DIGITS = (13, 19)
PHONE_DIGITS = (7, 15)
MIN_DIGITS = min(CARD_DIGITS[0], PHONE_DIGITS[0])  # the fewest digits of any number `accept` takes


def luhn(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies (and ~90% of other digit strings do not)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def is_card(match: str) -> bool:
    digits = _digits(match)
    if not CARD_DIGITS[0] <= len(digits) <= CARD_DIGITS[1]:
        return False
    network = digits.startswith(CARD_PREFIXES) or any(low <= int(digits[:n]) <= high for n, low, high in CARD_RANGES)
    return network and luhn(digits)


def is_phone(match: str) -> bool:
    return PHONE_DIGITS[0] <= len(_digits(match)) <= PHONE_DIGITS[1]


@dataclass(frozen=True)
class Shape:
    """One way personal data is written: `kind` marks it (`[REDACTED:<kind>]`), `what` names it in messages, the
    `secret` group of `pattern` is the data itself, `accept` (by name) checks a match's digits."""

    kind: str
    what: str
    pattern: str
    accept: str | None = None  # "card" | "phone"

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


_SEP = r"[ -]"
_CARD_GROUPED = "|".join(
    rf"[0-9]{{4}}(?:{sep}[0-9]{{4}}){{3}}(?:{sep}[0-9]{{1,3}})?|[0-9]{{4}}{sep}[0-9]{{6}}{sep}[0-9]{{4,5}}"
    for sep in (" ", "-")  # one separator throughout: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4
)
_FRENCH = "|".join(rf"0[1-9](?:{sep}[0-9]{{2}}){{4}}" for sep in (" ", r"\.", "-"))  # pairs, one separator

SHAPES: tuple[Shape, ...] = (
    Shape(
        "email",
        "an email address",
        r"(?:^|[^\w.+%-])(?P<secret>[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,})" + _NOT_AFTER_WORD,
    ),
    Shape(
        "card",
        "a payment card number",
        rf"(?:^|[^\w-])(?P<secret>{_CARD_GROUPED}|[0-9]{{13,19}})" + _NOT_AFTER_WORD,
        accept="card",
    ),
    # international: +CC then groups, e.g. +1 415 555 2671, +44 (0)20 7946 0958, +4930123456
    Shape(
        "phone",
        "a phone number",
        r"(?:^|[^\w+])(?P<secret>\+[0-9]{1,3}(?:[ .-]?\(?[0-9]{1,5}\)?){1,6})" + _NOT_AFTER_NUMBER,
        accept="phone",
    ),
    # North American: (415) 555-2671, 415-555-2671, 415.555.2671
    Shape(
        "phone",
        "a phone number",
        _EDGE + r"(?P<secret>(?:\([0-9]{3}\) ?|[0-9]{3}[-. ])[0-9]{3}[-. ][0-9]{4})" + _NOT_AFTER_NUMBER,
        accept="phone",
    ),
    # national with a trunk 0: 020 7946 0958, 07700 900123, 030 12345678; French pairs: 01 23 45 67 89
    Shape(
        "phone",
        "a phone number",
        _EDGE + rf"(?P<secret>0[0-9]{{1,4}}[ -][0-9]{{3,4}}[ -]?[0-9]{{3,4}}|{_FRENCH})" + _NOT_AFTER_NUMBER,
        accept="phone",
    ),
    # any number right after a phone word: "call me on 5550199", "Tel: 4155552671"
    Shape(
        "phone",
        "a phone number",
        r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|whatsapp|sms|fax)\b[^0-9\n]{0,15}?"
        r"(?P<secret>\+?\(?[0-9][0-9 ().-]{5,18}[0-9])" + _NOT_AFTER_NUMBER,
        accept="phone",
    ),
)
ACCEPT: dict[str, Callable[[str], bool]] = {"card": is_card, "phone": is_phone}


WHAT: dict[str, str] = {shape.kind: shape.what for shape in SHAPES}  # how a message names each kind


__all__ = ["ACCEPT", "CARD_PREFIXES", "SHAPES", "WHAT", "Shape", "is_card", "is_phone", "luhn"]
