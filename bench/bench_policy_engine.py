"""What the embedded engine's workarounds cost: loading policies with and without the source rewrites and the
static checks (adapters/rego_rewrite.py, rego_check.py), running the bundled policy tests, and the conformance
suite.

No target: the figures are printed so a change shows (docs/policy-engine.md quotes them).
Run: .venv/bin/python bench/bench_policy_engine.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, median_of
from guardrail.adapters import rego
from guardrail.adapters.rego import PolicyBundle, RegoEngine, load_bundle, to_json
from guardrail.adapters.rego_ast import new_engine
from guardrail.adapters.rego_meta import test_rules
from guardrail.adapters.rego_rewrite import Rewritten


def _unfixed(parsed: list[object]) -> Rewritten:
    return Rewritten(modules=[(m.path, m.source) for m in parsed])  # type: ignore[attr-defined]


def _bare_load(bundle: PolicyBundle) -> None:
    """What loading cost before the workarounds: add the files as written, force compilation."""
    engine = new_engine()
    for path, source in bundle.modules:
        engine.add_policy(path, source)
    if bundle.data:
        engine.add_data_json(to_json(bundle.data))
    engine.eval_query_as_json("true")


def _tests(engine: RegoEngine) -> None:
    for head in test_rules(engine.ast()):
        engine.query(f"{head.package}.{head.name}")


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f} (figures above ~1.5 are provisional)")
    for label, include_tests in (("policies", False), ("policies + tests", True)):
        bundle = load_bundle(REPO / "policies", include_tests=include_tests, display_root=REPO)
        with_fixes, _ = median_of(15, lambda b=bundle: RegoEngine(b))
        bare, _ = median_of(15, lambda b=bundle: _bare_load(b))
        print(
            f"load bundled {label} ({len(bundle.modules)} modules): {with_fixes * 1000:.0f} ms with rewrites "
            f"and checks, {bare * 1000:.0f} ms without (+{(with_fixes - bare) * 1000:.0f} ms)"
        )
    bundle = load_bundle(REPO / "policies", include_tests=True, display_root=REPO)
    engine = RegoEngine(bundle)
    fixed, _ = median_of(15, lambda: _tests(engine))
    with mock.patch.object(rego, "rewrite", _unfixed):
        bare_engine = RegoEngine(bundle)
    bare, _ = median_of(15, lambda: _tests(bare_engine))
    count = len(test_rules(engine.ast()))
    print(f"run the {count} bundled policy tests: {fixed * 1000:.0f} ms rewritten, {bare * 1000:.0f} ms as written")

    sys.path.insert(0, str(REPO))
    from tests.conformance.runner import load_cases, run_case

    cases = load_cases(sorted((REPO / "tests/conformance/cases").glob("*.yaml")))
    elapsed, _ = median_of(5, lambda: [run_case(c) for c in cases])
    print(f"conformance suite, {len(cases)} cases in one process: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
