"""The whole-package evaluation defect of regorus, reproduced in every module order, and guardrail's workaround.

Each case is a set of modules whose answer in OPA does not depend on load order. On the bare engine some orders
give another answer (asserted first, so an engine upgrade that fixes it shows here); through `RegoEngine` every
order gives OPA's.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from guardrail.adapters.rego import UNDEFINED, PolicyBundle, RegoEngine, prepare
from guardrail.adapters.rego_ast import new_engine, parse
from guardrail.adapters.rego_rewrite import is_internal, rewrite, shadowed_aliases
from guardrail.errors import EngineError, PolicyError

LIB = 'package lib.x\n\nname := n if {\n\tn := input.call.name\n\tis_string(n)\n} else := ""\n'
A = 'package p\n\nimport data.lib.x\n\ndeny contains "from-a" if x.name == "A"\n'
B = 'package p\n\nimport data.lib.x\n\ndeny contains "from-b" if x.name == "B"\n'
T = 'package t\n\nimport data.p\n\nr := d if {\n\td := p.deny with input as {"call": {"name": "B"}}\n}\n'
B_HELPER = 'package p\n\ndeny contains "from-b" if helper\n\nhelper if input.call.name == "B"\n'
Q = 'package p.q\n\nimport data.lib.x\n\ndeny contains "from-q" if x.name == "B"\n'
B_FUNC = 'package p\n\nimport data.lib.x\n\nf(y) := concat("-", [y, x.name])\n'
T_FUNC = 'package t\n\nr := [data.p, data.p.f("z")]\n'
INPUT_B = {"call": {"name": "B"}}

CASES: dict[str, tuple[dict[str, str], str, Any, Any]] = {
    # name: (modules, query, input, OPA's answer)
    "the issue's repro: with over an imported package": (
        {"lib/x.rego": LIB, "p/a.rego": A, "p/b.rego": B, "t/t.rego": T},
        "data.t.r",
        None,
        ["from-b"],
    ),
    "whole package queried with input set": (
        {"lib/x.rego": LIB, "p/a.rego": A, "p/b.rego": B},
        "data.p",
        INPUT_B,
        {"deny": ["from-b"]},
    ),
    "rule read before its definition in a later module": (
        {"p/a.rego": A, "p/b.rego": B_HELPER, "lib/x.rego": LIB},
        "data.p",
        INPUT_B,
        {"deny": ["from-b"], "helper": True},
    ),
    "sub-package of a package being evaluated": (
        {"lib/x.rego": LIB, "p/a.rego": A, "p/q/q.rego": Q},
        "data.p",
        INPUT_B,
        {"deny": [], "q": {"deny": ["from-q"]}},
    ),
    "function reading an alias after its package was evaluated": (
        {"lib/x.rego": LIB, "p/a.rego": A, "p/b.rego": B_FUNC, "t/t.rego": T_FUNC},
        "data.t.r",
        INPUT_B,
        [{"deny": []}, "z-B"],
    ),
}


def _bare(modules: list[tuple[str, str]], query: str, input_value: Any) -> Any:
    engine = new_engine()
    for path, source in modules:
        engine.add_policy(path, source)
    if input_value is not None:
        engine.set_input_json(json.dumps(input_value))
    results = json.loads(engine.eval_query_as_json(query)).get("result") or []
    return results[0]["expressions"][0]["value"] if results else UNDEFINED


def _normal(value: Any) -> Any:
    """Sets come back as lists in engine order: compare them sorted."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_normal(v) for v in value), key=json.dumps)
    return value


@pytest.mark.parametrize("name", list(CASES))
def test_every_module_order_gives_opas_answer(name: str) -> None:
    modules, query, input_value, expected = CASES[name]
    orders = list(itertools.permutations(modules.items()))
    bare = [_normal(_bare(list(order), query, input_value)) for order in orders]
    assert any(answer != _normal(expected) for answer in bare), "regorus no longer has the defect: drop the rewrite"
    for order in orders:
        engine = RegoEngine(PolicyBundle(modules=list(order)))
        assert _normal(engine.query(query, input_value)) == _normal(expected), [path for path, _ in order]


def test_aliases_are_spelled_out_and_columns_map_back() -> None:
    lib = ("lib/x.rego", "package lib.x\n\nzero := 0\n")
    source = "package p\n\nimport data.lib.x\n\nr := [x.zero, 1 / x.zero] if x.zero == 0\n"
    rewritten = dict(rewrite(parse([("p.rego", source), lib])).modules)["p.rego"]
    assert "r := [data.lib.x.zero, 1 / data.lib.x.zero] if data.lib.x.zero == 0" in rewritten
    with pytest.raises(EngineError) as raised:  # the division's column as the file is written, not as rewritten
        RegoEngine(PolicyBundle(modules=[("p.rego", source), lib])).query("data.p.r")
    assert raised.value.message.startswith("p.rego:5:17: divide by zero"), raised.value.message


def test_locals_and_rule_names_are_not_rewritten() -> None:
    source = (
        "package p\n\nimport input.call as c\nimport data.lib.x\n\n"
        "a := c.name\nb if { some x in [1]; x == 1 }\nf(c) := c + 1\n"
    )
    fixed = dict(rewrite(parse([("p.rego", source)])).modules)["p.rego"]
    assert "a := input.call.name" in fixed
    assert "b if { some x in [1]; x == 1 }" in fixed and "f(c) := c + 1" in fixed
    assert [(rule.name, alias) for rule, alias in shadowed_aliases(parse([("p.rego", source)])[0])] == [("f", "c")]


def test_ordering_modules_only_where_a_package_spans_modules() -> None:
    fixed = rewrite(parse([("lib/x.rego", LIB), ("p/a.rego", A), ("p/b.rego", B)]))
    internal = [path for path, _ in fixed.modules if is_internal(path)]
    assert internal == ["guardrail-internal/p.rego"]
    engine = RegoEngine(PolicyBundle(modules=[("lib/x.rego", LIB), ("p/a.rego", A), ("p/b.rego", B)]))
    assert engine.query("data.p", INPUT_B) == {"deny": ["from-b"]}  # the ordering rule is never in the document
    assert all(not is_internal(m["source"]["file"]) for m in engine.ast())


def test_a_prepared_bundle_loads_as_it_is_and_answers_the_same() -> None:
    """The hook checks and rewrites its policies once, when it caches them, then loads them on every call."""
    modules = [("t/t.rego", T), ("p/b.rego", B), ("p/a.rego", A), ("lib/x.rego", LIB)]
    prepared = prepare(PolicyBundle(modules=modules))
    assert prepared.prepared and any(is_internal(path) for path, _ in prepared.modules)
    assert RegoEngine(prepared).query("data.t.r") == ["from-b"]
    with pytest.raises(PolicyError, match="undefined function `nope`"):
        prepare(PolicyBundle(modules=[("bad.rego", "package bad\n\nx := nope(1)\n")]))
