"""What `policy check` adds to compiling: every problem regorus would only raise when a rule is evaluated.

regorus compiles lazily: a rule calling a function that does not exist, reading a variable that is neither local,
imported nor a rule, or calling a function with the wrong number of arguments compiles, and fails only when some
query reaches it (so `roster check` exited 3 on every run while `policy check` said ok). These checks walk every
rule of every module in regorus's parse tree and report each such problem as `path:line:col`, as OPA's compiler
would. They also refuse the constructs the engine would silently answer differently from OPA (see
docs/policy-engine.md): `with data.pkg.f as ...` on a function (ignored by regorus), replacing a built-in by another
built-in, an import alias shadowed inside a function (`rego_rewrite`), and the built-ins of `DIFFERENT_BUILTINS`.

Which built-ins exist, and their arities, is asked of the engine itself (`builtin_arities`), so an engine upgrade
changes the answer without an edit here. Checks lean towards silence: a construct they cannot judge is left to
the engine, never reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from guardrail.adapters.rego_ast import Node, ParsedModule, Rule, Span, new_engine, ref_path, span_of
from guardrail.adapters.rego_builtins import EXTENSIONS
from guardrail.adapters.rego_rewrite import shadowed_aliases
from guardrail.errors import PolicyError

# OPA built-ins the embedded engine lacks, with what to do instead (the conformance suite lists the rest)
MISSING_BUILTINS = {
    "rego.metadata.rule": "the embedded engine has no rule annotations at run time; read METADATA with `policy docs`",
    "rego.metadata.chain": "the embedded engine has no rule annotations at run time; read METADATA with `policy docs`",
    "strings.render_template": "Go templates are not available in the embedded engine; build the string with sprintf",
    "rego.parse_module": "the embedded engine cannot parse Rego from a policy",
}
# OPA built-ins the engine has under the same name but answers differently, silently (found by OPA's own cases)
DIFFERENT_BUILTINS = {
    "http.send": "the embedded engine sends no request and answers undefined (guardrail evaluates offline)",
    "json.match_schema": "the embedded engine agrees on the verdict but not on the errors (null instead of [] when "
    "the document matches, one message string instead of OPA's list of error objects), so a rule reading them "
    "would decide differently",
}
_ALTERNATIVE = "evaluate these policies on an OPA server (--opa-url) or as an OPA bundle"
_ARITY = re.compile(r"expects (\d+) argument")
_BUILTIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ALWAYS_BOUND = {"_", "input", "data"}
_ARITIES: dict[str, int | None] = {}


def builtin_arities(names: Iterable[str]) -> dict[str, int | None]:
    """Arity of each built-in as the engine in this process knows it: None where it has no such built-in, -1 where
    it has one whose arity it does not say.

    One probe module calls each name with no arguments: regorus answers "`f` expects N arguments", "could not find
    function f", or a value (a zero-argument built-in). Answers are kept for the life of the process.
    """
    names = list(names)
    for name in names:
        if name in EXTENSIONS:
            _ARITIES[name] = EXTENSIONS[name][0]
        elif not _BUILTIN_NAME.match(name) or name.split(".")[0] in ("data", "input"):
            _ARITIES[name] = None  # not a name a built-in can have
    wanted = sorted({n for n in names if n not in _ARITIES})
    if wanted:
        engine = new_engine()
        engine.add_policy("probe.rego", "package probe\n\n" + "".join(f"r{i} := {n}()\n" for i, n in enumerate(wanted)))
        for i, name in enumerate(wanted):
            try:
                engine.eval_query_as_json(f"data.probe.r{i}")
                _ARITIES[name] = 0
            except Exception as exc:
                found = _ARITY.search(str(exc))
                missing = "could not find function" in str(exc)
                _ARITIES[name] = int(found.group(1)) if found else None if missing else -1
    return {n: _ARITIES[n] for n in names}


def check(parsed: list[ParsedModule]) -> list[PolicyError]:
    functions: dict[tuple[str, ...], set[int]] = {}
    rules: dict[tuple[str, ...], set[str]] = {}
    for module in parsed:
        for rule in module.rules():
            path = (*module.package, *rule.static_path())
            if _is_function(rule):
                functions.setdefault(path, set()).add(rule.arity())
            elif rule.static_path():
                rules.setdefault(path, set())
            if rule.static_path():
                rules.setdefault(module.package, set()).add(rule.static_path()[0])
    scopes = [(module, rule, rule.scope) for module in parsed for rule in module.rules()]
    names = {".".join(path) for _, _, scope in scopes for path, _, _ in scope.calls}
    names |= {".".join(p) for _, _, scope in scopes for mod in scope.withs for node in mod if (p := ref_path(node))}
    arities = builtin_arities(sorted(names))
    errors: list[PolicyError] = []
    for module, _rule, scope in scopes:
        known = rules.get(module.package, set()) | {i.alias for i in module.imports} | _ALWAYS_BOUND
        checker = _Checker(module, functions, set(rules), arities, errors)
        bound = set(scope.bound)
        for called, params, span in scope.calls:
            output = checker.call(called, params, span)
            if output is not None:
                bound.update(v["value"] for v in _vars(output))
        for target, value in scope.withs:
            checker.with_(target, value, bound | known)
        for var in scope.reads:
            name = var["value"]
            if name not in bound and name not in known:
                errors.append(_error(module, Span.of(var.get("span")), _unsafe(name, module)))
    for module in parsed:
        for rule, alias in shadowed_aliases(module):
            errors.append(
                _error(
                    module,
                    rule.span,
                    f"function `{rule.name}` declares a local `{alias}` that shadows the import `{alias}`: the "
                    "embedded engine cannot be relied on here (see docs/policy-engine.md); rename the local",
                )
            )
    return errors


class _Checker:
    def __init__(
        self,
        module: ParsedModule,
        functions: dict[tuple[str, ...], set[int]],
        rules: set[tuple[str, ...]],
        arities: dict[str, int | None],
        errors: list[PolicyError],
    ) -> None:
        self.module, self.functions, self.rules, self.arities, self.errors = module, functions, rules, arities, errors
        self.aliases = {i.alias: i.target.split(".") for i in module.imports}

    def resolve(self, path: list[str]) -> tuple[str, ...] | None:
        """The data path a function reference names, or None for a built-in."""
        if path[0] in self.aliases:
            path = [*self.aliases[path[0]], *path[1:]]
        if path[0] == "data":
            return tuple(path[1:])
        local = (*self.module.package, *path)
        return local if local in self.functions or local in self.rules else None

    def call(self, path: list[str], params: list[Node], span: Span) -> Node | None:
        """Check one call; return its output argument (`count(xs, n)`), which binds variables, if it has one."""
        target = self.resolve(path)
        shown = ".".join(path)
        if target is not None:
            arities = self.functions.get(target)
            if arities is None:
                what = "a rule, not a function" if target in self.rules else "not defined by any loaded policy"
                self.report(span, f"undefined function `{shown}`: data.{'.'.join(target)} is {what}")
                return None
            if len(params) in arities:
                return None
            if len(params) - 1 in arities:
                return params[-1]
            expected = " or ".join(str(a) for a in sorted(arities))
            self.report(span, f"function `{shown}` takes {expected} argument(s), called with {len(params)}")
            return None
        arity = self.arities.get(shown)
        if arity is None or shown in DIFFERENT_BUILTINS:
            reason = MISSING_BUILTINS.get(shown) or DIFFERENT_BUILTINS.get(shown)
            if reason:
                self.report(span, f"built-in `{shown}` is not supported by the embedded engine: {reason}")
            else:
                self.report(span, f"undefined function `{shown}`: no loaded policy defines it and it is not a "
                            f"built-in of the embedded engine (if OPA has it, {_ALTERNATIVE})")  # fmt: skip
            return None
        if arity < 0:  # arity unknown: its last argument may be an output
            return params[-1] if params else None
        if shown == "walk" and len(params) == arity:
            self.report(span, "`walk(...)` with one argument (its value form) gives no result in the embedded engine, "
                        "where OPA iterates every [path, value] pair; write `walk(x, [path, value])`")  # fmt: skip
            return None
        if len(params) == arity + 1:
            return params[-1]
        if len(params) != arity:
            self.report(span, f"built-in `{shown}` takes {arity} argument(s), called with {len(params)}")
        return None

    def with_(self, target: Node, value: Node, bound: set[str]) -> None:
        path = ref_path(target)
        if not path or path[0] == "input":
            return
        where = span_of(target)
        if path[0] == "data" and tuple(path[1:]) in self.functions:
            self.report(
                where,
                f"`with {'.'.join(path)} as ...` replaces a function by its data path, which the embedded engine "
                f"ignores; name the function as the policy calls it (`with {path[-1]} as ...`), or {_ALTERNATIVE}",
            )
            return
        replacement = ref_path(value)
        if path[0] == "data" or self.arities.get(".".join(path)) is None or not replacement:
            return
        name = ".".join(replacement)
        if replacement[0] not in bound and self.arities.get(name) is not None:
            self.report(
                span_of(value),
                f"replacing the built-in `{'.'.join(path)}` by the built-in `{name}` is not supported by the "
                f"embedded engine; wrap it in a function of your own (`mock(x) := {name}(x)`)",
            )

    def report(self, span: Span, message: str) -> None:
        self.errors.append(_error(self.module, span, message))


def _is_function(rule: Rule) -> bool:
    return rule.kind == "func" or (rule.kind == "default" and bool(rule.head.get("args")))


def _vars(node: Any) -> list[Node]:
    """Every variable node under node (an output argument's pattern)."""
    if isinstance(node, dict):
        if isinstance(node.get("Var"), dict):
            return [node["Var"]]
        return [v for value in node.values() for v in _vars(value)]
    if isinstance(node, list):
        return [v for value in node for v in _vars(value)]
    return []


def _unsafe(name: str, module: ParsedModule) -> str:
    package = ".".join(module.package) or "?"
    where = f"not bound in the rule, imported, or a rule of package {package}"
    return f"use of undefined variable `{name}` is unsafe: {where}"


def _error(module: ParsedModule, span: Span, message: str) -> PolicyError:
    return PolicyError(f"{module.path}:{span.line}:{span.col}: {message}")


__all__ = ["DIFFERENT_BUILTINS", "MISSING_BUILTINS", "builtin_arities", "check"]
