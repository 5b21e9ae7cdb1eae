"""Load YAML/JSON/JSONL user files so that every error can name the file, the line and the field.

Every user file comes through here: read by the guarded path (`adapters/files.py`: regular files only, a size
limit), parsed within a nesting limit, an alias-expansion limit and finite numbers only (`adapters/yaml_compose.py`
for YAML, `parse_json` for JSON), and validated into pydantic records by one helper that reports every error in
the file, each with its line and field. The composer records a map from field path to line in the same pass, so
schema and pydantic errors point at the exact line a user has to edit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from guardrail.adapters import files
from guardrail.adapters.yaml_compose import MAX_DEPTH, Loc, compose, format_loc
from guardrail.errors import ConfigError, FieldError

M = TypeVar("M", bound=BaseModel)

try:  # the C parser is ~10x faster on large rosters; fall back when libyaml is absent
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """Safe loading, plus YAML 1.2's (and JSON's) numbers with an exponent and no dot (`1e-06`), which YAML 1.1
    reads as strings: prices are written that way."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"), list("-+0123456789")
)


@dataclass
class Document:
    """A parsed file: its value and where each field came from."""

    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    base_line: int = 0  # for JSONL records: the line of the record in its file

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest known prefix of `loc` (a missing field points at its parent)."""
        for cut in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:cut]))
            if line is not None:
                return line + self.base_line
        return None

    def error(self, message: str, loc: Loc = (), hint: str | None = None) -> ConfigError:
        return ConfigError(message, path=self.path, line=self.line_of(loc), field=format_loc(loc) or None, hint=hint)


def parse_yaml(text: str, path: str) -> Document:
    """Parse one YAML document within the limits (`yaml_compose`); every error is a ConfigError with the line."""
    try:
        loader = _Loader(text)
        try:
            node, lines = compose(loader, path)
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", path=path, line=line) from exc
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # e.g. a date like 2026-13-45, a 5,000-digit number
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    return Document(path, data, lines)


def parse_json(raw: bytes | str, path: str, *, line: int | None = None) -> Any:
    """One JSON value within the limits: nesting (no RecursionError), finite numbers only; errors name the line
    (`line`: the value's line in a JSONL file) and, for a non-finite number, its field."""
    bad: list[str] = []

    def constant(name: str) -> float:
        bad.append(name)
        return math.nan

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            bad.append(text)
        return value

    try:
        value = json.loads(raw, parse_constant=constant, parse_float=number)
    except RecursionError:
        raise ConfigError(f"nested deeper than {MAX_DEPTH} levels", path=path, line=line) from None
    except json.JSONDecodeError as exc:
        at = line if line is not None else exc.lineno
        raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=path, line=at) from None
    except (ValueError, TypeError) as exc:  # not UTF-8, a 5,000-digit number
        raise ConfigError(f"invalid JSON: {exc}", path=path, line=line) from None
    if bad:
        raise ConfigError(f"not a finite number: {bad[0]}", path=path, line=line, field=_find(value, _nonfinite))
    if _brackets(raw) > MAX_DEPTH and _find(value, _deeper_than_limit) is not None:
        raise ConfigError(f"nested deeper than {MAX_DEPTH} levels", path=path, line=line)
    return value


def _brackets(raw: bytes | str) -> int:
    """An upper bound of the nesting depth, counted in C: most values need no walk at all."""
    if isinstance(raw, bytes):
        return raw.count(b"[") + raw.count(b"{")
    return raw.count("[") + raw.count("{")


def _nonfinite(value: Any, depth: int) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _deeper_than_limit(value: Any, depth: int) -> bool:
    return isinstance(value, dict | list) and depth >= MAX_DEPTH


def _find(value: Any, test: Any) -> str | None:
    """The field (as format_loc writes it) of the first item `test` picks, walking without recursion."""
    stack: list[tuple[Any, Loc]] = [(value, ())]
    while stack:
        item, loc = stack.pop()
        if test(item, len(loc)):
            return format_loc(loc)
        if isinstance(item, dict):
            stack.extend((v, (*loc, str(k))) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((v, (*loc, i)) for i, v in reversed(list(enumerate(item))))
    return None


def read_text(path: Path) -> str:
    """A user's text file, through the guarded path (`adapters/files.py`)."""
    return files.read_text(path)


def load_yaml(path: Path) -> Document:
    """YAML or JSON file (JSON is YAML) with line marks."""
    return parse_yaml(read_text(path), str(path))


def load_json(path: Path) -> Any:
    """A JSON file (evidence, run.json, summary.json) through the guarded path."""
    return parse_json(files.read_bytes(path), str(path))


def iter_jsonl(path: Path) -> Iterator[Document]:
    """One Document per non-blank line, streamed; each knows its line in the file."""
    for number, raw in files.iter_lines(path):
        if raw.strip():
            yield Document(str(path), parse_json(raw, str(path), line=number), {(): 0}, base_line=number)


def validate(model: type[M], doc: Document, *, context: dict[str, Any] | None = None) -> M:
    """Build a pydantic record from a document; the ConfigError lists every error, each with its line and field."""
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        raise schema_error(exc, doc) from None


def schema_error(
    exc: ValidationError,
    doc: Document | None = None,
    *,
    path: str | None = None,
    line: int | None = None,
    prefix: Loc = (),
    hint: str | None = None,
) -> ConfigError:
    """The one translation of a pydantic ValidationError: every error, sorted by line, as one ConfigError (the
    first is its path, line and field; the rest follow it, one per line). Without a `doc`, `path` names the file
    and `line` the record's line in it (a JSONL record)."""
    if doc is None and line is not None:
        doc = Document(path or "", None, {(): 0}, base_line=line)
    return _as_one(problems_of(exc, prefix), doc, path or (doc.path if doc else None), hint)


def problems_of(exc: ValidationError, prefix: Loc = ()) -> list[tuple[Loc, str]]:
    """Every error of a ValidationError as (field path, message); a FieldError raised inside a validator names the
    field it is about."""
    problems: list[tuple[Loc, str]] = []
    for error in exc.errors(include_url=False):
        loc: Loc = (*prefix, *error["loc"])
        message = error["msg"]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc, message = (*loc, *cause.loc), str(cause)
        problems.append((loc, message))
    return problems


def validate_schema(schema: dict[str, Any], doc: Document, *, prefix: Loc = (), value: Any = None) -> None:
    """JSON Schema check (the published contract) of the document, or of `value` found in it at `prefix`; the
    ConfigError lists every error with its line and field."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    checked = value if prefix else doc.data
    problems = [((*prefix, *e.absolute_path), e.message) for e in validator.iter_errors(checked)]
    if problems:
        raise _as_one(problems, doc, doc.path)


def _as_one(
    problems: list[tuple[Loc, str]], doc: Document | None, path: str | None, hint: str | None = None
) -> ConfigError:
    def one(loc: Loc, message: str) -> ConfigError:
        if doc is not None:
            return doc.error(message, loc)
        return ConfigError(message, path=path, field=format_loc(loc) or None)

    errors = sorted((one(loc, message) for loc, message in problems), key=lambda e: e.line or 0)
    first, *rest = errors
    return ConfigError(
        first.message_only, path=first.path, line=first.line, field=first.field, hint=hint or first.hint, also=rest
    )


__all__ = [
    "Document",
    "Loc",
    "format_loc",
    "iter_jsonl",
    "load_json",
    "load_yaml",
    "parse_json",
    "parse_yaml",
    "problems_of",
    "read_text",
    "schema_error",
    "validate",
    "validate_schema",
]
