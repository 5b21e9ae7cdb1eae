"""Run Rego test cases written in OPA's own test format against guardrail's embedded engine.

The format is the one of OPA's conformance cases (`v1/test/cases/testdata` in open-policy-agent/opa): each file
holds `cases:`, each case `note`, `modules`, `query`, optional `data`, `input` (or `input_term`), and either
`want_result` (a list of binding sets, or of values) or `want_error` / `want_error_code` (with `strict_error`).
Cases run through `RegoEngine`, exactly as guardrail's commands evaluate policies: with its source rewrites,
its built-in extensions and its static checks (a case it refuses counts as failed, with the refusal as reason).
All cases run in this one process, one small engine each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from guardrail.adapters.rego import PolicyBundle, RegoEngine
from guardrail.errors import GuardrailError


@dataclass
class Case:
    note: str
    query: str
    source: str
    modules: list[str] = field(default_factory=list)
    data: dict[str, Any] | None = None
    input: Any = None
    input_term: str | None = None
    want_result: list[Any] | None = None
    wants_error: bool = False
    sort_bindings: bool = False


@dataclass(frozen=True)
class Outcome:
    note: str
    passed: bool
    detail: str = ""


def load_cases(paths: list[Path]) -> list[Case]:
    cases: list[Case] = []
    for path in paths:
        for raw in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cases", []):
            if raw.get("skip"):
                continue
            cases.append(
                Case(
                    note=str(raw["note"]),
                    query=str(raw["query"]),
                    source=path.name,
                    modules=[str(m) for m in raw.get("modules") or []],
                    data=raw.get("data"),
                    input=raw.get("input"),
                    input_term=raw.get("input_term"),
                    want_result=raw.get("want_result"),
                    wants_error=bool(raw.get("want_error") or raw.get("want_error_code") or raw.get("strict_error")),
                    sort_bindings=bool(raw.get("sort_bindings")),
                )
            )
    return cases


def run_case(case: Case) -> Outcome:
    modules = [(f"{case.note}/module{i}.rego", text) for i, text in enumerate(case.modules)]
    try:
        engine = RegoEngine(PolicyBundle(modules=modules, data=case.data or {}))
        given = case.input
        if case.input_term is not None:
            given = engine.query(case.input_term)
        results = engine.results(case.query, given if given is not None else None)
    except GuardrailError as exc:
        if case.wants_error:
            return Outcome(case.note, True)
        return Outcome(case.note, False, f"error: {exc.message.splitlines()[0]}")
    if case.wants_error:
        return Outcome(case.note, False, f"OPA raises an error; the engine answered {_shown(results)}")
    got = [_value(r, case.sort_bindings) for r in results]
    want = json.loads(json.dumps(case.want_result or []))
    if _canonical(got) == _canonical(want):
        return Outcome(case.note, True)
    return Outcome(case.note, False, f"want {json.dumps(want)[:200]}, got {json.dumps(got)[:200]}")


def _value(result: dict[str, Any], sort_bindings: bool) -> Any:
    bindings = result.get("bindings") or {}
    if bindings:
        if sort_bindings:
            return {k: sorted(v, key=json.dumps) if isinstance(v, list) else v for k, v in bindings.items()}
        return bindings
    expressions = result.get("expressions") or []
    return expressions[-1]["value"] if expressions else None


def _canonical(value: Any) -> str:
    """Result sets are unordered in OPA's runner: compare them as sorted lists of canonical JSON (2.0 is 2)."""
    return json.dumps(sorted(json.dumps(_integral(v), sort_keys=True) for v in value))


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def _shown(results: list[dict[str, Any]]) -> str:
    return json.dumps([_value(r, False) for r in results])[:200]


__all__ = ["Case", "Outcome", "load_cases", "run_case"]
