"""End to end in a temporary git repository: the gate as CI runs it, `--base-ref main` on a pull-request branch.

The gate runs through the real CLI entry point in this process; `guardrail run` and the fail-closed cases run as
subprocesses.

The repository holds a copy of the project's policies/, suites/, evals/ and examples/roster.yaml. Evidence comes
only from the real `guardrail run`: the exact fix command the gate printed, run in a subprocess.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.cli import CliResult, run_cli
from tests.support.schemas import junit_errors, sarif_errors

from guardrail.core.evidence import EVIDENCE_KEY_ENV

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ROSTER = "examples/roster.yaml"
AGENT = "support-triage"
SPEC = "evals/support-triage.yaml"
TO_MODEL = "sim/balanced"  # the demo spec's proposal: the roster moves support-triage off sim/frontier
GIT_ENV = {
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.invalid",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _env() -> dict[str, str]:
    return {
        **os.environ,
        **GIT_ENV,
        "PYTHONPATH": str(REPO / "src"),
        "GUARDRAIL_SIM_LATENCY_SCALE": "0",
        "GITHUB_STEP_SUMMARY": "",
    }


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=_env(), timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def guardrail(repo: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guardrail.cli.main", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        check=False,
    )


def gate_cli(repo: Path, *args: str) -> CliResult:
    """The gate in this process (the real entry point; no interpreter start per call)."""
    return run_cli("gate", "--roster", ROSTER, "--base-ref", "main", *args, cwd=repo)


def gate(repo: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = gate_cli(repo, "--format", "json", *extra)
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


def blocking_rules(payload: dict[str, Any]) -> set[str]:
    return {b["rule"] for b in payload["gate"]["blocking"]}


def check_spec(repo: Path) -> None:
    """The project's own spec proposes the model this test switches to. Its suite is used whole: fewer tasks could
    not show non-inferiority at the spec's margin, and the gate must not pass on thin evidence."""
    spec = yaml.safe_load((repo / SPEC).read_text())
    assert spec["agent"] == AGENT and TO_MODEL in spec["candidates"], "the demo spec must propose TO_MODEL"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for folder in ("policies", "suites", "evals"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / folder).mkdir()
    (root / "examples").mkdir()
    shutil.copy(REPO / ROSTER, root / ROSTER)
    (root / ".gitignore").write_text("reports/\n.guardrail/\nmlruns/\nmlflow.db\n")
    check_spec(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "change")
    return root


def edit_agent(repo: Path, old: str, new: str) -> None:
    """Replace the first `old` inside the agent's block of the roster."""
    path = repo / ROSTER
    text = path.read_text()
    start = text.index(f"- name: {AGENT}\n")
    end = text.find("\n  - name: ", start + 1)
    end = len(text) if end < 0 else end
    block = text[start:end]
    assert old in block, f"{old!r} not in the {AGENT} block"
    path.write_text(text[:start] + block.replace(old, new, 1) + text[end:])


def current_model(repo: Path) -> str:
    text = (repo / ROSTER).read_text()
    start = text.index(f"- name: {AGENT}\n")
    line = text[text.index("model:", start) :].split("\n", 1)[0]
    return line.split(":", 1)[1].strip()


def produce_evidence(repo: Path, fix: str) -> None:
    """Run the gate's fix command for real: `guardrail run` must write the passing evidence the gate asked for."""
    command = fix.rsplit("then: ", 1)[-1]
    argv = shlex.split(command)
    assert argv[:2] == ["guardrail", "run"], fix
    proc = guardrail(repo, *argv[1:], "--quiet", "--no-track", timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = [json.loads(p.read_text()) for p in (repo / "evidence").glob("*.json")]
    assert any(r["agent"] == AGENT and r["model"] == TO_MODEL and r["verdict"]["passed"] for r in records), (
        "the run wrote no passing evidence for the proposed model"
    )


@pytest.mark.slow
def test_gate_on_pull_requests_end_to_end(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GUARDRAIL_EVIDENCE_KEY", raising=False)
    spec = SPEC
    assert current_model(repo) != TO_MODEL

    # 1. a safe change (the owner) passes
    edit_agent(repo, "owner: ", "owner: new-")
    git(repo, "commit", "-qam", "new owner")
    code, payload = gate(repo)
    assert code == 0, payload["gate"]["blocking"]
    assert payload["gate"]["changes"] == []

    # 2. a model switch without evidence fails, naming the exact command that would produce it
    edit_agent(repo, f"model: {current_model(repo)}", f"model: {TO_MODEL}")
    git(repo, "commit", "-qam", "switch model")
    code, payload = gate(repo)
    assert code == 1
    assert blocking_rules(payload) == {"evidence_missing"}
    [block] = payload["gate"]["blocking"]
    assert block["location"]["path"] == ROSTER
    assert (repo / ROSTER).read_text().splitlines()[block["location"]["line"] - 1].strip() == f"model: {TO_MODEL}"
    assert f"guardrail run {spec} --candidates" in block["fix"] and TO_MODEL in block["fix"]

    # 3. after the run produces passing evidence (committed with the change), it passes
    produce_evidence(repo, block["fix"])
    git(repo, "add", "evidence")
    git(repo, "commit", "-qm", "evidence")
    code, payload = gate(repo)
    assert code == 0, payload["gate"]["blocking"]
    evidence = payload["gate"]["evidence"][f"{AGENT}|{TO_MODEL}"]
    assert evidence["checks"]["hash_match"] and evidence["checks"]["address_ok"]

    # every output format, on a passing gate
    junit = gate_cli(repo, "--format", "junit")
    assert junit.code == 0 and junit_errors(junit.out) == []

    # 4. evidence is bound to the base's suites: once the base edits the suite, the evidence no longer matches
    suite_dir = repo / "suites" / next(iter(evidence_suites(repo, evidence)))
    victim = next(p for p in sorted(suite_dir.rglob("*")) if p.is_file() and p.suffix in (".yaml", ".yml", ".jsonl"))
    on_main(
        repo, lambda: victim.write_text(victim.read_text().rstrip("\n") + "\n# edited after the run\n"), "edit suite"
    )
    code, payload = gate(repo)
    assert code == 1 and blocking_rules(payload) == {"evidence_mismatch"}
    assert f"suites.{suite_dir.name}" in payload["gate"]["blocking"][0]["msg"]
    assert "rebase" in payload["gate"]["blocking"][0]["fix"]  # this checkout's suite is not the base's
    git(repo, "checkout", "-q", "main")
    git(repo, "revert", "--no-edit", "HEAD")
    git(repo, "checkout", "-q", "change")
    assert gate(repo)[0] == 0

    # 4b. with an evidence key configured, the unsigned evidence blocks; the printed fix, run as printed, signs it
    monkeypatch.setenv(EVIDENCE_KEY_ENV, "e2e-evidence-key")
    code, payload = gate(repo)
    assert code == 1 and blocking_rules(payload) == {"evidence_unsigned"}
    fix = payload["gate"]["blocking"][0]["fix"]
    assert "e2e-evidence-key" not in fix and fix.startswith(f'{EVIDENCE_KEY_ENV}="${{{EVIDENCE_KEY_ENV}:?')
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # the `guardrail` it installs
    shell = subprocess.run(
        ["bash", "-c", f"{fix} --quiet --no-track"],
        cwd=repo,
        env={**_env(), "PATH": path, EVIDENCE_KEY_ENV: "e2e-evidence-key"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert shell.returncode == 0, shell.stdout + shell.stderr
    git(repo, "add", "evidence")
    git(repo, "commit", "-qm", "signed evidence")
    code, payload = gate(repo)
    assert code == 0, payload["gate"]["blocking"]
    chosen = payload["gate"]["evidence"][f"{AGENT}|{TO_MODEL}"]
    assert chosen["checks"]["signature"] == "valid"
    assert [p["why"] for p in chosen["passed_over"]] == ["unsigned, and an evidence key is configured"]

    # 5. tampered evidence fails (the older record is unsigned, so nothing else can stand in for it)
    record = repo / payload["gate"]["evidence"][f"{AGENT}|{TO_MODEL}"]["file"]
    pristine = record.read_text()
    tampered = json.loads(pristine)
    tampered["metrics"]["accuracy"] = {"value": 0.99, "low": 0.98, "high": 1.0}
    record.write_text(json.dumps(tampered, indent=2))
    code, payload = gate(repo)
    assert code == 1 and blocking_rules(payload) == {"evidence_tampered", "evidence_signature_invalid"}
    sarif = gate_cli(repo, "--format", "sarif")
    assert sarif.code == 1 and sarif_errors(sarif.out) == []
    record.write_text(pristine)

    # 6. a removed human checkpoint fails
    edit_agent(repo, "approval_required_for: [payments.refund]", "approval_required_for: []")
    code, payload = gate(repo)
    assert code == 1
    assert "approval_required" in blocking_rules(payload)
    removal = next(b for b in payload["gate"]["blocking"] if b["rule"] == "approval_required")
    assert "approval_removed:payments.refund" in removal["fix"]
    github = gate_cli(repo, "--format", "github")
    assert github.code == 1
    assert any(line.startswith(f"::error file={ROSTER},line=") for line in github.out.splitlines())
    markdown = gate_cli(repo, "--format", "markdown")
    assert markdown.code == 1 and "approval_required" in markdown.out


def on_main(repo: Path, edit: Callable[[], object], message: str) -> None:
    """Commit an edit on the base branch (as a merged change would), then come back to the pull request."""
    git(repo, "checkout", "-q", "main")
    edit()
    git(repo, "commit", "-qam", message)
    git(repo, "checkout", "-q", "change")


def evidence_suites(repo: Path, evidence: dict[str, Any]) -> list[str]:
    path = repo / evidence["file"]
    return sorted(json.loads(path.read_text())["hashes"]["suites"])


def test_an_unknown_base_ref_fails_closed_as_bad_input(repo: Path) -> None:
    proc = guardrail(repo, "gate", "--roster", ROSTER, "--base-ref", "no-such-branch")
    assert proc.returncode == 2
    assert "cannot read the base at no-such-branch" in proc.stderr and "Traceback" not in proc.stderr


def test_a_roster_new_in_this_branch_has_no_base_and_fails_closed(repo: Path) -> None:
    shutil.copy(repo / ROSTER, repo / "examples/new-roster.yaml")
    proc = guardrail(repo, "gate", "--roster", "examples/new-roster.yaml", "--base-ref", "HEAD")
    assert proc.returncode == 2
    assert "fetch-depth" in proc.stderr or "--base FILE" in proc.stderr


# --- a pull request cannot change the policy that judges it ----------------------------------------------------------


def switch_model(repo: Path) -> None:
    edit_agent(repo, f"model: {current_model(repo)}", f"model: {TO_MODEL}")


def test_a_pr_that_rewrites_the_gate_policy_is_judged_by_the_base_policy(repo: Path) -> None:
    (repo / "policies/gate/change.rego").write_text(
        'package gate.change\n\ndecision := {"allow": true, "blocking": [], "warnings": []}\n'
    )
    switch_model(repo)
    git(repo, "commit", "-qam", "allow everything, and switch with no evidence")
    code, payload = gate(repo)
    assert code == 1 and blocking_rules(payload) == {"evidence_missing", "policy_change"}
    assert payload["gate"]["policy_source"] == "main"
    [edit] = [b for b in payload["gate"]["blocking"] if b["rule"] == "policy_change"]
    assert edit["location"]["path"] == "policies/gate/change.rego"
    assert payload["gate"]["policy_changes"] == [{"path": "policies/gate/change.rego", "status": "modified"}]
    key = edit["fix"].split('change: "', 1)[1].split('"', 1)[0]
    assert key.startswith("policy_change:sha256:")

    # a policy owner approves exactly this edit on the base branch: the edit passes, the switch still needs evidence
    def approve() -> None:
        record = {
            "agent": "*",
            "change": key,
            "approver": "ciso@example.invalid",
            "reason": "reviewed",
            "approved_at": "2020-01-01",
            "expires": "2099-12-31",
        }
        (repo / "policies/data/approvals.yaml").write_text(yaml.safe_dump({"approvals": [record]}))

    on_main(repo, approve, "approve the gate policy edit")
    code, payload = gate(repo)
    assert code == 1 and blocking_rules(payload) == {"evidence_missing"}
    assert "governance_records_changed" in {w["rule"] for w in payload["gate"]["warnings"]}


def test_a_pr_that_edits_policy_data_cannot_talk_a_tool_down_or_approve_itself(repo: Path) -> None:
    catalog = repo / "policies/data/catalog.yaml"
    catalog.write_text(catalog.read_text().replace("payments.refund:    {risk: high", "payments.refund:    {risk: low"))
    roster = repo / ROSTER
    roster.write_text(roster.read_text().replace("payments.refund:     {risk: high", "payments.refund:     {risk: low"))
    text = roster.read_text()
    start = text.index("  - name: lead-qualification\n")
    at = text.index("tools: [", start)
    roster.write_text(text[:at] + "tools: [payments.refund, " + text[at + len("tools: [") :])
    (repo / "policies/data/approvals.yaml").write_text(
        yaml.safe_dump(
            {
                "approvals": [
                    {
                        "agent": "lead-qualification",
                        "change": "tool_added:payments.refund",
                        "approver": "me@example.invalid",
                        "reason": "self-approved",
                        "approved_at": "2020-01-01",
                        "expires": "2099-12-31",
                    }
                ]
            }
        )
    )
    (repo / "policies/data/waivers.yaml").write_text(
        yaml.safe_dump(
            {"waivers": [{"rule": "GR-001", "reason": "x", "approver": "me@example.invalid", "expires": "2099-12-31"}]}
        )
    )
    git(repo, "commit", "-qam", "lower the refund tool's risk and approve my own change")
    code, payload = gate(repo)
    assert code == 1
    rules = blocking_rules(payload)
    assert {"approval_required", "policy_change", "roster_deny"} <= rules
    [edit] = [b for b in payload["gate"]["blocking"] if b["rule"] == "policy_change"]
    assert "policies/data/catalog.yaml (modified)" in edit["msg"]
    denies = {b["msg"].split(" ")[2] for b in payload["gate"]["blocking"] if b["rule"] == "roster_deny"}
    assert {"GR-001", "GR-002"} <= denies  # the base's catalog, and no waiver from the change itself
    warned = {w["msg"].split(" ")[0] for w in payload["gate"]["warnings"] if w["rule"] == "governance_records_changed"}
    assert warned == {"policies/data/approvals.yaml", "policies/data/waivers.yaml"}


def test_a_pr_that_edits_a_rule_test_is_a_policy_change_and_its_tests_still_run(repo: Path) -> None:
    test_file = repo / "policies/roster/catalog_test.rego"
    test_file.write_text(test_file.read_text() + "\ntest_added_by_the_change if {\n\tfalse\n}\n")
    git(repo, "commit", "-qam", "a new (failing) rule test")
    code, payload = gate(repo)
    assert code == 1 and blocking_rules(payload) == {"policy_change"}
    assert "policies/roster/catalog_test.rego (modified)" in payload["gate"]["blocking"][0]["msg"]
    tests = run_cli("policy", "test", "policies", cwd=repo)
    assert tests.code == 1 and "test_added_by_the_change" in tests.out


def test_a_pr_that_weakens_the_official_spec_is_a_policy_change(repo: Path) -> None:
    spec = repo / SPEC
    spec.write_text(spec.read_text().replace("accuracy: {min: 0.85}", "accuracy: {min: 0.0}"))
    git(repo, "commit", "-qam", "no accuracy floor")
    code, payload = gate(repo)
    assert code == 1 and blocking_rules(payload) == {"policy_change"}
    assert f"{SPEC} (modified)" in payload["gate"]["blocking"][0]["msg"]


def test_a_broken_file_at_the_base_is_named_as_git_names_it(repo: Path) -> None:
    on_main(repo, lambda: (repo / "policies/data/approvals.yaml").write_text("approvals:\n  - agent: x\n"), "bad")
    result = gate_cli(repo)
    assert result.code == 2
    assert "main:policies/data/approvals.yaml:2" in result.err and "guardrail-base-" not in result.err
