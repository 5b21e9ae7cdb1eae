"""Issue 11: a policy the engine would reject when a rule is evaluated is an input error (exit 2, file:line:col)
from every command that loads policies, not an `ok` from `policy check` and an exit 3 from `roster check`.

On main before this change: `policy check` printed ok, `policy test` passed, `roster check` and `gate` exited 3.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.support.policies import make_policy_dir, make_roster
from tests.support.rows import Plant, Scenario, write_run
from tests.support.run_project import make_project

REPO = Path(__file__).resolve().parents[2]

# three problems regorus compiles happily, in a rule no bundled test reaches
BROKEN = """package roster.broken

import rego.v1

warn contains msg if {
  some agent in input.agents
  msg := no_such_helper(agent.name)
}

warn contains msg if {
  some agent in input.agents
  agent.owner == "nobody"
  msg := owner_of_record
}

warn contains msg if {
  msg := concat(",")
}
"""
EXPECTED = (
    "policies/roster/broken.rego:7:10: undefined function `no_such_helper`",
    "policies/roster/broken.rego:13:10: use of undefined variable `owner_of_record` is unsafe",
    "policies/roster/broken.rego:17:10: built-in `concat` takes 2 argument(s), called with 1",
)


def _assert_refused(result_code: int, err: str) -> None:
    assert result_code == 2, err
    for expected in EXPECTED:
        assert expected in err, err
    assert "Traceback" not in err


@pytest.fixture
def broken_project(tmp_path: Path) -> Path:
    policies = make_policy_dir(tmp_path)
    (policies / "roster" / "broken.rego").write_text(BROKEN)
    make_roster(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ("policy", "check", "policies"),
        ("policy", "test", "policies"),
        ("policy", "eval", "data.roster.owner.deny", "--policies", "policies"),
        ("roster", "check", "roster.yaml", "--policies", "policies"),
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_policy_commands_refuse_with_every_location(broken_project: Path, argv: tuple[str, ...]) -> None:
    result = run_cli(*argv, cwd=broken_project)
    _assert_refused(result.code, result.err)


def test_gate_refuses_with_exit_2(tmp_path: Path) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    (tmp_path / "policies" / "roster" / "broken.rego").write_text(BROKEN)
    make_roster(tmp_path)  # names no suites or specs, which the gate would check first
    result = run_cli("gate", "--roster", "roster.yaml", "--base", "roster.yaml", cwd=tmp_path)
    _assert_refused(result.code, result.err)


def test_run_and_report_refuse_with_exit_2(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=2, candidates=["sim/frontier"])
    (tmp_path / "policies" / "gate").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "policies/gate/eval.rego", tmp_path / "policies/gate/eval.rego")
    (tmp_path / "policies" / "roster").mkdir(parents=True, exist_ok=True)
    (tmp_path / "policies" / "roster" / "broken.rego").write_text(BROKEN)
    run = run_cli("run", spec, "--quiet", "--no-track", cwd=tmp_path)
    _assert_refused(run.code, run.err)
    run_dir = write_run(tmp_path / "reports", Scenario([Plant("sim/frontier", 0.9)], tasks=20))
    report = run_cli("report", run_dir.name, "--no-track", cwd=tmp_path)
    _assert_refused(report.code, report.err)
