"""Redaction: personal data and credentials out of everything guardrail writes (reports, journals, MLflow,
evidence, decision logs).

    Redactor.default().text("mail ann@example.com")        # "mail [REDACTED:email]"
    Redactor.default().value({"email": "ann@example.com"})  # deep over JSON-like values
    Redactor.default().with_rules(RedactionRules(fields=["customer_name"]))   # a field's whole value

Built in: email addresses; phone numbers (international `+CC ...`, North American `(415) 555-2671`, national
numbers with a trunk 0 such as `020 7946 0958`, and any number after a word like "phone" or "call"); payment card
numbers (13-19 digits with a card network's prefix, Luhn-checked); credentials (core/secrets.py: provider key
formats, JWTs, PEM private keys, bearer tokens, `password=...`, and `user:pass@` in URLs, of which only the
`user:pass` part goes). The patterns stay away from order numbers, dates, times, amounts and IP addresses: a
bare run of digits is a phone number only after a phone word, and a card only when it passes Luhn with a network
prefix.

Rules add field names (a sensitive field's whole value goes, whatever it looks like, and so does that value
wherever else it appears in the same document), extra patterns, and roster data classes (their fields and
patterns). A secret-named key's value (`api_key`, `Authorization`) goes whatever it is, unless it is an
`os.environ/NAME` reference. Every match becomes `[REDACTED:<kind>]`; redacting twice changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from guardrail.core import personal_data, secrets
from guardrail.core.personal_data import ACCEPT

if TYPE_CHECKING:  # the rules are pydantic; the redactor is not, so the live hook can redact without loading it
    from guardrail.core.redaction_rules import RedactionRules

MARK = "[REDACTED:{kind}]"


class SensitiveClass(Protocol):
    """A roster data class as redaction sees it (core.roster.DataClass)."""

    @property
    def fields(self) -> list[str]: ...

    @property
    def patterns(self) -> list[str]: ...


# --- built-in detectors -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    kind: str
    regex: re.Pattern[str]
    accept: Callable[[str], bool] | None = None  # a check on the matched number (Luhn, digit count)
    needs: str | None = None  # what a text must hold to match at all: "@", "number", "marker" (checked once per text)


_has_digits = re.compile(r"\d").search
# The numbers the checks accept (`accept`: phone, card) have at least MIN_DIGITS digits: a text with fewer holds none.
_has_number = re.compile(rf"(?:[^0-9]*[0-9]){{{personal_data.MIN_DIGITS}}}").match


_CREDENTIALS = tuple(_Rule("credential", shape.regex, needs="marker") for shape in secrets.CREDENTIAL_SHAPES)


def _may_hold_credential(text: str) -> bool:
    """The cheap screen: a credential's marker (sk-, akia, bearer, ://...) is somewhere in the text."""
    low = text.lower()
    return any(marker in low for marker in secrets.MARKERS)


_PERSONAL = tuple(
    _Rule(s.kind, s.regex, ACCEPT.get(s.accept or ""), "number" if s.accept else "@" if s.kind == "email" else None)
    for s in personal_data.SHAPES
)


_HOLDS: dict[str, Callable[[str], bool]] = {
    "marker": _may_hold_credential,
    "@": lambda s: "@" in s,
    "number": lambda s: _has_number(s) is not None,
}


def _mark(kind: str) -> str:
    return MARK.format(kind=kind)


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_")


class Redactor:
    """Replaces sensitive data with `[REDACTED:<kind>]`. Its rules never change, so one is shared across threads
    and forked processes; it remembers the texts it redacted last (bounded)."""

    MEMO = 4096  # texts remembered: a run's transcripts repeat the same system prompts, tickets and tool results

    def __init__(self, rules: Iterable[_Rule] = (), fields: Mapping[str, str] | None = None) -> None:
        self._rules = tuple(rules)
        self._needs = tuple({rule.needs: None for rule in self._rules if rule.needs is not None})
        self._fields = {_norm(k): v for k, v in (fields or {}).items()}  # field name -> kind
        self._memo: dict[str, tuple[tuple[int, int, str], ...]] = {}

    @classmethod
    def default(cls) -> Redactor:
        """Credentials, emails, phone numbers and payment cards."""
        return cls((*_CREDENTIALS, *_PERSONAL))

    def with_rules(self, rules: RedactionRules, data_classes: Mapping[str, SensitiveClass] | None = None) -> Redactor:
        """This redactor plus `rules`; a data class named in rules contributes its fields and patterns
        (redacted as `[REDACTED:<class>]`). An unknown class name is an error: the loaders check names first."""
        extra = [_Rule(kind, re.compile(pattern)) for kind, pattern in rules.patterns.items()]
        fields = dict(self._fields)
        fields.update((_norm(name), "sensitive") for name in rules.fields)
        for name in rules.data_classes:
            if data_classes is None or name not in data_classes:
                raise KeyError(f"unknown data class {name!r}")
            cls = data_classes[name]
            fields.update((_norm(field), name) for field in cls.fields)
            extra += [_Rule(name, re.compile(pattern)) for pattern in cls.patterns]
        return Redactor((*self._rules, *extra), fields)

    # --- text -----------------------------------------------------------------------------------------------

    def text(self, s: str) -> str:
        """`s` with every match of every rule marked. Each rule looks at `s` as it is, and where two rules'
        matches overlap the earlier rule's wins."""
        return _marked(s, self.spans(s)) if s else s

    def spans(self, s: str) -> tuple[tuple[int, int, str], ...]:
        """Where the rules find sensitive data in `s`: (start, end, kind), the earlier rule winning an overlap."""
        done = self._memo.get(s)
        if done is not None:
            return done
        held = {need: _HOLDS[need](s) for need in self._needs}
        kept: list[tuple[int, int, str]] = []
        for rule in self._rules:
            if (rule.needs is not None and not held[rule.needs]) or (first := rule.regex.search(s)) is None:
                continue
            spans = _spans(rule, s, first)
            kept += [span for span in spans if not any(a < span[1] and span[0] < b for a, b, _ in kept)]
        if len(self._memo) >= self.MEMO:
            self._memo.clear()  # bounded; a run's working set refills it at once
        self._memo[s] = out = tuple(kept)
        return out

    # --- JSON-like values -----------------------------------------------------------------------------------

    def value(self, v: Any) -> Any:
        """A deep copy of `v` with sensitive fields' values and every sensitive match in its strings redacted.
        Strings that hold JSON (tool results, tool-call arguments) are redacted as the values they encode, and a
        sensitive field's value is also redacted where it recurs elsewhere in `v`."""
        found: dict[str, str] = {}  # a sensitive field's text -> its kind
        first = self._walk(v, found)
        if not found:
            return first
        known = re.compile("|".join(re.escape(s) for s in sorted(found, key=len, reverse=True)))
        return _recurring(first, lambda m: _mark(found[m.group()]), known)

    def _walk(self, v: Any, found: dict[str, str]) -> Any:
        if isinstance(v, str):
            return self._string(v, found)
        if isinstance(v, Mapping):
            out: dict[Any, Any] = {}
            for key, item in v.items():
                name = key if isinstance(key, str) else None
                kind = self._fields.get(_norm(name)) if name is not None else None
                if kind is not None and item not in (None, "", [], {}):
                    _collect(item, kind, found)
                    out[key] = _mark(kind)
                elif isinstance(item, str) and item and secrets.is_secret_name(name) and not secrets.env_name(item):
                    out[key] = _mark("credential")  # even a placeholder such as "EMPTY": a record never needs it
                else:
                    out[key] = self._walk(item, found)
            return out
        if isinstance(v, list | tuple):
            items = [self._walk(item, found) for item in v]
            return items if isinstance(v, list) else tuple(items)
        return v

    def _string(self, s: str, found: dict[str, str]) -> str:
        head = s.lstrip()[:1]
        if head in ("{", "[") and (self._fields or _may_hold_credential(s) or "@" in s or _has_digits(s) is not None):
            try:
                decoded = json.loads(s)
            except ValueError:
                pass
            else:
                if isinstance(decoded, dict | list):
                    redacted = self._walk(decoded, found)
                    return s if redacted == decoded else json.dumps(redacted, ensure_ascii=False)
        return self.text(s)


_PERSONAL_ONLY = Redactor(_PERSONAL)


def personal_data_in(value: Any) -> list[list[str]]:
    """[argument path, what] for each kind of personal data in the strings of `value` (a tool call's arguments),
    sorted: what the action policy's ACT-003 reads as a call's `personal_data`. The path joins keys and list
    indices with dots ("body.lines.0"). The same search as the redactor's, so what the policy refuses to send is
    exactly what every record redacts."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, str):
        found.update(("", personal_data.WHAT[kind]) for _, _, kind in _PERSONAL_ONLY.spans(value))
    else:
        _personal(value, (), found)
    return [list(item) for item in sorted(found)]


def _personal(value: Any, path: tuple[str, ...], found: set[tuple[str, str]]) -> None:
    items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list | tuple) else ()
    for key, item in items:
        if isinstance(item, str):
            for _, _, kind in _PERSONAL_ONLY.spans(item):
                found.add((".".join((*path, str(key))), personal_data.WHAT[kind]))
        elif isinstance(item, Mapping | list | tuple):
            _personal(item, (*path, str(key)), found)


def _collect(value: Any, kind: str, found: dict[str, str]) -> None:
    """Strings (and numbers) inside a sensitive field's value, to redact where they recur."""
    if isinstance(value, Mapping):
        for item in value.values():
            _collect(item, kind, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, kind, found)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        if len(text) >= 4 and not text.startswith("[REDACTED:"):
            found.setdefault(text, kind)


def _spans(rule: _Rule, text: str, first: re.Match[str]) -> list[tuple[int, int, str]]:
    """Where `rule` finds sensitive data in `text`, from its `first` match on: the secret part of each match (the
    `secret*` group that matched, else all of it) that its check accepts. The search goes on from the end of that
    part, not of the match: a shape's edges are consumed characters (no look-around), so the comma in
    "a@x.com,b@y.com" is the first match's end and the second's start."""
    found: list[tuple[int, int, str]] = []
    match: re.Match[str] | None = first
    while match is not None:
        groups = [g for g, v in match.groupdict().items() if g.startswith("secret") and v is not None]
        start, end = match.span(groups[0]) if groups else match.span()
        if end > start and (rule.accept is None or rule.accept(text[start:end])):
            found.append((start, end, rule.kind))
        match = rule.regex.search(text, max(end, match.start() + 1))
    return found


def _marked(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    if not spans:
        return text
    out: list[str] = []
    done = 0
    for start, end, kind in sorted(spans):
        out += [text[done:start], _mark(kind)]
        done = end
    return "".join(out) + text[done:]


def _recurring(v: Any, mark: Callable[[re.Match[str]], str], known: re.Pattern[str]) -> Any:
    """`v` with the known sensitive values replaced wherever they recur (the second pass of Redactor.value)."""
    if isinstance(v, str):
        return known.sub(mark, v)
    if isinstance(v, Mapping):
        return {key: _recurring(item, mark, known) for key, item in v.items()}
    if isinstance(v, list | tuple):
        items = [_recurring(item, mark, known) for item in v]
        return items if isinstance(v, list) else tuple(items)
    return v


__all__ = ["MARK", "Redactor", "SensitiveClass", "personal_data_in"]
