"""The embedded engine against OPA's answers, in OPA's test-case format, all cases in this one process.

`cases/*.yaml` are guardrail's own cases (written for this project in OPA's format; the answers are OPA's
documented semantics). Every case passes except those listed in `known_differences.yaml`, each with its reason,
and each of those must still fail: an engine upgrade that changes any answer fails this test and names the case.

OPA's own cases (open-policy-agent/opa, `v1/test/cases/testdata/v1`, Apache-2.0) run too when a folder of them is
named by GUARDRAIL_OPA_CASES; their silent differences are listed in `known_opa_differences.yaml`, and the last
measurement in docs/policy-engine.md (scripts/measure_opa_conformance.py prints it).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from guardrail.adapters.rego_builtins import EXTENSIONS, OVERRIDES
from guardrail.adapters.rego_check import builtin_arities

from .conftest import SUMMARY
from .runner import KINDS, Case, case_files, load_cases, run_case

HERE = Path(__file__).parent
KNOWN = yaml.safe_load((HERE / "known_differences.yaml").read_text(encoding="utf-8")) or {}
KNOWN_OPA = yaml.safe_load((HERE / "known_opa_differences.yaml").read_text(encoding="utf-8")) or {}


def _check(name: str, cases: list[Case], keys: list[str], known: dict[str, str], kinds: set[str]) -> None:
    """No case has an outcome of `kinds` unless `known` lists it, and each listed one still has."""
    started = time.perf_counter()
    outcomes = [run_case(case) for case in cases]
    seconds = time.perf_counter() - started
    assert len(keys) == len(set(keys)), "case notes must be unique"
    failed = {key: o.detail for key, o in zip(keys, outcomes, strict=True) if o.kind in kinds}
    counts = Counter(o.kind for o in outcomes)
    SUMMARY.append(
        f"conformance ({name}): {counts['pass']} of {len(outcomes)} cases give OPA's answer, "
        + ", ".join(f"{counts[k]} {k}" for k in KINDS[1:] if counts[k])
        + f" ({seconds:.1f} s)"
    )
    unexpected = {key: detail for key, detail in failed.items() if key not in known}
    assert not unexpected, "cases that no longer give OPA's answer:\n" + "\n".join(
        f"  {key}: {detail}" for key, detail in unexpected.items()
    )
    now_pass = sorted(set(known) & set(keys) - set(failed))
    assert not now_pass, f"known differences that now give OPA's answer (remove them from the list): {now_pass}"


def test_guardrail_cases() -> None:
    cases = load_cases(sorted((HERE / "cases").glob("*.yaml")))
    _check("guardrail's cases", cases, [case.note for case in cases], KNOWN, set(KINDS) - {"pass"})


@pytest.mark.skipif(not os.environ.get("GUARDRAIL_OPA_CASES"), reason="GUARDRAIL_OPA_CASES names no folder")
def test_opa_cases() -> None:
    """OPA's own cases, from any checkout or subset of them: a refusal (exit 2) or an evaluation error (exit 3) is
    loud, so only a different answer fails, unless known_opa_differences.yaml lists it with its reason.
    scripts/measure_opa_conformance.py prints every kind of outcome for the same folder."""
    root = Path(os.environ["GUARDRAIL_OPA_CASES"])
    cases = load_cases(case_files(root), root=root)
    _check(f"OPA's cases in {root}", cases, [case.key for case in cases], KNOWN_OPA, {"differs"})


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


def test_overrides_still_answer_differently_natively() -> None:
    """An override replaces a native built-in that answers differently from OPA: once an upgrade fixes it, drop it."""
    import regorus

    probes = {
        "strings.count": ('strings.count("aaaa", "aa")', 2),  # OPA counts matches that do not overlap
        "sprintf": ('sprintf("%d", [-1])', "-1"),  # the native one printed --1
    }
    assert set(probes) == set(OVERRIDES)
    for name, (expression, opa) in probes.items():
        engine = regorus.Engine()
        engine.add_policy("probe.rego", f"package probe\n\nv := {expression}\n")
        native = json.loads(engine.eval_query_as_json("data.probe.v"))["result"][0]["expressions"][0]["value"]
        assert native != opa, f"the engine's own {name} now gives OPA's answer: drop it from rego_builtins.OVERRIDES"


def _native(engine: object, name: str) -> bool:
    module = f"package probe_{abs(hash(name))}\n\nr := {name}()\n"
    engine.add_policy(f"{name}.rego", module)  # type: ignore[attr-defined]
    try:
        engine.eval_query_as_json(f"data.probe_{abs(hash(name))}.r")  # type: ignore[attr-defined]
    except Exception as exc:
        return "could not find function" not in str(exc)
    return True
