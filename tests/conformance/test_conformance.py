"""The embedded engine against OPA's answers, in OPA's test-case format, all cases in this one process.

`cases/*.yaml` are guardrail's own cases (written for this project in OPA's format; the answers are OPA's
documented semantics). Every case passes except those listed in `known_differences.yaml`, each with its reason,
and each of those must still fail: an engine upgrade that changes any answer fails this test and names the case.

OPA's own cases (open-policy-agent/opa, `v1/test/cases/testdata/v1`, Apache-2.0) run too when a folder of them is
named by GUARDRAIL_OPA_CASES; their known differences are listed in the same file (docs/policy-engine.md).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from guardrail.adapters.rego_builtins import EXTENSIONS
from guardrail.adapters.rego_check import builtin_arities

from .conftest import SUMMARY
from .runner import load_cases, run_case

HERE = Path(__file__).parent
KNOWN = yaml.safe_load((HERE / "known_differences.yaml").read_text(encoding="utf-8")) or {}


def _check(name: str, paths: list[Path]) -> None:
    cases = load_cases(paths)
    started = time.perf_counter()
    outcomes = [run_case(case) for case in cases]
    seconds = time.perf_counter() - started
    notes = [o.note for o in outcomes]
    assert len(notes) == len(set(notes)), "case notes must be unique"
    failed = {o.note: o.detail for o in outcomes if not o.passed}
    passed = len(outcomes) - len(failed)
    SUMMARY.append(
        f"conformance ({name}): {passed} of {len(outcomes)} cases give OPA's answer, "
        f"{len(failed)} known differences ({seconds:.1f} s)"
    )
    unexpected = {note: detail for note, detail in failed.items() if note not in KNOWN}
    assert not unexpected, "cases that no longer give OPA's answer:\n" + "\n".join(
        f"  {note}: {detail}" for note, detail in unexpected.items()
    )
    listed = {note for note in KNOWN if note in notes}
    now_pass = sorted(listed - set(failed))
    assert not now_pass, f"known differences that now give OPA's answer (remove them from the list): {now_pass}"


def test_guardrail_cases() -> None:
    _check("guardrail's cases", sorted((HERE / "cases").glob("*.yaml")))


@pytest.mark.skipif(not os.environ.get("GUARDRAIL_OPA_CASES"), reason="GUARDRAIL_OPA_CASES names no folder")
def test_opa_cases() -> None:
    root = Path(os.environ["GUARDRAIL_OPA_CASES"])
    _check(f"OPA's cases in {root}", sorted(root.rglob("*.yaml")))


def test_extensions_are_not_native_built_ins() -> None:
    """An extension replaces a native built-in of the same name: an upgraded engine's own must win."""
    from guardrail.adapters import rego_check

    saved = dict(rego_check._ARITIES)
    try:
        rego_check._ARITIES.clear()
        # probe the bare engine: names it knows natively would answer with their own arity message
        import regorus

        engine = regorus.Engine()
        native = [n for n in EXTENSIONS if _native(engine, n)]
    finally:
        rego_check._ARITIES.clear()
        rego_check._ARITIES.update(saved)
    assert native == [], f"the engine now has these natively: drop them from rego_builtins.EXTENSIONS: {native}"
    assert builtin_arities(EXTENSIONS) == {n: arity for n, (arity, _) in EXTENSIONS.items()}


def _native(engine: object, name: str) -> bool:
    module = f"package probe_{abs(hash(name))}\n\nr := {name}()\n"
    engine.add_policy(f"{name}.rego", module)  # type: ignore[attr-defined]
    try:
        engine.eval_query_as_json(f"data.probe_{abs(hash(name))}.r")  # type: ignore[attr-defined]
    except Exception as exc:
        return "could not find function" not in str(exc)
    return True
