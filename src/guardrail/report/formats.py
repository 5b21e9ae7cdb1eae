"""The output formats every reporting command offers, and one registry of renderers per record.

    class Format(StrEnum)                   # text, json, junit, sarif, github, markdown: the `--format` choices
    Renderers({Format.TEXT: fn, ...})       # every format, each a function of one record -> str
    Renderers.of_findings(to_doc, json=fn)  # the shared findings renderers over a record's FindingsDoc

A command declares `fmt: Format` (typer shows the choices and refuses others) and renders with its registry; the
registry refuses to be built without a renderer for every format, so a new format is one enum member plus one
renderer per registry, and a command cannot forget one. Renderers only format: whether a command passed is decided
before, from its records (Conftest's rule). `cli/common.emit_report` writes the result and, for `github`, appends
the markdown rendering to `$GITHUB_STEP_SUMMARY`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from guardrail.core.findings import FindingsDoc

T = TypeVar("T")


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    SARIF = "sarif"
    GITHUB = "github"
    MARKDOWN = "markdown"


class Renderers(Generic[T]):
    """A record's renderers, one per Format."""

    def __init__(self, renderers: Mapping[Format, Callable[[T], str]]) -> None:
        missing = [f.value for f in Format if f not in renderers]
        if missing:
            raise ValueError(f"no renderer for {', '.join(missing)}")
        self._renderers = dict(renderers)

    def render(self, fmt: Format, subject: T) -> str:
        return self._renderers[Format(fmt)](subject)

    @classmethod
    def of_findings(
        cls, to_doc: Callable[[T], FindingsDoc], **overrides: Callable[[T], str]
    ) -> Renderers[T]:
        """The findings renderers (report/findings.py) over `to_doc(record)`; `json=...` and the like replace one."""
        from guardrail.report.findings import FINDINGS

        def via_doc(fmt: Format) -> Callable[[T], str]:
            return lambda subject: FINDINGS.render(fmt, to_doc(subject))

        return cls({fmt: overrides.get(fmt.value) or via_doc(fmt) for fmt in Format})


__all__ = ["Format", "Renderers"]
