"""Source rewrites that make regorus give OPA's answer where it otherwise would not.

The defect (regorus 0.13): when a whole package is evaluated (`data.p`, `data.p[k]`, or `p.deny` through
`import data.p`), regorus evaluates the package's modules one at a time and marks the package "done" after the
first. Every later lookup under that package is then served from the half-built document: a rule of a later module
that reads an import alias (`x.name` after `import data.lib.x`) or a rule defined further down sees undefined, so
`p.deny with input as ...` in a test can miss the second file's denials. Which module comes first depends on file
names, so a second file added to a package could make tests pass or fail for the wrong reason.

Two rewrites remove every path to it, without changing what any rule means:
- Import aliases are spelled out: `x.name` becomes `data.lib.x.name` (OPA resolves an alias exactly so). A rule then
  reads the rule it names, not the imported document as a whole, so most whole-package evaluations never start,
  and the function bodies that read an alias after a package was marked still see the real value.
- For a package whose documents span several modules (its own files or sub-packages'), a first-loaded module holds
  one rule, always undefined (so never part of `data.p`), that reads every rule of the package and each of its
  sub-packages whole. A whole-package evaluation reaches it first, so every rule is evaluated before anything is
  marked. (Reading a sub-package's rules one by one instead made regorus drop that sub-package from `data.p` when
  all its rules were undefined, where OPA shows it as `{}`.)

Where an alias is shadowed by a local variable of the same name inside a function, the alias cannot be spelled out
soundly; `rego_check` refuses that construct (`shadowed_aliases`). Columns in error messages are mapped back to the
files as written (`original_col`); lines never move.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from guardrail.adapters.rego_ast import ParsedModule, Rule

INTERNAL_PREFIX = "guardrail-internal/"
ORDER_RULE = "__guardrail_evaluation_order"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = {"as", "contains", "default", "else", "every", "false", "if", "import", "in", "not", "null", "package",
             "some", "true", "with"}  # fmt: skip


@dataclass
class Rewritten:
    """What the engine loads, and how to map its error columns back to the files as written."""

    modules: list[tuple[str, str]]
    # (path, line) -> [(original col, rewritten length, length delta)] for every alias spelled out on that line
    edits: dict[tuple[str, int], list[tuple[int, int, int]]] = field(default_factory=dict)

    def original_col(self, path: str, line: int, col: int) -> int:
        shift = 0
        for orig, length, delta in self.edits.get((path, line), []):
            start = orig + shift
            if col < start:
                break
            if col < start + length:
                return orig
            shift += delta
        return col - shift


def is_internal(path: str) -> bool:
    return path.startswith(INTERNAL_PREFIX)


def rewrite(parsed: list[ParsedModule]) -> Rewritten:
    out = Rewritten(modules=_order_modules(parsed))
    for module in parsed:
        out.modules.append((module.path, _spell_out_aliases(module, out.edits)))
    return out


def shadowed_aliases(module: ParsedModule) -> list[tuple[Rule, str]]:
    """Functions that declare a local named like one of the module's import aliases (see the module docstring)."""
    aliases = {imp.alias for imp in module.imports if imp.alias != imp.target}
    if not aliases:
        return []
    return [
        (rule, name)
        for rule in module.rules()
        if rule.kind == "func"
        for name in sorted(aliases & rule.scope.declared)
        if any(v["value"] == name for v in rule.scope.vars)
    ]


def _spell_out_aliases(module: ParsedModule, edits: dict[tuple[str, int], list[tuple[int, int, int]]]) -> str:
    targets = {imp.alias: imp.target for imp in module.imports if imp.alias != imp.target}
    if not targets:
        return module.source
    found: list[tuple[int, int, int, int, str]] = []  # start, end, line, col, replacement
    for rule in module.rules():
        scope = rule.scope
        for var in scope.vars:
            name = var["value"]
            if name not in targets or name in scope.declared:
                continue
            span = var["span"]
            found.append((span["start"], span["end"], span["line"], span["col"], targets[name]))
    if not found:
        return module.source
    raw = bytearray(module.raw)
    for start, end, _, _, text in sorted(set(found), reverse=True):
        raw[start:end] = text.encode("utf-8")
    for start, end, line, col, text in sorted(set(found)):
        length = len(text.encode("utf-8"))
        edits.setdefault((module.path, line), []).append((col, length, length - (end - start)))
    return raw.decode("utf-8")


def _order_modules(parsed: list[ParsedModule]) -> list[tuple[str, str]]:
    """One ordering module per package whose subtree spans two or more modules."""
    rule_paths: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    for module in parsed:
        for rule in module.rules():
            if rule.kind != "func" and rule.static_path():
                rule_paths[module.package].add((*module.package, *rule.static_path()))
    packages = sorted({m.package for m in parsed if m.package})
    out: list[tuple[str, str]] = []
    for package in packages:
        depth = len(package)
        if sum(1 for m in parsed if m.package[:depth] == package) < 2:
            continue
        # its own rules one by one; each sub-package as a whole document (a sub-package spanning modules has its own
        # ordering module): reading a sub-package's rules one by one drops it from `data.p` when all are undefined
        children = {m.package[: depth + 1] for m in parsed if len(m.package) > depth and m.package[:depth] == package}
        subtree = sorted(rule_paths.get(package, set()) | children)
        if not subtree:
            continue
        reads = "".join(f"\t_ := [1 | _ = {_ref(('data', *path))}]\n" for path in subtree)
        source = f"package {_ref(package)}\n\n{ORDER_RULE} if {{\n{reads}\tfalse\n}}\n"
        out.append((f"{INTERNAL_PREFIX}{'.'.join(package)}.rego", source))
    return out


def _ref(path: tuple[str, ...]) -> str:
    text = path[0]
    for part in path[1:]:
        text += f".{part}" if _IDENT.match(part) and part not in _KEYWORDS else f"[{json.dumps(part)}]"
    return text


__all__ = ["INTERNAL_PREFIX", "Rewritten", "is_internal", "rewrite", "shadowed_aliases"]
