"""Run Rego test cases written in OPA's own test format against guardrail's embedded engine.

The format is the one of OPA's conformance cases (`v1/test/cases/testdata` in open-policy-agent/opa): each file
holds `cases:`, each case `note`, `modules`, `query`, optional `data`, `input` (or `input_term`), and either
`want_result` (a list of binding sets, or of values) or `want_error` / `want_error_code`. `strict_error: true`
asks for OPA's strict built-in errors (an error where a built-in fails); it does not by itself expect an error.
Cases run through `RegoEngine`, exactly as guardrail's commands evaluate policies: with its source rewrites,
its built-in extensions and its static checks. All cases run in this one process, one small engine each.

Each outcome has a kind, so a measurement can tell a wrong answer from a designed refusal:
`pass` (OPA's answer, or an error where OPA raises one), `refused` (guardrail refuses the policy at load with a
located message: exit 2 from every command), `error` (evaluation fails where OPA answers: exit 3), `differs`
(a different answer: the silent kind), `skipped` (marked `skip` in the file, or using a feature the format has
and this runner cannot express; the reason says which).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from guardrail.adapters.rego import PolicyBundle, RegoEngine
from guardrail.errors import GuardrailError

KINDS = ("pass", "differs", "refused", "error", "skipped")
# keys of OPA's format this runner understands; a case with any other key is skipped, naming it
_KNOWN_KEYS = {
    "note", "query", "modules", "data", "input", "input_term", "want_result", "want_error", "want_error_code",
    "strict_error", "sort_bindings", "skip",
}  # fmt: skip


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
    skip: str = ""  # why the case is not run, if it is not

    @property
    def key(self) -> str:
        """`file: note`, unique: OPA's notes repeat across (and sometimes within) files."""
        return f"{self.source}: {self.note}"


@dataclass(frozen=True)
class Outcome:
    key: str
    kind: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.kind == "pass"


def case_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_cases(paths: Iterable[Path], root: Path | None = None) -> list[Case]:
    cases: list[Case] = []
    for path in paths:
        source = path.relative_to(root).as_posix() if root else path.name
        seen: dict[str, int] = {}
        for raw in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cases", []):
            note = str(raw["note"])
            seen[note] = seen.get(note, 0) + 1
            unknown = sorted(set(raw) - _KNOWN_KEYS)
            skip = "marked skip in the file" if raw.get("skip") else ""
            if unknown and not skip:
                skip = f"uses {', '.join(unknown)}, which this runner does not express"
            cases.append(
                Case(
                    note=note if seen[note] == 1 else f"{note} #{seen[note]}",
                    query=str(raw["query"]),
                    source=source,
                    modules=[str(m) for m in raw.get("modules") or []],
                    data=raw.get("data"),
                    input=raw.get("input"),
                    input_term=raw.get("input_term"),
                    want_result=raw.get("want_result"),
                    wants_error=bool(raw.get("want_error") or raw.get("want_error_code")),
                    sort_bindings=bool(raw.get("sort_bindings")),
                    skip=skip,
                )
            )
    return cases


def run_case(case: Case) -> Outcome:
    if case.skip:
        return Outcome(case.key, "skipped", case.skip)
    modules = [(f"{case.note}/module{i}.rego", text) for i, text in enumerate(case.modules)]
    try:
        engine = RegoEngine(PolicyBundle(modules=modules, data=case.data or {}))
    except GuardrailError as exc:  # refused at load: every command exits on it before evaluating anything
        return Outcome(case.key, "pass" if case.wants_error else "refused", exc.message.splitlines()[0])
    try:
        given = case.input
        if case.input_term is not None:
            if engine.query(f"count([v | walk({case.input_term}, [_, v]); is_set(v)])"):
                return Outcome(case.key, "skipped", "its input_term holds a set; input reaches guardrail as JSON")
            given = engine.query(case.input_term)
        results = engine.results(case.query, given if given is not None else None)
    except GuardrailError as exc:
        return Outcome(case.key, "pass" if case.wants_error else "error", exc.message.splitlines()[0])
    if case.wants_error:
        return Outcome(case.key, "differs", f"OPA raises an error; the engine answered {_shown(results)}")
    got = [_value(r, case.sort_bindings) for r in results]
    want = [_sorted(w) if case.sort_bindings else w for w in json.loads(json.dumps(case.want_result or []))]
    if _canonical(got) == _canonical(want):
        return Outcome(case.key, "pass")
    return Outcome(case.key, "differs", f"want {json.dumps(want)[:200]}, got {json.dumps(got)[:200]}")


def _value(result: dict[str, Any], sort_bindings: bool) -> Any:
    bindings = result.get("bindings") or {}
    if bindings:
        return _sorted(bindings) if sort_bindings else bindings
    expressions = result.get("expressions") or []
    return expressions[-1]["value"] if expressions else None


def _sorted(bindings: Any) -> Any:
    """`sort_bindings`: each binding's array in OPA's order of values (null, booleans, numbers, strings, ...)."""
    if not isinstance(bindings, dict):
        return bindings
    return {k: sorted(v, key=_order) if isinstance(v, list) else v for k, v in bindings.items()}


def _order(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4 if isinstance(value, list) else 5, json.dumps(value, sort_keys=True))


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


__all__ = ["KINDS", "Case", "Outcome", "case_files", "load_cases", "run_case"]
