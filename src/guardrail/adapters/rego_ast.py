"""regorus's parse tree (`get_ast_as_json`) as the rest of guardrail reads it: modules, rules, names and spans.

The source rewrites that work around engine defects (`rego_rewrite.py`) and the static checks of `policy check`
(`rego_check.py`) both need to know, per module, its package, its imports, its rules and where every variable is
read or declared. Spans are byte offsets into the UTF-8 source, and columns count bytes, as regorus reports them.
"""

from __future__ import annotations

import functools
import json
import os
import re
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
    _rules: list[Rule] | None = None

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

    def rules(self) -> list[Rule]:
        if self._rules is None:
            self._rules = [Rule(self, index, item) for index, item in enumerate(self.ast.get("rules", []))]
        return self._rules


@dataclass
class Scope:
    """What one rule binds and reads, from one walk over it (a lenient union: OPA's order checks are the engine's).

    `declared`: locals it declares (arguments, `some`, `:=`, `every`); `bound`: those and every variable a
    unification, a pattern or an index binds; `vars`: every variable node, wherever it is (rewrites need them all).
    """

    declared: set[str] = field(default_factory=set)
    bound: set[str] = field(default_factory=set)
    reads: list[Node] = field(default_factory=list)
    vars: list[Node] = field(default_factory=list)
    calls: list[tuple[list[str], list[Node], Span]] = field(default_factory=list)
    withs: list[tuple[Node, Node]] = field(default_factory=list)


class Rule:
    def __init__(self, module: ParsedModule, index: int, node: Node) -> None:
        self.module, self.index, self.node = module, index, node

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

    @functools.cached_property
    def scope(self) -> Scope:
        scope = Scope()
        head = self.head
        _visit(head.get("refr"), scope, self.module, skip_root=True)
        for arg in head.get("args", []):
            _visit(arg, scope, self.module, binding=True, declare=True)
        for key in ("key", "value"):
            _visit(head.get(key), scope, self.module)
        _visit((head.get("assign") or {}).get("value"), scope, self.module)
        for body in self.node.get("Spec", {}).get("bodies", []):
            _visit((body.get("assign") or {}).get("value"), scope, self.module)
            _visit(body.get("query"), scope, self.module)
        return scope


def _visit(
    node: Any,
    scope: Scope,
    module: ParsedModule,
    *,
    binding: bool = False,
    declare: bool = False,
    skip_root: bool = False,
) -> None:
    """Collect bindings, reads, calls and `with`s; `binding` marks a pattern position (`[a, b] = xs`)."""
    if isinstance(node, list):
        for item in node:
            _visit(item, scope, module, binding=binding, declare=declare)
        return
    if not isinstance(node, dict) or not node:
        return
    if "stmts" in node:
        for stmt in node["stmts"]:
            _visit(stmt.get("literal"), scope, module)
            for mod in stmt.get("with_mods") or []:
                scope.withs.append((mod.get("refr", {}), mod.get("as", {})))
                _visit(mod.get("refr"), scope, module, skip_root=True)
                if (root := _root_var(mod.get("refr", {}))) is not None:
                    scope.vars.append(root)
                _visit(mod.get("as"), scope, module)
        return
    kind, inner = next(iter(node.items()))
    if not isinstance(inner, dict):
        return
    if kind == "Var":
        if skip_root:
            return
        scope.vars.append(inner)
        if binding:
            scope.bound.add(inner["value"])
            if declare:
                scope.declared.add(inner["value"])
        else:
            scope.reads.append(inner)
    elif kind in ("RefDot", "RefBrack"):
        _visit(inner.get("refr"), scope, module, skip_root=skip_root)
        if kind == "RefBrack":
            _visit(inner.get("index"), scope, module, binding=True)
    elif kind == "Call":
        fcn = inner.get("fcn", {})
        path = ref_path(fcn)
        if path:
            scope.calls.append((path, list(inner.get("params", [])), span_of(fcn)))
            _visit(fcn, scope, module, skip_root=True)
            if (root := _root_var(fcn)) is not None:
                scope.vars.append(root)
        else:
            _visit(fcn, scope, module)
        _visit(inner.get("params"), scope, module)
    elif kind == "AssignExpr":
        declare_lhs = inner.get("op") == "ColEq"
        _visit(inner.get("lhs"), scope, module, binding=True, declare=declare_lhs)
        _visit(inner.get("rhs"), scope, module, binding=not declare_lhs)
    elif kind in ("SomeIn", "Every"):
        for key in ("key", "value"):
            item = inner.get(key)
            if isinstance(item, dict) and "line" in item:  # `every` names its variables by span only
                name = module.text(Span.of(item))
                scope.bound.add(name)
                scope.declared.add(name)
            else:
                _visit(item, scope, module, binding=True, declare=True)
        _visit(inner.get("collection") or inner.get("domain"), scope, module)
        _visit(inner.get("query"), scope, module)
    elif kind == "SomeVars":
        names = {module.text(Span.of(s)) for s in inner.get("vars", [])}
        scope.bound.update(names)
        scope.declared.update(names)
    elif kind in ("Array", "Set", "Object"):
        _visit(inner.get("items") or inner.get("fields"), scope, module, binding=binding, declare=declare)
    else:
        for key, value in inner.items():
            if key not in ("span", "eidx", "op"):
                _visit(value, scope, module)


def _root_var(node: Node) -> Node | None:
    """The variable at the root of a reference (`x` of `x.y[z]`)."""
    while isinstance(node, dict) and ("RefDot" in node or "RefBrack" in node):
        node = next(iter(node.values()))["refr"]
    return node.get("Var") if isinstance(node, dict) and isinstance(node.get("Var"), dict) else None


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
    depth, line, line_start, quote, comment, skip = 0, 1, 0, "", False, -1
    for token in _NESTING_TOKENS.finditer(source):
        char, at = token.group(), token.start()
        if at == skip:  # the character after a backslash inside a string
            continue
        if char == "\n":
            line, line_start, comment = line + 1, at + 1, False
        elif comment:
            continue
        elif quote:
            if char == "\\" and quote == '"':
                skip = at + 1
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
                    f"{path}:{line}:{at - line_start + 1}: brackets nested more than {MAX_NESTING} deep, which the "
                    "embedded engine's parser cannot read in reasonable time; move a literal this deep to a data "
                    "file (policies/data/*.yaml, or --data)"
                )
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


_NESTING_TOKENS = re.compile(r'[\[\]{}"`#\n\\]')


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


__all__ = [
    "MAX_NESTING",
    "Import",
    "ParsedModule",
    "Rule",
    "Scope",
    "Span",
    "add_module",
    "nesting_error",
    "new_engine",
    "parse",
    "ref_path",
    "span_of",
]
