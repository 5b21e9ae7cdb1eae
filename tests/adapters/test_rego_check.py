"""`policy check`'s static checks: every construct the embedded engine lacks or would answer differently from OPA
is named at its line; valid Rego is never flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.adapters.rego import PolicyBundle, RegoEngine, compile_errors, load_bundle
from guardrail.errors import PolicyError

REPO = Path(__file__).resolve().parents[2]

# one module per construct: (source, the line it is on, what the message must say)
UNSUPPORTED = {
    "interpolation": ('x := $"agent {input.name}"\n', 'string interpolation ($"...") is not supported'),
    "render_template": (
        'x := strings.render_template("{{.a}}", {"a": 1})\n',
        "built-in `strings.render_template` is not supported by the embedded engine",
    ),
    "metadata": ("x := rego.metadata.rule()\n", "built-in `rego.metadata.rule` is not supported"),
    "jwt": ('x := io.jwt.decode("a.b.c")\n', "undefined function `io.jwt.decode`"),
    "http_send": (  # the engine knows the name but answers undefined without a request
        'x := http.send({"method": "get", "url": "http://127.0.0.1:9"})\n',
        "built-in `http.send` is not supported by the embedded engine",
    ),
    "walk_value": (  # the engine gives no result for walk's value form; walk(x, [path, value]) works
        'x := [v | [_, v] := walk({"a": 1})]\n',
        "`walk(...)` with one argument",
    ),
    "match_schema": (  # the verdict agrees; the list of errors does not (null, a string)
        'x := json.match_schema({"a": 1}, {"type": "object"})\n',
        "built-in `json.match_schema` is not supported by the embedded engine",
    ),
    "x509": ('x := crypto.x509.parse_certificates("")\n', "undefined function `crypto.x509.parse_certificates`"),
    "graphql": ('x := graphql.parse("", "")\n', "undefined function `graphql.parse`"),
    "with_data_function": (
        "f(_) := 1\nx := y if { y := f(1) with data.m.with_data_function.f as 2 }\n",
        "replaces a function by its data path, which the embedded engine ignores",
    ),
    "with_builtin_builtin": (
        "x := y if { y := count([1]) with count as sum }\n",
        "replacing the built-in `count` by the built-in `sum` is not supported",
    ),
    "shadowed_alias": (
        "import data.lib.c\nx := c.v\nf(c) := c + 1\n",
        "function `f` declares a local `c` that shadows the import `c`",
    ),
    "undefined_function": ("x := helper(1)\n", "undefined function `helper`: no loaded policy defines it"),
    "unsafe_var": ("x := y\n", "use of undefined variable `y` is unsafe: not bound in the rule, imported, or a rule"),
    "arity": ("f(a) := a\nx := f(1, 2, 3)\n", "function `f` takes 1 argument(s), called with 3"),
    "builtin_arity": ('x := concat(",")\n', "built-in `concat` takes 2 argument(s), called with 1"),
    "rule_called": ("r := 1\nx := r(1)\n", "is a rule, not a function"),
}

VALID = """package valid

import data.lib.c
import input.call as call

default allow := false

default g(_) := 0

g(x) := x + 1 if x > 0

f([a, b]) := a + b

a.b[k] := v if { some k, v in {"x": 1} }

allow if {
  some i
  c.v[i] == 1
  every z in [1, 2] { z > 0 }
  w := [u | u := c.list[_]; not u == 3]
  {"k": o} = {"k": 2}
  count(w, n)
  n >= 0
  walk({"a": 1}, [path, value])
  path == ["a"]
  value == 1
  s := {t: 1 | some t in c.list}
  f([1, o], out)
  out == 3
  call.name == "x"
  g(1) == 2
  strings.split_n("a.b", ".", 1) == ["a"]
  array.flatten([[1]]) == [1]
} else := true if { c.other }

h := y if { y := count([1, 2]) with count as 7 }

mock(_) := 9

m := y if { y := count([1]) with count as mock }
"""


def _bundle(modules: dict[str, str]) -> PolicyBundle:
    return PolicyBundle(modules=list(modules.items()))


def test_each_unsupported_construct_is_named_at_its_line() -> None:
    modules = {"lib/c.rego": "package lib.c\n\nv := [1]\nlist := [1, 2]\nother := true\n"}
    for name, (body, _) in UNSUPPORTED.items():
        modules[f"m/{name}.rego"] = f"package m.{name}\n\n{body}"
    messages = "\n".join(str(e) for e in compile_errors(_bundle(modules)))
    for name, (body, expected) in UNSUPPORTED.items():
        line = 3 + body.count("\n") - 1  # the construct is on the module's last line
        assert f"m/{name}.rego:{line}:" in messages and expected in messages, (name, messages)
    # every other command refuses the same bundle at load (exit 2), naming the same problems
    with pytest.raises(PolicyError) as refused:
        RegoEngine(_bundle({k: v for k, v in modules.items() if "interpolation" not in k}))
    assert "undefined function `helper`" in refused.value.message and "shadows the import" in refused.value.message


def test_valid_policies_are_not_flagged() -> None:
    lib = "package lib.c\n\nv := [1]\nlist := [1, 2]\nother := true\n"
    assert compile_errors(_bundle({"lib/c.rego": lib, "valid.rego": VALID})) == []
    engine = RegoEngine(_bundle({"lib/c.rego": lib, "valid.rego": VALID}))
    assert engine.query("data.valid.allow", {"call": {"name": "x"}}) is True
    assert engine.query("data.valid.h") == 7 and engine.query("data.valid.m") == 9


def test_bundled_policies_are_clean() -> None:
    assert compile_errors(load_bundle(REPO / "policies", include_tests=True, display_root=REPO)) == []


def test_string_interpolation_is_refused_as_bad_input() -> None:
    """A refusal at load is exit 2 like the others (it was an engine error, exit 3: found by OPA's own cases)."""
    with pytest.raises(PolicyError, match=r"m\.rego:3:6: string interpolation"):
        RegoEngine(_bundle({"m.rego": 'package m\n\nx := $"agent {input.name}"\n'}))
