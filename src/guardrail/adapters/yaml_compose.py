"""Compose one YAML document from parser events, without recursion and within limits, recording each field's line.

Why not PyYAML's composer: libyaml's (C) composer recurses once per nesting level and segfaults on a document
nested 100,000 deep; the Python one raises RecursionError; and neither bounds aliases, so a 9-level "billion
laughs" document expands past gigabytes in whatever walks it next. This composer keeps its own stack, stops at
`MAX_DEPTH` levels (counting what an alias brings in), refuses aliases that would expand the document past
`ALIAS_BUDGET` extra nodes (or ten times its size), refuses non-finite numbers (`.inf`, `.nan`), and records the
line of every field in the same pass, so every error names file, line and field. Values are then built by
PyYAML's SafeConstructor from these nodes, which shares aliased objects instead of copying them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from guardrail.errors import ConfigError

Loc = tuple[str | int, ...]

MAX_DEPTH = 128  # nesting levels: far beyond any roster, suite or tool schema, far below Python's recursion limit
ALIAS_BUDGET = 1_000_000  # nodes aliases may add to a document, beyond ALIAS_RATIO x its own size
ALIAS_RATIO = 10
_CORE = "tag:yaml.org,2002:"
_FLOAT_TAG, _INT_TAG = f"{_CORE}float", f"{_CORE}int"
_CHECKED = {_FLOAT_TAG, _INT_TAG, f"{_CORE}timestamp"}  # scalars whose value can fail to build
# what JSON can carry, plus dates (waivers, approvals) and merge keys; `!!binary`, `!!set`, `!!omap` and the like
# build values no policy engine or JSON file can hold, so they are refused where they are written
_TAGS = {f"{_CORE}{name}" for name in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")}


def format_loc(loc: Loc) -> str:
    """`agents[2].tools[0]` style, the way users read a path into their file."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class _Open:
    """A collection being composed: its node, where it is, and what its children added up to so far."""

    node: yaml.SequenceNode | yaml.MappingNode
    loc: Loc
    anchor: str | None
    key: yaml.ScalarNode | None = None  # a mapping's key waiting for its value
    seen: set[str] = field(default_factory=set)
    size: int = 1  # nodes once aliases are expanded
    height: int = 1  # nesting levels once aliases are expanded


@dataclass
class _Composer:
    loader: Any
    path: str
    lines: dict[Loc, int] = field(default_factory=dict)
    anchors: dict[str, tuple[yaml.Node, int, int]] = field(default_factory=dict)  # anchor -> (node, size, height)
    open_anchors: set[str] = field(default_factory=set)
    stack: list[_Open] = field(default_factory=list)
    distinct = 0
    expanded = 0

    def error(self, message: str, mark: Any, loc: Loc = ()) -> ConfigError:
        return ConfigError(message, path=self.path, line=mark.line + 1, field=format_loc(loc) or None)

    def next_loc(self) -> Loc:
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if isinstance(parent.node, yaml.SequenceNode):
            return (*parent.loc, len(parent.node.value))
        return parent.loc if parent.key is None else (*parent.loc, parent.key.value)

    def document(self) -> yaml.Node | None:
        get, check = self.loader.get_event, self.loader.check_event
        get()  # stream start
        if check(yaml.StreamEndEvent):
            return None
        get()  # document start
        root: yaml.Node | None = None
        while True:
            event = get()
            if isinstance(event, yaml.DocumentEndEvent):
                break
            done = self.event(event)
            if done is None:
                continue
            if self.stack:
                self.attach(done, event)
            else:
                root = done[0]
        if not check(yaml.StreamEndEvent):
            raise self.error("expected one YAML document, found another", self.loader.peek_event().start_mark)
        return root

    def event(self, event: Any) -> tuple[yaml.Node, int, int] | None:
        """A finished node as (node, size, height), or None when a collection was opened."""
        loc = self.next_loc()
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, loc)
        start: Any = event.start_mark
        if isinstance(event, yaml.ScalarEvent):
            tag = self.tag(event, yaml.ScalarNode, event.value)
            node: Any = yaml.ScalarNode(tag, event.value, start, event.end_mark, style=event.style)  # type: ignore[arg-type]
            self.distinct += 1
            self.lines.setdefault(loc, start.line + 1)
            if node.tag in _CHECKED and (node.tag != _INT_TAG or len(node.value) > 18):
                self.check_scalar(node, loc)
            self.anchor(event, (node, 1, 0))
            return node, 1, 0
        if isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            opened = self.stack.pop()
            opened.node.end_mark = event.end_mark
            done = (opened.node, opened.size, opened.height)
            if opened.anchor is not None:
                self.open_anchors.discard(opened.anchor)
                self.anchors[opened.anchor] = done
            return done
        if len(self.stack) >= MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
        node = kind(self.tag(event, kind, None), [], event.start_mark, None, flow_style=event.flow_style)
        self.distinct += 1
        self.lines.setdefault(loc, event.start_mark.line + 1)
        self.anchor(event, None)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Open(node, loc, event.anchor))
        return None

    def tag(self, event: Any, kind: type[yaml.Node], value: str | None) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, value, event.implicit)
            if tag == f"{_CORE}value":  # a bare `=`: PyYAML resolves it to a tag it cannot build
                return f"{_CORE}str"
        if tag not in _TAGS:
            shown = tag.replace(_CORE, "!!")
            raise self.error(f"unsupported YAML tag {shown} (plain values only)", event.start_mark, self.next_loc())
        return str(tag)

    def anchor(self, event: Any, done: tuple[yaml.Node, int, int] | None) -> None:
        name = event.anchor
        if name is None:
            return
        if name in self.anchors or name in self.open_anchors:
            raise self.error(f"duplicate anchor &{name}", event.start_mark, self.next_loc())
        if done is not None:
            self.anchors[name] = done

    def alias(self, event: Any, loc: Loc) -> tuple[yaml.Node, int, int]:
        name = event.anchor
        if name in self.open_anchors:
            raise self.error(f"alias *{name} refers to a node that contains it", event.start_mark, loc)
        if name not in self.anchors:
            raise self.error(f"alias *{name} has no anchor &{name} before it", event.start_mark, loc)
        done = self.anchors[name]
        self.expanded += done[1]
        if self.expanded > ALIAS_BUDGET + ALIAS_RATIO * self.distinct:
            raise self.error(
                f"aliases expand this document past {self.expanded:,} extra nodes (limit {ALIAS_BUDGET:,} plus "
                f"{ALIAS_RATIO}x its size): an alias bomb?",
                event.start_mark,
                loc,
            )
        if len(self.stack) + done[2] > MAX_DEPTH:
            raise self.error(f"alias *{name} nests it deeper than {MAX_DEPTH} levels", event.start_mark)
        self.lines.setdefault(loc, event.start_mark.line + 1)
        return done

    def check_scalar(self, node: yaml.ScalarNode, loc: Loc) -> None:
        """A number or date is built here once, so what cannot be built (2026-13-45, a 5,000-digit number) or
        is not finite (.inf, .nan, 1.0e+999) is an error with its line and field."""
        try:
            value = self.loader.construct_object(node)
        except (ValueError, OverflowError) as exc:
            raise self.error(f"invalid value {node.value[:40]!r}: {exc}", node.start_mark, loc) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(f"not a finite number: {node.value}", node.start_mark, loc)

    def attach(self, done: tuple[yaml.Node, int, int], event: Any) -> None:
        parent = self.stack[-1]
        node, size, height = done
        parent.size += size
        parent.height = max(parent.height, height + 1)
        if isinstance(parent.node, yaml.SequenceNode):
            parent.node.value.append(node)
        elif parent.key is not None:
            parent.node.value.append((parent.key, node))
            parent.key = None
        elif not isinstance(node, yaml.ScalarNode):
            raise self.error("a mapping key must be a plain value", event.start_mark, parent.loc)
        else:
            if node.value in parent.seen:
                raise self.error(f"duplicate key {node.value!r}", node.start_mark, parent.loc)
            parent.seen.add(node.value)
            parent.key = node
            self.lines[(*parent.loc, node.value)] = node.start_mark.line + 1


def compose(loader: Any, path: str) -> tuple[yaml.Node | None, dict[Loc, int]]:
    """The document's root node (None for an empty file) and the line of every field, within the limits."""
    composer = _Composer(loader, path)
    return composer.document(), composer.lines


__all__ = ["ALIAS_BUDGET", "ALIAS_RATIO", "MAX_DEPTH", "Loc", "compose", "format_loc"]
