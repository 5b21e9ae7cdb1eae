"""Measure the embedded engine against a folder of OPA's own conformance cases and print the table.

    .venv/bin/python scripts/measure_opa_conformance.py /path/to/opa/v1/test/cases/testdata/v1 [--all]

The folder is yours: a checkout of open-policy-agent/opa, or any subset of its `v1/test/cases/testdata/v1`
files kept under their relative paths. This script reads it and downloads nothing. Every case runs as every
guardrail command evaluates policies (tests/conformance/runner.py) and is counted as one of: passed (OPA's
answer), differs (a different answer, silently), refused (guardrail refuses the policy at load, naming file,
line and reason: exit 2), error (evaluation fails where OPA answers, split by whether OPA's answer is undefined),
skipped (the runner cannot express the case). The files with a case that differs or fails are listed with the
first reason; `--all` lists refusals too. docs/policy-engine.md records a measurement made with it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conformance.runner import Case, Outcome, case_files, load_cases, run_case

ROWS = (
    ("passed (OPA's answer)", "pass"),
    ("differs (wrong answer)", "differs"),
    ("refused at load (exit 2, located)", "refused"),
    ("engine error where OPA is undefined", "error-undefined"),
    ("engine error where OPA has a value", "error-value"),
    ("skipped (runner cannot express)", "skipped"),
)


def kind_of(case: Case, outcome: Outcome) -> str:
    if outcome.kind == "error":
        return "error-undefined" if not case.want_result else "error-value"
    return outcome.kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder of OPA test-case YAML files (searched recursively)")
    parser.add_argument("--all", action="store_true", help="list refused cases too, not only wrong answers")
    args = parser.parse_args(argv)
    files = case_files(args.folder)
    if not files:
        print(f"{args.folder}: no .yaml or .yml files", file=sys.stderr)
        return 2
    cases = load_cases(files, root=args.folder)
    started = time.perf_counter()
    outcomes = [run_case(case) for case in cases]
    kinds = [(case, kind_of(case, outcome)) for case, outcome in zip(cases, outcomes, strict=True)]
    seconds = time.perf_counter() - started
    totals = Counter(kind for _, kind in kinds)
    folders = {f.relative_to(args.folder).parts[0] for f in files}
    print(f"{len(cases)} cases in {len(files)} files, {len(folders)} folders of {args.folder} ({seconds:.1f} s)\n")
    print(f"| {'outcome':<38} | {'cases':>5} | {'share':>6} |")
    print(f"| {'-' * 38} | {'-' * 4}: | {'-' * 5}: |")
    for label, kind in ROWS:
        print(f"| {label:<38} | {totals[kind]:>5} | {100 * totals[kind] / len(cases):>5.1f}% |")
    listed = {"differs", "error-undefined", "error-value"} | ({"refused"} if args.all else set())
    by_file: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (case, kind), outcome in zip(kinds, outcomes, strict=True):
        if kind in listed:
            by_file[case.source].append((kind, f"{case.note}: {outcome.detail}"))
    if by_file:
        print("\nfiles with a case that is not OPA's answer (kind: first case and reason):")
    for source, items in sorted(by_file.items()):
        counts = Counter(kind for kind, _ in items)
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        print(f"- {source} ({summary}): {items[0][1][:300]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
