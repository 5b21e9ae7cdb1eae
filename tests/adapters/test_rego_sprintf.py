"""sprintf as OPA formats (Go's fmt over OPA's argument types); the conformance cases check it through the engine."""

from __future__ import annotations

import pytest

from guardrail.adapters.rego import PolicyBundle, RegoEngine
from guardrail.adapters.rego_sprintf import rego_text, sprintf
from guardrail.errors import EngineError


@pytest.mark.parametrize(
    ("fmt", "values", "want"),
    [
        ("%d", [-1], "-1"),
        ("%v", [-0.00001], "-1e-05"),
        ("%v", [100000.5], "100000.5"),
        ("%.0d|", [0], "|"),
        ("%#o %O", [8, 8], "010 0o10"),
        ("%c%q%U", [65, 66, 67], "A'B'U+0043"),
        ("%q", ["tab\there\x01"], '"tab\\there\\x01"'),
        ("%E %G", [12345.678, 0.000012], "1.234568E+04 1.2E-05"),
        ("abc%", [], "abc%!(NOVERB)"),
        ("%!", [1], "%!!(int=1)"),
    ],
)
def test_go_formatting(fmt: str, values: list[object], want: str) -> None:
    assert sprintf(fmt, values) == want


def test_other_values_are_their_rego_text() -> None:
    assert rego_text({"b": {3, 1}, "a": [None, True, 1.5, "x"]}) == '{"a": [null, true, 1.5, "x"], "b": {1, 3}}'
    assert rego_text(set()) == "set()"


@pytest.mark.parametrize("fmt", ["%[1]d", "%*d", "%x"])
def test_what_is_not_supported_is_an_error_not_a_guess(fmt: str) -> None:
    value = "1.5" if fmt == "%x" else "1"
    source = f'package s\nimport rego.v1\nm := sprintf("{fmt}", [{value}])\n'
    engine = RegoEngine(PolicyBundle(modules=[("s.rego", source)]))
    with pytest.raises(EngineError, match="not supported by the embedded engine"):
        engine.query("data.s.m")


def test_operands_are_type_checked() -> None:
    with pytest.raises(TypeError, match="operand 2 must be array but got string"):
        sprintf("%s", "x")
