"""What a suite or an eval spec marks as sensitive (`redact:`), beyond the built-in patterns of core/redact.py.

A pydantic record, kept apart from the redactor so that redacting (the live hook, on every tool call) does not
load pydantic.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_KIND = r"^[a-z0-9][a-z0-9_.-]*$"


class RedactionRules(BaseModel):
    """What a suite or an eval spec marks as sensitive, on top of the built-in patterns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[str] = Field(default_factory=list, description="keys whose whole value is sensitive, at any depth")
    patterns: dict[str, str] = Field(default_factory=dict, description="kind -> regex; each match is redacted")
    data_classes: list[str] = Field(default_factory=list, description="roster data classes to redact")

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
        for kind, pattern in patterns.items():
            if not re.match(_KIND, kind):
                raise ValueError(f"pattern name {kind!r}: lower-case letters, digits and ._- only")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {kind!r} is not a valid regex: {exc}") from None
        return patterns

    def merged(self, *others: RedactionRules | None) -> RedactionRules:
        """These rules and the others', in order, without repeats."""
        fields, patterns, classes = list(self.fields), dict(self.patterns), list(self.data_classes)
        for other in others:
            if other is None:
                continue
            fields += [f for f in other.fields if f not in fields]
            patterns.update(other.patterns)
            classes += [c for c in other.data_classes if c not in classes]
        return RedactionRules(fields=fields, patterns=patterns, data_classes=classes)


__all__ = ["RedactionRules"]
