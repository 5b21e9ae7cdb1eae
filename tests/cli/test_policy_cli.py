from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from tests.support.cli import run_cli
from tests.support.policies import make_policy_dir

from guardrail.cli import main as cli_main

FAILING_TEST = """package roster.extra_test

import rego.v1

test_fails if { 1 == 2 }
"""


def test_policy_test_passes_with_coverage(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    result = run_cli("policy", "test", policies, "--coverage", cwd=tmp_path)
    assert result.code == 0, result.text
    assert "PASS  policies/roster/owner_test.rego:6:1: data.roster.owner_test.test_missing_owner_denied" in result.out
    assert "policies/roster/owner.rego" in result.out and "total" in result.out
    assert "2 passed, 0 failed" in result.out


def test_policy_test_failures_exit_1_and_junit_lists_them(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "roster" / "extra_test.rego").write_text(FAILING_TEST)
    result = run_cli("policy", "test", policies, "--format", "junit", cwd=tmp_path)
    assert result.code == 1
    root = ET.fromstring(result.out)
    failures = root.findall(".//failure")
    assert len(failures) == 1 and root.get("tests") == "3"


def test_policy_test_failures_as_annotations_sarif_and_the_job_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "roster" / "extra_test.rego").write_text(FAILING_TEST)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    github = run_cli("policy", "test", policies, "--format", "github", cwd=tmp_path)
    assert github.code == 1
    annotation = "::error file=policies/roster/extra_test.rego,line=5,title=data.roster.extra_test.test_fails (high)::"
    assert github.out.startswith(annotation)
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### guardrail policy test: ❌ failed") and "2 passed, 1 failed" in summary
    sarif = json.loads(run_cli("policy", "test", policies, "--format", "sarif", cwd=tmp_path).out)
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "data.roster.extra_test.test_fails" and result["level"] == "error"
    below = run_cli("policy", "test", policies, "--fail-under", "100", "--per-file", "-f", "markdown", cwd=tmp_path)
    assert below.code == 1 and "| coverage | medium | coverage 0.0% is below --fail-under 100% |" in below.out
    assert "policies/roster/plain.rego:10 |" in below.out  # the file's first line no test reaches


def test_policy_test_run_filter_and_json(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    result = run_cli("policy", "test", policies, "--run", "owner_ok$", "--format", "json", cwd=tmp_path)
    assert result.code == 0
    payload = json.loads(result.out)
    assert [o["name"] for o in payload["outcomes"]] == ["test_owner_ok"]
    assert run_cli("policy", "test", policies, "--run", "nomatch", cwd=tmp_path).code == 1
    assert run_cli("policy", "test", policies, "--run", "(", cwd=tmp_path).code == 2


def test_policy_test_fail_under_is_exit_1_not_2(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    result = run_cli("policy", "test", policies, "--fail-under", "100", cwd=tmp_path)
    assert result.code == 1
    assert "below --fail-under 100%" in result.out


def test_compile_error_is_exit_2_with_file_line_col(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "roster" / "broken.rego").write_text(
        "package roster.broken\nimport rego.v1\ndeny contains x if {\n  y == 1\n}\n"
    )
    for command in (("policy", "check", policies), ("policy", "test", policies)):
        result = run_cli(*command, cwd=tmp_path)
        assert result.code == 2
        assert "policies/roster/broken.rego:4:3: use of undefined variable `y` is unsafe" in result.err
        assert "Traceback" not in result.text


def test_policy_check_ok_and_missing_dir(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    assert run_cli("policy", "check", policies).code == 0
    missing = run_cli("policy", "check", tmp_path / "nope")
    assert missing.code == 2 and "policy directory not found" in missing.err


def test_policy_eval_prints_json_and_undefined_is_exit_1(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    data = tmp_path / "input.yaml"
    data.write_text("agents: [{name: a}]\n")
    result = run_cli("policy", "eval", "data.roster.owner.deny", "--input", data, "--policies", policies)
    assert result.code == 0
    assert json.loads(result.out)[0]["agent"] == "a"
    undefined = run_cli("policy", "eval", "data.roster.owner.nothing", "--policies", policies)
    assert undefined.code == 1 and undefined.out.strip() == "undefined"


def test_runaway_policy_is_exit_3_naming_the_query(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "roster" / "slow.rego").write_text(
        "package roster.slow\nimport rego.v1\n"
        "n := count([1 | some a in numbers.range(1, 3000); some b in numbers.range(1, 3000); a == b])\n"
        "big := count([x | some x in numbers.range(1, 400000000)])\n"
    )
    hungry = run_cli("policy", "eval", "data.roster.slow.big", "--policies", policies, "--policy-memory", "128")
    assert hungry.code == 3
    assert "exceeded the memory limit of 128 MB while evaluating data.roster.slow.big" in hungry.err
    result = run_cli("policy", "eval", "data.roster.slow.n", "--policies", policies, "--policy-timeout", "0.5")
    assert result.code == 3
    assert "exceeded 0.5s while evaluating data.roster.slow.n" in result.err


def test_policy_docs_writes_a_control_matrix(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    out = tmp_path / "docs" / "controls.md"
    assert run_cli("policy", "docs", policies, "--output", out).code == 0
    text = out.read_text()
    assert "| T-001 | Every agent has an owner | high | ISO/IEC 42001 A.3.2 |" in text
    assert "| ISO/IEC 42001 A.3.2 | T-001 |" in text


def test_usage_error_is_exit_2() -> None:
    result = run_cli("policy", "test", "--no-such-flag")
    assert result.code == 2
    assert run_cli("policy", "test", "--format", "xml").code == 2


def test_interrupt_is_exit_130(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("guardrail.app.policies.run_policy_tests", interrupted)
    result = run_cli("policy", "test", make_policy_dir(tmp_path))
    assert result.code == 130 and "interrupted" in result.err


def test_version_flag() -> None:
    result = run_cli("--version")
    assert result.code == 0 and result.out.startswith("guardrail ")
    assert "policy" in cli_main.COMMAND_MODULES


# The five files of issue 17: a partial rule split across two modules of one package, whose bodies read an
# input-dependent rule of an imported package, overridden by `with input as` in a test. OPA passes; regorus alone
# saw the override only in the first-loaded module (failed on main before the rewrite in adapters/rego_rewrite.py).
WITH_REPRO = {
    "lib/x.rego": 'package lib.x\n\nname := n if {\n\tn := input.call.name\n\tis_string(n)\n} else := ""\n',
    "p/{a}.rego": 'package p\n\nimport data.lib.x\n\ndeny contains "from-a" if x.name == "A"\n',
    "p/{b}.rego": 'package p\n\nimport data.lib.x\n\ndeny contains "from-b" if x.name == "B"\n',
    "t/t.rego": 'package t\n\nimport data.p\n\nr := d if {\n\td := p.deny with input as {"call": {"name": "B"}}\n}\n',
    "t/t_test.rego": 'package t_test\n\ntest_r if {\n\tdata.t.r == {"from-b"}\n}\n',
}


@pytest.mark.parametrize(("a", "b"), [("a", "b"), ("z", "b"), ("deny_a", "0_b")])
def test_with_over_a_package_split_across_modules_is_opas_answer_in_any_order(tmp_path: Path, a: str, b: str) -> None:
    for relative, text in WITH_REPRO.items():
        path = tmp_path / "pol" / relative.format(a=a, b=b)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    result = run_cli("policy", "test", tmp_path / "pol", cwd=tmp_path)
    assert result.code == 0, result.text
    assert "1 passed, 0 failed" in result.out
    given = tmp_path / "input.json"
    given.write_text(json.dumps({"call": {"name": "B"}}))
    evaluated = run_cli("policy", "eval", "data.p", "--input", given, "--policies", tmp_path / "pol", cwd=tmp_path)
    assert evaluated.code == 0 and json.loads(evaluated.out) == {"deny": ["from-b"]}


def test_policy_test_takes_several_paths_and_data_like_opa_test(tmp_path: Path) -> None:
    """Issue 15: `policy test PATH... -d DATA`, and --fail-under applied to each file with --per-file."""
    policies = make_policy_dir(tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "limits.rego").write_text("package limits\n\nimport rego.v1\n\nover if input.n > data.cap\n")
    (extra / "limits_test.rego").write_text(
        'package limits_test\n\nimport rego.v1\n\ntest_over if data.limits.over with input as {"n": 6}\n'
    )
    cap = tmp_path / "cap.json"
    cap.write_text('{"cap": 5}')
    both = run_cli("policy", "test", policies, extra, "--data", cap, cwd=tmp_path)
    assert both.code == 0, both.text
    assert "3 passed, 0 failed" in both.out and "data.limits_test.test_over" in both.out
    without_data = run_cli("policy", "test", policies, extra, cwd=tmp_path)
    assert without_data.code == 1 and "2 passed, 1 failed" in without_data.out
    # total coverage (40%) clears 40%, but one file (plain.rego, never tested) does not
    total = run_cli("policy", "test", policies, "--fail-under", "40", cwd=tmp_path)
    per_file = run_cli("policy", "test", policies, "--fail-under", "40", "--per-file", cwd=tmp_path)
    assert total.code == 0, total.text
    assert (
        per_file.code == 1 and "coverage of policies/roster/plain.rego 0.0% is below --fail-under 40%" in per_file.out
    )
    assert run_cli("policy", "test", policies, "--per-file", cwd=tmp_path).code == 2


def test_policy_docs_writes_project_relative_paths(tmp_path: Path) -> None:
    """Issue 15: the committed control matrix named this machine's absolute path."""
    policies = make_policy_dir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("policy", "docs", policies.resolve(), cwd=elsewhere)
    assert result.code == 0, result.text
    assert str(tmp_path) not in result.out
    assert "rules in `policies`" in result.out and "`policies/roster/owner.rego:" in result.out


def test_policy_check_refuses_brackets_nested_too_deep_within_its_time_limit(tmp_path: Path) -> None:
    """Issue 12: Rego nested 10,000 deep crashed the parser (exit 139); 18 deep made it run for minutes."""
    policies = make_policy_dir(tmp_path)
    for depth in (10_000, 18):
        (policies / "roster" / "deep.rego").write_text(f"package deep\n\nx := {'[' * depth}1{']' * depth}\n")
        result = run_cli("policy", "check", policies, cwd=tmp_path)
        assert result.code == 2, result.text
        assert "policies/roster/deep.rego:3:18: brackets nested more than 12 deep" in result.err
