"""Every kind of file a user hands guardrail (roster, suite YAML and JSONL, tool file, eval spec, policy data,
approvals, waivers, evidence, a run's manifest and journal, production traces and decision logs) goes through the
guarded loading path: a hostile file of any kind ends in an input error (exit 2) that names it, never a traceback, a
crash, a hang or unbounded memory.

Two batteries: each file-system hazard at each kind's path (a table), and a seeded property test that mutates a
valid file of each kind with random and hostile values (hypothesis, derandomized so CI sees the same cases).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.run_project import make_project

from guardrail.adapters import files
from guardrail.adapters.evidence_store import read_dir
from guardrail.adapters.journal import read_rows
from guardrail.adapters.rego import load_bundle
from guardrail.adapters.roster_file import load_roster
from guardrail.adapters.suites import load_eval, load_suite
from guardrail.adapters.traces import observations
from guardrail.app.governance import load_approvals, load_waivers
from guardrail.app.report import read_manifest, read_violation_transcripts
from guardrail.core.results import ResultRow, Violation
from guardrail.errors import ExitCode, InputError

EVIDENCE = "evidence/0123abcd.json"
RUN = "reports/20260101T000000Z-abcd"
TRACES = Path(__file__).resolve().parents[2] / "examples/traces"


@dataclass(frozen=True)
class Kind:
    path: str  # where the file lives in the project
    form: str  # yaml | json | jsonl
    load: Callable[[Path], object]
    seed: Any  # a valid value of this kind (the fuzz mutates it)


def _bundle(root: Path) -> Any:
    return load_bundle(root / "policies", include_tests=False)


def _evidence(root: Path) -> object:
    """Evidence is never trusted: an unreadable record is kept as unreadable (with the reason), not raised."""
    stored = read_dir(root / "evidence")
    assert all(item.payload is not None or item.problem for item in stored)
    return stored


def _seeds(root: Path) -> dict[str, Any]:
    make_project(root, tasks=2)
    return {
        "roster": yaml.safe_load((root / "roster.yaml").read_text()),
        "tools": yaml.safe_load((root / "suites/triage/tools.yaml").read_text()),
        "task": json.loads((root / "suites/triage/tasks.jsonl").read_text().splitlines()[0]),
        "spec": yaml.safe_load((root / "evals/triage.yaml").read_text()),
    }


SEEDS = _seeds(Path(tempfile.mkdtemp(prefix="guardrail-seeds-")))
MANIFEST = {
    "run_id": RUN.split("/")[1],
    "eval_name": "triage-choice",
    "eval_path": "evals/triage.yaml",
    "agent": "triage",
    "candidates": [{"id": "openai/good"}],
    "baseline": "openai/good",
    "guardrail_version": "0.1.0",
    "started_at": "2026-01-01T00:00:00Z",
}
APPROVAL = dict(agent="triage", change="tool_added:x", approver="a", reason="r", approved_at="2026-01-01")
APPROVAL["expires"] = "2026-12-31"
VIOLATION = Violation(rule="A-001", tool="payments.refund", msg="not granted")
ROW = {"run_id": "r", "task_id": "t-0000", "suite": "triage", "candidate": "openai/good", "status": "pass"}
KINDS = {
    "roster": Kind("roster.yaml", "yaml", lambda r: load_roster(r / "roster.yaml"), SEEDS["roster"]),
    "suite-yaml": Kind(
        "suites/triage/more.yaml", "yaml", lambda r: load_suite(r / "suites/triage"), [{**SEEDS["task"], "id": "y-1"}]
    ),
    "suite-jsonl": Kind("suites/triage/tasks.jsonl", "jsonl", lambda r: load_suite(r / "suites/triage"), SEEDS["task"]),
    "tools": Kind("suites/triage/tools.yaml", "yaml", lambda r: load_suite(r / "suites/triage"), SEEDS["tools"]),
    "eval-spec": Kind("evals/triage.yaml", "yaml", lambda r: load_eval(r / "evals/triage.yaml"), SEEDS["spec"]),
    "policy-data": Kind("policies/data/models.yaml", "yaml", _bundle, {"tiers": {"standard": ["openai/good"]}}),
    "approvals": Kind(
        "policies/data/approvals.yaml",
        "yaml",
        lambda r: load_approvals(_bundle(r), r / "policies"),
        {"approvals": [APPROVAL]},
    ),
    "waivers": Kind(
        "policies/data/waivers.yaml",
        "yaml",
        lambda r: load_waivers(_bundle(r), r / "policies"),
        {"waivers": [{"rule": "GR-008", "reason": "r", "approver": "a", "expires": "2026-12-31"}]},
    ),
    "evidence": Kind(EVIDENCE, "json", _evidence, {"agent": "triage", "model": "openai/good", "hashes": {}}),
    "run-manifest": Kind(f"{RUN}/run.json", "json", lambda r: read_manifest(r / RUN), MANIFEST),
    "journal": Kind(f"{RUN}/results.jsonl", "jsonl", lambda r: read_rows(r / RUN / "results.jsonl"), ROW),
    "transcripts": Kind(  # the report shows violations' transcripts; a damaged line is left out, never a crash
        f"{RUN}/transcripts.jsonl",
        "jsonl",
        lambda r: read_violation_transcripts(r / RUN, [ResultRow(**ROW, violations=[VIOLATION])]),
        {"suite": "triage", "task_id": "t-0000", "candidate": "openai/good", "repeat": 0, "messages": []},
    ),
}
for _name, _file in (("otlp", "otlp-genai"), ("claude-code", "claude-code"), ("decision-log", "decisions")):
    KINDS[f"{_name}-trace"] = Kind(
        f"traces/{_file}.jsonl",
        "jsonl",
        lambda r, f=_file: list(observations(r / f"traces/{f}.jsonl")),  # type: ignore[misc]
        json.loads((TRACES / f"{_file}.jsonl").read_text().splitlines()[0]),
    )


@contextmanager
def _project() -> Iterator[Path]:
    """A valid project holding one file of every kind (hypothesis needs a fresh one per example, not a fixture)."""
    root = Path(tempfile.mkdtemp(prefix="guardrail-kinds-"))
    try:
        make_project(root, tasks=2)
        for kind in KINDS.values():
            if not (root / kind.path).exists():
                _write(root / kind.path, kind, _render(kind, kind.seed))
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _render(kind: Kind, value: Any) -> str:
    if kind.form == "yaml":
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)
    text = json.dumps(value)
    return text + "\n" if kind.form == "jsonl" else text


def _write(path: Path, kind: Kind, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink() if not path.is_dir() or path.is_symlink() else shutil.rmtree(path)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))


def _only_input_errors(kind: Kind, root: Path) -> None:
    """Loading either works or fails with exit 2 naming the file; anything else fails the test."""
    try:
        kind.load(root)
    except InputError as exc:
        assert exc.exit_code == ExitCode.BAD_INPUT
        assert Path(kind.path).name in str(exc) or Path(kind.path).parent.name in str(exc), str(exc)


# --- file-system hazards, at every kind's path --------------------------------------------------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _device(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _loop(path: Path) -> None:
    path.symlink_to(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _huge(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(files.MAX_FILE_BYTES + 1)  # sparse: no disk used


HAZARDS = {"fifo": _fifo, "device": _device, "symlink-loop": _loop, "directory": _directory, "huge": _huge}


@pytest.mark.parametrize("hazard", list(HAZARDS))
@pytest.mark.parametrize("name", list(KINDS))
def test_a_hazardous_file_of_any_kind_is_an_input_error(name: str, hazard: str) -> None:
    kind = KINDS[name]
    if hazard == "huge" and kind.form == "jsonl":
        pytest.skip("JSONL is streamed line by line; its limit is per line (test_files)")
    with _project() as root:
        path = root / kind.path
        path.unlink()
        HAZARDS[hazard](path)
        _only_input_errors(kind, root)


# --- seeded fuzz over every kind ----------------------------------------------------------------------------

HOSTILE_YAML = [
    "[" * 100_000 + "]" * 100_000,
    "&a [" + ", ".join(["x"] * 9) + "]",
    "[&a [l,l,l,l,l,l,l,l,l], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], "
    "&d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], "
    "&g [*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g], [*h,*h,*h,*h,*h,*h,*h,*h,*h]]",
    "&r [*r]",
    "*undefined",
    ".inf",
    "-.inf",
    ".nan",
    "1.0e+999",
    "9" * 5000,
    "2026-13-45",
    "!!python/object/apply:os.system [true]",
    "!!binary '@@@'",
    "{a: 1, a: 2}",
    "? [k]\n: v",
]
HOSTILE_JSON = [
    "[" * 100_000 + "]" * 100_000,
    '"' + "[" * 100_000 + '"',  # a string holding JSON nested 100,000 deep (trace attributes are parsed again)
    "NaN",
    "-Infinity",
    "1e999",
    "9" * 5000,
    '"\\ud800"',
    "[1,",
    "{}}",
]
MARK = "__HOSTILE__"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@st.composite
def documents(draw: st.DrawFn, kind: Kind) -> str | bytes:
    """A file of this kind: a valid one with one value replaced (by a random value or a hostile fragment), or
    random text or bytes."""
    how = draw(st.sampled_from(["random-value", "hostile", "hostile", "text", "bytes"]))
    if how == "text":
        return draw(st.text(max_size=300))
    if how == "bytes":
        return draw(st.binary(max_size=300))
    path = draw(st.sampled_from(_paths(kind.seed)))
    if how == "random-value":
        return _render(kind, _replace(kind.seed, path, draw(json_values)))
    fragment = draw(st.sampled_from(HOSTILE_YAML if kind.form == "yaml" else HOSTILE_JSON))
    rendered = _render(kind, _replace(kind.seed, path, MARK))
    quoted = f"'{MARK}'" if f"'{MARK}'" in rendered else f'"{MARK}"'
    return rendered.replace(quoted, fragment, 1) if quoted in rendered else rendered.replace(MARK, fragment, 1)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(KINDS))
def test_fuzzed_files_of_every_kind_end_in_input_errors_only(name: str) -> None:
    kind = KINDS[name]

    @settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(documents(kind))
    def check(content: str | bytes) -> None:
        with _project() as root:
            _write(root / kind.path, kind, content)
            _only_input_errors(kind, root)

    check()
