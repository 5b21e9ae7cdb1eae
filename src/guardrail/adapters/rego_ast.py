"""regorus's parse tree (`get_ast_as_json`) as the rest of guardrail reads it: modules, rules, names and spans.

The source rewrites that work around engine defects (`rego_rewrite.py`) and the static checks of `policy check`
(`rego_check.py`) both need to know, per module, its package, its imports, its rules and where every variable is
read or declared. Spans are byte offsets into the UTF-8 source, and columns count bytes, as regorus reports them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from guardrail.errors import PolicyError

Node = dict[str, Any]


@dataclass(frozen=True)
class Span:
    line: int
    col: int
    start: int
    end: int

    @classmethod
    def of(cls, raw: Any) -> Span:
        raw = raw or {}
        return cls(int(raw.get("line", 0)), int(raw.get("col", 0)), int(raw.get("start", 0)), int(raw.get("end", 0)))


@dataclass(frozen=True)
class Import:
    alias: str
    target: str  # the imported path as written: "data.lib.tools", "input.call"
    span: Span


@dataclass
class ParsedModule:
    path: str
    source: str
    ast: Node
    raw: bytes = b""
    package: tuple[str, ...] = ()
    imports: list[Import] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.raw = self.source.encode("utf-8")
        self.package = tuple(ref_path(self.ast.get("package", {}).get("refr", {})) or ())
        self.imports = [imp for imp in (self._import(i) for i in self.ast.get("imports", [])) if imp]

    def text(self, span: Span) -> str:
        return self.raw[span.start : span.end].decode("utf-8", "replace")

    def _import(self, node: Node) -> Import | None:
        refr = node.get("refr", {})
        path = ref_path(refr)
        if not path or path[0] not in ("data", "input"):
            return None  # rego.v1, future.keywords: not names a rule can read
        alias_span = node.get("as")
        alias = self.text(Span.of(alias_span)) if alias_span else path[-1]
        return Import(alias=alias, target=self.text(span_of(refr)), span=Span.of(node.get("span")))

    def rules(self) -> Iterator[Rule]:
        for index, item in enumerate(self.ast.get("rules", [])):
            yield Rule(self, index, item)


@dataclass(frozen=True)
class Rule:
    module: ParsedModule
    index: int
    node: Node

    @property
    def kind(self) -> str:
        """ "func" for functions, "default" for default rules, "rule" otherwise."""
        if "Default" in self.node:
            return "default"
        head = self.node.get("Spec", {}).get("head", {})
        return "func" if "Func" in head else "rule"

    @property
    def head(self) -> Node:
        if "Default" in self.node:
            return self.node["Default"]
        return next(iter(self.node["Spec"]["head"].values()))

    @property
    def refr(self) -> Node:
        return self.head.get("refr", {})

    @property
    def name(self) -> str:
        path = ref_path(self.refr, static_only=True)
        return path[0] if path else "?"

    @property
    def span(self) -> Span:
        return span_of(self.refr)

    def static_path(self) -> list[str]:
        """The rule's path inside its package, up to the first variable key (`a.b[k]` -> ["a", "b"])."""
        return ref_path(self.refr, static_only=True) or []

    def arity(self) -> int:
        return len(self.head.get("args", []))


# regorus refuses lines over 1,024 bytes, files over 2 MiB and 40,000 lines by default; OPA has no such limits.
# These are far above any policy a person writes, and still bound what a hostile file can make the parser hold.
MAX_LINE_BYTES = 1_048_576
MAX_FILE_BYTES = 16 * 1_048_576
MAX_LINES = 1_000_000


def new_engine() -> Any:
    """A regorus Engine as guardrail uses it everywhere: one-line error messages, OPA-like source limits."""
    # Rust caches RUST_BACKTRACE at the first error; with it set (these machines set 1), every message would carry
    # a backtrace after the located line, and a message with no location would end in the backtrace's last frame
    os.environ["RUST_BACKTRACE"] = "0"
    import regorus

    from guardrail.adapters.rego_builtins import register

    engine = regorus.Engine()
    engine.set_policy_length_config(max_col=MAX_LINE_BYTES, max_file_bytes=MAX_FILE_BYTES, max_lines=MAX_LINES)
    register(engine)
    return engine


# regorus's parser takes time exponential in how deeply `[` and `{` nest (13 levels: seconds; 18: minutes) and
# overflows its stack on thousands; OPA has no such limit, but no policy a person writes comes near it.
MAX_NESTING = 12


def nesting_error(path: str, source: str) -> PolicyError | None:
    """Brackets nested deeper than MAX_NESTING (outside strings and comments), located at the first too deep."""
    depth, line, col, quote, escaped, comment = 0, 1, 0, "", False, False
    for char in source:
        col += 1
        if char == "\n":
            line, col, comment = line + 1, 0, False
        elif comment:
            continue
        elif quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in '"`':
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return PolicyError(
                    f"{path}:{line}:{col}: brackets nested more than {MAX_NESTING} deep, which the embedded "
                    "engine's parser cannot read in reasonable time; move a literal this deep to a data file "
                    "(policies/data/*.yaml, or --data)"
                )
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


def add_module(engine: Any, path: str, source: str) -> None:
    """`engine.add_policy`, after refusing what would hang or crash its parser."""
    error = nesting_error(path, source)
    if error is not None:
        raise error
    engine.add_policy(path, source)


def parse(modules: list[tuple[str, str]]) -> list[ParsedModule]:
    """Parse (not compile) every module; a syntax error raises regorus's located RuntimeError."""
    engine = new_engine()
    for path, source in modules:
        add_module(engine, path, source)
    trees = json.loads(engine.get_ast_as_json()) if modules else []
    pairs = zip(modules, trees, strict=True)
    return [ParsedModule(path, source, tree.get("ast", {})) for (path, source), tree in pairs]


def span_of(node: Node) -> Span:
    """The span of an expression node ({"Var": {"span": ...}} and the like)."""
    if not node:
        return Span(0, 0, 0, 0)
    inner = next(iter(node.values()))
    return Span.of(inner.get("span") if isinstance(inner, dict) else None)


def ref_path(node: Node, *, static_only: bool = False) -> list[str] | None:
    """`a.b["c"]` -> ["a", "b", "c"]; None when the root is not a variable. A variable key ends a static path."""
    if "Var" in node:
        return [str(node["Var"]["value"])]
    if "RefDot" in node:
        base = ref_path(node["RefDot"]["refr"], static_only=static_only)
        field_ = node["RefDot"].get("field")
        name = field_[1] if isinstance(field_, list) and len(field_) == 2 else None
        return None if base is None or name is None else [*base, str(name)]
    if "RefBrack" in node:
        base = ref_path(node["RefBrack"]["refr"], static_only=static_only)
        index = node["RefBrack"].get("index", {})
        if base is None:
            return None
        if "String" in index:
            return [*base, str(index["String"]["value"])]
        return base if static_only else None
    return None


def var_nodes(node: Any) -> Iterator[Node]:
    """Every `Var` expression under node (declarations included; field names and spans are not Var nodes)."""
    if isinstance(node, dict):
        if "Var" in node and isinstance(node["Var"], dict) and "value" in node["Var"]:
            yield node["Var"]
            return
        for value in node.values():
            yield from var_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from var_nodes(value)


def declared_locals(rule: Rule) -> set[str]:
    """Names a rule declares as local variables: function arguments, `some`, `:=`, `every`, `some ... in`."""
    names: set[str] = set()
    module = rule.module
    if rule.kind == "func":
        names.update(v["value"] for v in var_nodes(rule.head.get("args", [])))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "SomeVars" in node:
                names.update(module.text(Span.of(s)) for s in node["SomeVars"].get("vars", []))
            if "SomeIn" in node:
                some_in = node["SomeIn"]
                names.update(v["value"] for v in var_nodes([some_in.get("key"), some_in.get("value")]))
            if "Every" in node:
                every = node["Every"]
                names.update(module.text(Span.of(s)) for s in (every.get("key"), every.get("value")) if s)
            if "AssignExpr" in node and node["AssignExpr"].get("op") == "ColEq":
                names.update(v["value"] for v in var_nodes(node["AssignExpr"].get("lhs")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(rule.node)
    return names


__all__ = [
    "MAX_NESTING",
    "Import",
    "ParsedModule",
    "Rule",
    "Span",
    "add_module",
    "declared_locals",
    "nesting_error",
    "new_engine",
    "parse",
    "ref_path",
    "span_of",
    "var_nodes",
]
