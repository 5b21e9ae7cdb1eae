"""What regorus does not give us: rule METADATA annotations and the list of test rules.

regorus parses `# METADATA` comments but exposes no `rego.metadata.rule()`, so we read the YAML comment block above
each rule from the source. Test rules come from the AST (`get_ast_as_json`), which knows rule heads and their lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from guardrail.adapters.loading import parse_yaml
from guardrail.adapters.rego import PolicyBundle
from guardrail.errors import ConfigError, PolicyError

_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.MULTILINE)
_RULE_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class RuleMeta:
    """The annotations of one rule, as a compliance officer wrote them."""

    path: str
    package: str  # "data.roster.tools"
    rule: str  # the rule name in the head: deny, warn, violation...
    line: int
    title: str | None = None
    description: str | None = None
    id: str | None = None
    severity: str | None = None
    controls: tuple[str, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleHead:
    path: str
    package: str
    name: str
    line: int
    col: int


def package_of(source: str) -> str | None:
    match = _PACKAGE.search(source)
    return f"data.{match.group(1)}" if match else None


def parse_metadata(bundle: PolicyBundle) -> list[RuleMeta]:
    """Every METADATA block in the bundle, attached to the rule on the next code line."""
    out: list[RuleMeta] = []
    for path, source in bundle.modules:
        package = package_of(source) or "data"
        lines = source.splitlines()
        index = 0
        while index < len(lines):
            if lines[index].strip() != "# METADATA":
                index += 1
                continue
            start = index + 1
            block: list[str] = []
            index += 1
            while index < len(lines) and lines[index].lstrip().startswith("#"):
                text = lines[index].lstrip()[1:]
                block.append(text[1:] if text.startswith(" ") else text)
                index += 1
            try:  # the guarded parser: a METADATA block is user input too (alias bombs, deep nesting)
                meta = parse_yaml("\n".join(block), path).data or {}
            except ConfigError as exc:
                line = start + (exc.line or 1)
                raise PolicyError(f"{path}:{line}:1: METADATA is not valid YAML: {exc.message_only}") from None
            while index < len(lines) and not lines[index].strip():
                index += 1
            if index >= len(lines) or not isinstance(meta, dict):
                continue
            match = _RULE_NAME.match(lines[index])
            if not match or match.group(1) in ("package", "import"):
                continue
            custom = meta.get("custom") or {}
            controls = custom.get("controls") or meta.get("controls") or []
            out.append(
                RuleMeta(
                    path=path,
                    package=package,
                    rule=match.group(1),
                    line=index + 1,
                    title=meta.get("title"),
                    description=(meta.get("description") or "").strip() or None,
                    id=str(custom["id"]) if custom.get("id") is not None else None,
                    severity=custom.get("severity") or meta.get("severity"),
                    controls=tuple(str(c) for c in controls) if isinstance(controls, list) else (str(controls),),
                    custom=custom if isinstance(custom, dict) else {},
                )
            )
    return out


def rule_heads(ast: list[dict[str, Any]]) -> list[RuleHead]:
    """Rule names and locations from regorus's AST JSON (one entry per module)."""
    heads: list[RuleHead] = []
    for module in ast:
        path = module.get("source", {}).get("file", "?")
        package = package_of(module.get("source", {}).get("contents", "")) or "data"
        for rule in module.get("ast", {}).get("rules", []):
            spec = rule.get("Spec")
            if not spec:
                continue
            head = next(iter(spec["head"].values()))
            ref = head.get("refr", {})
            name = _ref_name(ref)
            span = head.get("span", {})
            if name:
                heads.append(RuleHead(path, package, name, int(span.get("line", 0)), int(span.get("col", 0))))
    return heads


def _ref_name(ref: dict[str, Any]) -> str | None:
    if "Var" in ref:
        return str(ref["Var"]["value"])
    if "RefDot" in ref:  # `a.b.test_x if ...`: the last field names the rule
        field_ = ref["RefDot"].get("field")
        return str(field_[1]) if isinstance(field_, list) and len(field_) == 2 else None
    return None


def test_rules(ast: list[dict[str, Any]]) -> list[RuleHead]:
    """`test_*` rules in `*_test.rego` files, once each, in file order (like `opa test`)."""
    seen: set[tuple[str, str]] = set()
    out: list[RuleHead] = []
    for head in rule_heads(ast):
        if not head.path.endswith("_test.rego") or not head.name.startswith("test_"):
            continue
        key = (head.package, head.name)
        if key not in seen:
            seen.add(key)
            out.append(head)
    return out


def statement_lines(ast: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Lines holding a rule-body statement, per file: what coverage can count.

    regorus leaves files that no query touched out of its coverage report; we count their statements as not covered,
    as `opa test --coverage` does.
    """
    out: dict[str, set[int]] = {}

    def walk(node: Any, lines: set[int]) -> None:
        if isinstance(node, dict):
            for stmt in node.get("stmts", []) if isinstance(node.get("stmts"), list) else []:
                line = stmt.get("span", {}).get("line")
                if line:
                    lines.add(int(line))
            for value in node.values():
                walk(value, lines)
        elif isinstance(node, list):
            for value in node:
                walk(value, lines)

    for module in ast:
        lines: set[int] = set()
        walk(module.get("ast", {}), lines)
        out[module.get("source", {}).get("file", "?")] = lines
    return out


test_rules.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
