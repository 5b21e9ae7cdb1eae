"""Load YAML/JSON/JSONL user files so that every error can name the file, the line and the field.

PyYAML's composer keeps a line mark on every node; we build the Python value and a map from field path to line in
one pass, so schema and pydantic errors can point at the exact line a user has to edit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from guardrail.errors import ConfigError, FieldError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

try:  # the C loader is ~10x faster on large rosters; fall back when libyaml is absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


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


def format_loc(loc: Loc) -> str:
    """`agents[2].tools[0]` style, the way users read a path into their file."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: str) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ConfigError(
                    f"duplicate key {key!r}",
                    path=path,
                    line=key_node.start_mark.line + 1,
                    field=format_loc(loc) or None,
                )
            seen.add(key)
            _walk(value_node, (*loc, key), lines, path)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, path)


def parse_yaml(text: str, path: str) -> Document:
    """Parse one YAML document; syntax errors become ConfigError with the line."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return Document(path, None)
            lines: dict[Loc, int] = {}
            _walk(node, (), lines, path)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    except RecursionError as exc:
        raise ConfigError("YAML nests too deeply", path=path) from exc
    return Document(path, data, lines)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("file not found", path=str(path)) from exc
    except IsADirectoryError as exc:
        raise ConfigError("is a directory, expected a file", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", path=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from exc


def load_yaml(path: Path) -> Document:
    """YAML or JSON file (JSON is YAML) with line marks."""
    return parse_yaml(read_text(path), str(path))


def iter_jsonl(path: Path) -> Iterator[Document]:
    """One Document per non-blank line; each knows its line in the file."""
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=number) from exc
        yield Document(str(path), value, {(): 0}, base_line=number)


def validate(model: type[M], doc: Document, *, context: dict[str, Any] | None = None) -> M:
    """Build a pydantic record from a document; the first error names file, line and field."""
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc: Loc = tuple(first["loc"])
        message = first["msg"]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc, message = (*loc, *cause.loc), str(cause)
        extra = len(exc.errors()) - 1
        hint = f"{extra} more error(s) in this file" if extra else None
        raise doc.error(message, loc, hint=hint) from None


def validate_schema(schema: dict[str, Any], doc: Document) -> None:
    """JSON Schema check (the published contract); the error names file, line and field."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: (len(e.absolute_path), e.message))
    if errors:
        error = errors[0]
        raise doc.error(error.message, tuple(error.absolute_path))


__all__ = [
    "Document",
    "format_loc",
    "iter_jsonl",
    "load_yaml",
    "parse_yaml",
    "read_text",
    "validate",
    "validate_schema",
]
