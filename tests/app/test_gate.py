"""The gate use-case on a small project: diff, roster findings, evidence checks, approvals, fail-closed paths."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support.policies import OWNER_RULE

from guardrail.app.eval_specs import EvalSpecs
from guardrail.app.evidence import CurrentHashes, evidence_for_run, mismatched_hashes, write_evidence
from guardrail.app.gate import FixCommands, GateReport, run_gate
from guardrail.core.evidence import EVIDENCE_KEY_ENV, address
from guardrail.core.gate_input import CandidateVerdict, GateDecision, GateReason
from guardrail.core.hashing import policies_hash, sha256_file, sha256_tree
from guardrail.core.results import CandidateSpec, RunManifest
from guardrail.core.stats import Interval
from guardrail.errors import ConfigError, CouldNotFinish, EngineError, PolicyError

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

ROSTER = """version: 1
organization: Testco
tools:
  crm.lookup_order: {risk: low}
  tickets.route: {risk: low, writes: true}
  payments.refund: {risk: high, writes: true}
data_classes: {customer_pii: {sensitivity: high}}
agents:
  - name: triage
    model: sim/frontier
    tools: [crm.lookup_order, tickets.route]
    owner: lead@testco.example
    suites: [triage]
  - name: refunds
    model: sim/balanced
    tools: [payments.refund]
    approval_required_for: [payments.refund]
    owner: cfo@testco.example
"""

SPEC = """name: triage-choice
roster: roster.yaml
agent: triage
suites: [suites/triage]
candidates: [sim/frontier, sim/budget]
baseline: sim/frontier
thresholds: {accuracy: {min: 0.9}, noninferiority_margin: 0.05}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "policies/gate").mkdir(parents=True)
    (tmp_path / "policies/roster").mkdir(parents=True)
    (tmp_path / "policies/data").mkdir(parents=True)
    shutil.copy(REPO / "policies/gate/change.rego", tmp_path / "policies/gate/change.rego")
    (tmp_path / "policies/roster/owner.rego").write_text(OWNER_RULE, encoding="utf-8")
    (tmp_path / "policies/data/approvals.yaml").write_text("approvals: []\n", encoding="utf-8")
    (tmp_path / "suites/triage").mkdir(parents=True)
    (tmp_path / "suites/triage/tasks.yaml").write_text("id: t-1\nmessages: [{role: user, content: hi}]\n")
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals/triage.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "base.yaml").write_text(ROSTER, encoding="utf-8")
    return tmp_path


def switch_to_budget(root: Path) -> None:
    text = (root / "roster.yaml").read_text().replace("model: sim/frontier", "model: sim/budget")
    (root / "roster.yaml").write_text(text)


@dataclass(frozen=True)
class Run:
    """A finished run: its folder, its manifest and the eval gate's decision (what the report step holds)."""

    path: Path
    manifest: RunManifest
    gate: GateDecision

    def write_evidence(self) -> list[Path]:
        return write_evidence(self.path, self.manifest, self.gate)


def make_run(
    root: Path,
    passed: dict[str, bool],
    *,
    finished: datetime = NOW - timedelta(days=1),
    spec: str = "evals/triage.yaml",
) -> Run:
    """A finished run as the runner and the statistics leave it, with hashes computed the runner's way."""
    earlier = len(list((root / "reports").glob("*"))) if (root / "reports").exists() else 0
    run_id = f"{finished.strftime('%Y%m%dT%H%M%SZ')}-t{earlier}"
    run_dir = root / "reports" / run_id
    run_dir.mkdir(parents=True)
    manifest = RunManifest(
        run_id=run_id,
        eval_name="triage-choice",
        eval_path=spec,
        agent="triage",
        roster_path="roster.yaml",
        current_model="sim/frontier",
        candidates=[CandidateSpec(id=c, simulated=True) for c in passed],
        baseline="sim/frontier",
        thresholds={"accuracy": {"min": 0.9}},
        suites={"triage": sha256_tree(root / "suites/triage")},
        hashes={
            "spec": sha256_file(root / spec),
            "policies": policies_hash(root / "policies"),
            "roster": sha256_file(root / "roster.yaml"),
            "suites": "combined",
        },
        guardrail_version="0.1.0",
        started_at=finished - timedelta(minutes=2),
        finished_at=finished,
        status="finished",
    )
    verdicts = [
        CandidateVerdict(
            candidate=c,
            metrics={"accuracy": Interval(point=0.95 if ok else 0.8, lower=0.9, upper=0.98, n=50, method="wilson")},
            passed=ok,
            reasons=[] if ok else [GateReason(threshold="accuracy", msg="accuracy 0.80 is below the minimum 0.90")],
        )
        for c, ok in passed.items()
    ]
    (run_dir / "run.json").write_text(manifest.model_dump_json())
    return Run(run_dir, manifest, GateDecision(allow=all(passed.values()), baseline="sim/frontier", verdicts=verdicts))


def gate(root: Path, **kwargs: Any) -> GateReport:
    options: dict[str, Any] = {"policies_dir": root / "policies", "base_path": root / "base.yaml", "now": NOW}
    options.update(kwargs)
    return run_gate(root / "roster.yaml", **options)


def rules(report: GateReport) -> set[str]:
    return {b.rule for b in report.blocking}


# --- the decision ---------------------------------------------------------------------------------------------


def test_safe_change_passes(project: Path) -> None:
    text = (project / "roster.yaml").read_text().replace("lead@testco.example", "new-lead@testco.example")
    (project / "roster.yaml").write_text(text)
    report = gate(project)
    assert report.passed and report.changes == [] and report.blocking == []


def test_switch_without_evidence_blocks_on_the_model_line_with_the_run_command(project: Path) -> None:
    switch_to_budget(project)
    report = gate(project)
    assert not report.passed
    [block] = report.blocking
    assert block.rule == "evidence_missing" and block.agent == "triage"
    assert block.fix == "guardrail run evals/triage.yaml --candidates sim/frontier,sim/budget"
    assert block.location is not None and block.location.path == "roster.yaml"
    assert block.location.line == 10  # `model: sim/budget`


def test_passing_evidence_allows_the_switch(project: Path) -> None:
    written = make_run(project, {"sim/frontier": True, "sim/budget": True}).write_evidence()
    assert len(written) == 4  # two candidates, each in the run folder and in the project's evidence/
    switch_to_budget(project)
    report = gate(project)
    assert report.passed, report.blocking
    view = report.evidence["triage|sim/budget"]
    assert view.checks.hash_match and view.checks.address_ok and view.checks.signature == "not_required"
    assert view.checks.age_days == 1.0 and view.checks.missing_suites == []
    assert view.file.startswith("evidence/")


def test_editing_a_suite_afterwards_makes_the_evidence_mismatch(project: Path) -> None:
    make_run(project, {"sim/budget": True}).write_evidence()
    switch_to_budget(project)
    (project / "suites/triage/tasks.yaml").write_text("id: t-1\nmessages: [{role: user, content: changed}]\n")
    report = gate(project)
    assert rules(report) == {"evidence_mismatch"}
    assert "suites.triage" in report.blocking[0].msg
    assert report.blocking[0].fix == "guardrail run evals/triage.yaml --candidates sim/frontier,sim/budget"


def test_tampered_evidence_blocks(project: Path) -> None:
    make_run(project, {"sim/budget": False}).write_evidence()
    [path] = (project / "evidence").glob("*.json")
    payload = json.loads(path.read_text())
    payload["verdict"] = {"passed": True, "reasons": []}
    path.write_text(json.dumps(payload, indent=2))
    switch_to_budget(project)
    report = gate(project)
    assert rules(report) == {"evidence_tampered"}
    assert path.name in report.blocking[0].msg


def test_failing_verdict_blocks_with_its_reasons(project: Path) -> None:
    make_run(project, {"sim/budget": False}).write_evidence()
    switch_to_budget(project)
    report = gate(project)
    assert rules(report) == {"evidence_failed"}
    assert "accuracy 0.80 is below the minimum 0.90" in report.blocking[0].msg


def test_stale_evidence_blocks_unless_the_age_limit_allows_it(project: Path) -> None:
    make_run(project, {"sim/budget": True}, finished=NOW - timedelta(days=45)).write_evidence()
    switch_to_budget(project)
    assert rules(gate(project)) == {"evidence_stale"}
    assert gate(project, max_age_days=60).passed


def test_the_best_record_is_judged_when_several_exist(project: Path) -> None:
    make_run(project, {"sim/budget": False}, finished=NOW - timedelta(days=3)).write_evidence()
    make_run(project, {"sim/budget": True}, finished=NOW - timedelta(days=2)).write_evidence()
    switch_to_budget(project)
    report = gate(project)
    assert report.passed
    assert report.evidence["triage|sim/budget"].verdict["passed"] is True


def test_with_a_key_unsigned_evidence_blocks_and_signed_evidence_passes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_run(project, {"sim/budget": True}).write_evidence()  # written without a key
    switch_to_budget(project)
    monkeypatch.setenv(EVIDENCE_KEY_ENV, "s3cret-evidence-key")
    assert rules(gate(project)) == {"evidence_unsigned"}

    shutil.rmtree(project / "evidence")
    written = make_run(project, {"sim/budget": True}).write_evidence()
    assert all("s3cret" not in p.read_text() for p in written)
    report = gate(project)
    assert report.passed
    assert report.evidence["triage|sim/budget"].checks.signature == "valid"
    assert "s3cret" not in report.model_dump_json()

    monkeypatch.setenv(EVIDENCE_KEY_ENV, "another-key")
    assert rules(gate(project)) == {"evidence_signature_invalid"}


def test_removed_checkpoint_needs_a_live_approval(project: Path) -> None:
    text = (
        (project / "roster.yaml")
        .read_text()
        .replace("approval_required_for: [payments.refund]", "approval_required_for: []")
    )
    (project / "roster.yaml").write_text(text)
    report = gate(project)
    assert rules(report) == {"approval_required"}
    assert "approval_removed:payments.refund" in report.blocking[0].fix  # type: ignore[operator]
    # unquoted YAML dates are accepted (normalised to strings before they reach the policy)
    (project / "policies/data/approvals.yaml").write_text(
        "approvals:\n  - agent: refunds\n    change: approval_removed:payments.refund\n"
        "    approver: cfo@testco.example\n    reason: refunds move to a bank-side check\n"
        "    approved_at: 2026-06-01\n    expires: 2026-09-30\n"
    )
    assert gate(project).passed
    assert not gate(project, now=datetime(2026, 10, 1, tzinfo=UTC)).passed


def test_a_malformed_approval_is_an_input_error_with_its_line(project: Path) -> None:
    (project / "policies/data/approvals.yaml").write_text(
        "approvals:\n  - agent: refunds\n    change: approval_removed:payments.refund\n    approver: cfo\n"
    )
    with pytest.raises(ConfigError) as caught:
        gate(project)
    assert "approvals.yaml:2" in str(caught.value)


def test_a_roster_deny_blocks_at_the_agent_line(project: Path) -> None:
    text = (project / "roster.yaml").read_text().replace("    owner: cfo@testco.example\n", "")
    (project / "roster.yaml").write_text(text)
    report = gate(project)
    [block] = report.blocking
    assert block.rule == "roster_deny" and block.agent == "refunds"
    assert block.location is not None and block.location.line == 14
    doc = report.findings_doc()
    [finding] = [f for f in doc.findings if f.kind == "deny"]
    assert finding.kind == "deny" and finding.rule == "gate.roster_deny"
    assert finding.controls == ("ISO/IEC 42001 A.3.2",) and finding.severity == "high"


# --- failing closed ---------------------------------------------------------------------------------------------


def test_no_base_is_an_input_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="--base-ref REF"):
        run_gate(project / "roster.yaml", policies_dir=project / "policies")


def test_an_unreadable_base_is_an_input_error(project: Path) -> None:
    (project / "base.yaml").write_text("version: 1\norganization: [unclosed\n")
    with pytest.raises(ConfigError, match="base.yaml"):
        gate(project)


def test_missing_gate_policy_is_a_policy_error(project: Path) -> None:
    (project / "policies/gate/change.rego").unlink()
    with pytest.raises(PolicyError, match="no gate policy"):
        gate(project)


def test_missing_policy_directory_is_a_policy_error(project: Path) -> None:
    with pytest.raises(PolicyError):
        gate(project, policies_dir=project / "nowhere")


def test_a_decision_of_the_wrong_shape_cannot_pass(project: Path) -> None:
    (project / "policies/gate/change.rego").write_text('package gate.change\n\ndecision := {"allow": "yes"}\n')
    with pytest.raises(EngineError, match="gave no decision"):
        gate(project)
    (project / "policies/gate/change.rego").write_text(
        'package gate.change\n\ndecision := {"allow": true, "blocking": "none", "warnings": []}\n'
    )
    with pytest.raises(EngineError, match="not a list"):
        gate(project)


def test_allow_true_with_blocking_reasons_still_denies(project: Path) -> None:
    (project / "policies/gate/change.rego").write_text(
        'package gate.change\n\ndecision := {"allow": true, "blocking": [{"rule": "x", "msg": "no"}], "warnings": []}\n'
    )
    report = gate(project)
    assert not report.passed and report.blocking[0].msg == "no"


# --- evidence writing and hashing ---------------------------------------------------------------------------------


def test_write_evidence_is_deterministic_and_content_addressed(project: Path) -> None:
    run = make_run(project, {"sim/frontier": True, "sim/budget": False})
    first = run.write_evidence()
    second = run.write_evidence()
    assert first == second
    for path in first:
        assert path.stem == address(json.loads(path.read_text()))
    shared = sorted(p.name for p in (project / "evidence").glob("*.json"))
    in_run = sorted(p.name for p in (run.path / "evidence").glob("*.json"))
    assert shared == in_run and len(shared) == 2
    record = json.loads((project / "evidence" / shared[0]).read_text())
    assert record["hashes"]["suites"] == {"triage": sha256_tree(project / "suites/triage")}
    assert record["metrics"]["accuracy"] == {"value": record["metrics"]["accuracy"]["value"], "low": 0.9, "high": 0.98}


def test_a_candidate_without_a_verdict_gets_failing_evidence(project: Path) -> None:
    run = make_run(project, {"sim/budget": True})
    [record] = evidence_for_run(run.manifest, GateDecision(allow=False, baseline="sim/frontier"))
    assert record.verdict.passed is False and "no gate verdict" in record.verdict.reasons[0]


def test_a_run_without_hashes_cannot_produce_evidence(project: Path) -> None:
    run = make_run(project, {"sim/budget": True})
    with pytest.raises(CouldNotFinish, match="hashes"):
        evidence_for_run(run.manifest.model_copy(update={"hashes": {}}), run.gate)


def test_current_hashes_match_the_runners(tmp_path: Path) -> None:
    """The gate recomputes exactly what `guardrail run` recorded; if either side changes, this fails."""
    from tests.support.run_project import make_project

    from guardrail.adapters.suites import load_eval
    from guardrail.app.run_eval import input_hashes

    spec_path = make_project(tmp_path)
    loaded = load_eval(spec_path)
    hashes, suites = input_hashes(loaded)
    payload = {
        "spec_path": loaded.project.display(loaded.path),
        "hashes": {"spec": hashes["spec"], "policies": hashes["policies"], "suites": suites},
    }
    current = CurrentHashes(loaded.project.root, loaded.project.policies)
    assert mismatched_hashes(payload, current) == []
    (tmp_path / "policies/action/extra.rego").write_text("package action.extra\n")
    assert mismatched_hashes(payload, CurrentHashes(loaded.project.root, loaded.project.policies)) == ["policies"]


def test_fix_command_names_the_official_spec_for_the_agent(project: Path) -> None:
    specs = EvalSpecs(project)
    fix_command = FixCommands(specs, signed=False)
    official, problem = specs.official("triage", None)
    assert (official, problem) == ("evals/triage.yaml", None)
    assert fix_command("triage", "sim/budget", official, None) == (
        "guardrail run evals/triage.yaml --candidates sim/frontier,sim/budget"
    )
    assert fix_command("triage", "openai/gpt-4o", official, None) == (
        "add openai/gpt-4o to the candidates of the official spec evals/triage.yaml and land that on its own, "
        "then: guardrail run evals/triage.yaml --candidates sim/frontier,openai/gpt-4o"
    )
    assert fix_command("triage", "sim/frontier", official, None) == (
        "guardrail run evals/triage.yaml --candidates sim/frontier"
    )
    official, problem = specs.official("refunds", None)
    assert official is None and problem == "no eval spec under evals/ is for agent refunds"
    assert fix_command("refunds", "sim/budget", official, problem).startswith(f"{problem}: write one under evals/")
    signed = FixCommands(specs, signed=True)("triage", "sim/budget", "evals/triage.yaml", None)
    assert signed.startswith('GUARDRAIL_EVIDENCE_KEY="${GUARDRAIL_EVIDENCE_KEY:?')


def test_an_unreadable_evidence_file_is_skipped_and_reported(project: Path) -> None:
    (project / "evidence").mkdir()
    (project / "evidence" / ("0" * 64 + ".json")).write_text("{not json")
    switch_to_budget(project)
    report = gate(project)
    assert rules(report) == {"evidence_missing"}
    assert report.unreadable_evidence == ["evidence/" + "0" * 64 + ".json"]
    assert any("unreadable evidence file skipped" in note for note in report.notes())


def test_adding_a_high_risk_tool_needs_an_approval_and_a_new_agent_warns_without_evidence(project: Path) -> None:
    text = (project / "roster.yaml").read_text()
    text = text.replace(
        "tools: [crm.lookup_order, tickets.route]", "tools: [crm.lookup_order, tickets.route, payments.refund]"
    )
    text = text.replace(
        "    owner: lead@testco.example\n",
        "    approval_required_for: [payments.refund]\n    owner: lead@testco.example\n",
    )
    text += "  - name: helper\n    model: sim/budget\n    owner: ops@testco.example\n    suites: [triage]\n"
    (project / "roster.yaml").write_text(text)
    report = gate(project)
    assert [(b.rule, b.agent) for b in report.blocking] == [("approval_required", "triage")]
    assert "tool_added:payments.refund" in (report.blocking[0].fix or "")
    assert [(w.rule, w.agent) for w in report.warnings if w.rule != "untrusted_policies"] == [
        ("new_agent_without_evidence", "helper")
    ]


def test_approval_times_must_be_dates_or_zoned_times(project: Path) -> None:
    record = (
        "approvals:\n  - agent: refunds\n    change: approval_removed:payments.refund\n"
        "    approver: cfo@testco.example\n    reason: bank-side check\n"
        "    approved_at: 2026-06-01\n    expires: {expires}\n"
    )
    text = (
        (project / "roster.yaml")
        .read_text()
        .replace("approval_required_for: [payments.refund]", "approval_required_for: []")
    )
    (project / "roster.yaml").write_text(text)
    (project / "policies/data/approvals.yaml").write_text(record.format(expires='"next summer"'))
    with pytest.raises(ConfigError) as caught:
        gate(project)
    assert "approvals.yaml:7" in str(caught.value) and "RFC3339" in str(caught.value)
    (project / "policies/data/approvals.yaml").write_text(record.format(expires="2300-01-01"))
    with pytest.raises(ConfigError, match="between 1970 and 2261"):  # beyond Rego's clock: refused, not exit 3
        gate(project)
    (project / "policies/data/approvals.yaml").write_text(record.format(expires="2026-06-15 13:00:00"))
    with pytest.raises(ConfigError, match="with a zone"):  # a time without a zone is ambiguous
        gate(project)
    (project / "policies/data/approvals.yaml").write_text(record.format(expires='"2026-06-15T13:00:00+01:00"'))
    assert not gate(project).passed  # 12:00Z is the expiry itself: no longer live
    (project / "policies/data/approvals.yaml").write_text(record.format(expires='"2026-06-15T14:00:00+01:00"'))
    assert gate(project).passed


# --- evidence: which record counts, and when -------------------------------------------------------------------


def test_evidence_from_an_adhoc_spec_without_thresholds_cannot_back_the_switch(project: Path) -> None:
    """Before: any spec for the agent counted, so a spec with no thresholds backed a switch the official one refuses."""
    (project / "evals/adhoc.yaml").write_text(SPEC.replace("triage-choice", "adhoc").replace("thresholds:", "#"))
    text = (
        (project / "roster.yaml")
        .read_text()
        .replace("suites: [triage]", "suites: [triage]\n    eval_spec: evals/triage.yaml")
    )
    (project / "roster.yaml").write_text(text)
    (project / "base.yaml").write_text(text)
    make_run(project, {"sim/budget": True}, spec="evals/adhoc.yaml").write_evidence()
    switch_to_budget(project)
    report = gate(project)
    assert rules(report) == {"evidence_unofficial"}
    assert (
        "made with evals/adhoc.yaml, not the agent's official eval spec (evals/triage.yaml)" in report.blocking[0].msg
    )
    assert report.blocking[0].fix == "guardrail run evals/triage.yaml --candidates sim/frontier,sim/budget"
    # with two specs for the agent and none named, neither is official
    (project / "base.yaml").write_text(ROSTER)
    (project / "roster.yaml").write_text(ROSTER)
    switch_to_budget(project)
    report = gate(project)
    assert (
        rules(report) == {"evidence_unofficial"} and "several eval specs are for agent triage" in report.blocking[0].msg
    )


def test_a_zero_day_age_limit_refuses_evidence_minutes_old(project: Path) -> None:
    """Before: ages were rounded to 0.1 day, so `--max-age-days 0` accepted evidence up to 2.4 hours old."""
    make_run(project, {"sim/budget": True}, finished=NOW - timedelta(minutes=5)).write_evidence()
    switch_to_budget(project)
    assert gate(project).passed
    report = gate(project, max_age_days=0)
    assert rules(report) == {"evidence_stale"}
    assert report.evidence["triage|sim/budget"].checks.age_days == pytest.approx(5 / 1440)


def test_future_dated_evidence_is_refused(project: Path) -> None:
    make_run(project, {"sim/budget": True}, finished=NOW + timedelta(hours=2)).write_evidence()
    switch_to_budget(project)
    report = gate(project)
    assert rules(report) == {"evidence_future"}
    assert "later than now (2026-06-15T12:00:00Z)" in report.blocking[0].msg


def test_the_newest_evidence_is_judged_and_the_older_say_why_they_lost(project: Path) -> None:
    """Before: the best record won, so an older pass hid a newer failing run of the same candidate."""
    make_run(project, {"sim/budget": True}, finished=NOW - timedelta(days=3)).write_evidence()
    make_run(project, {"sim/budget": False}, finished=NOW - timedelta(days=2)).write_evidence()
    switch_to_budget(project)
    report = gate(project)
    assert rules(report) == {"evidence_failed"}
    view = report.evidence["triage|sim/budget"]
    assert view.run_id is not None and view.run_id.endswith("-t1")
    [lost] = view.passed_over
    assert lost.run_id is not None and lost.run_id.endswith("-t0")
    assert lost.why == f"superseded by the newer run {view.run_id}"
    assert any(f"passed over {lost.file}" in note for note in report.notes())


def test_an_empty_evidence_key_is_an_input_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: an empty key silently meant "no key", so a secret that failed to arrive turned checking off."""
    run = make_run(project, {"sim/budget": True})
    monkeypatch.setenv(EVIDENCE_KEY_ENV, "  ")
    with pytest.raises(ConfigError, match="set but empty") as caught:
        gate(project)
    assert caught.value.exit_code == 2
    with pytest.raises(ConfigError, match="set but empty"):
        run.write_evidence()


# --- the catalog is the one source of tool risk ------------------------------------------------------------------


def test_a_catalog_high_tool_declared_low_needs_approval_even_with_a_roster_wide_waiver(project: Path) -> None:
    """Before: the gate took the roster's `low`; with GR-001 waived for every agent, the change passed."""
    for name in ("catalog.rego", "lib_tools.rego"):
        shutil.copy(REPO / "policies/roster" / name, project / "policies/roster" / name)
    (project / "policies/data/catalog.yaml").write_text(
        "tools:\n  crm.lookup_order: {risk: low}\n  tickets.route: {risk: low, writes: true}\n"
        "  payments.refund: {risk: high, writes: true}\n"
    )
    (project / "policies/data/waivers.yaml").write_text(
        "waivers:\n  - {rule: GR-001, reason: catalog review, approver: cro@testco.example, expires: 2027-01-01}\n"
    )
    lowered = ROSTER.replace("payments.refund: {risk: high, writes: true}", "payments.refund: {risk: low}")
    (project / "base.yaml").write_text(lowered)
    head = lowered.replace(
        "tools: [crm.lookup_order, tickets.route]\n",
        "tools: [crm.lookup_order, tickets.route, payments.refund]\n    approval_required_for: [payments.refund]\n",
    )
    (project / "roster.yaml").write_text(head)
    report = gate(project)
    assert rules(report) == {"approval_required"}
    assert "new high-risk tool payments.refund" in report.blocking[0].msg
    added = next(c for c in report.changes if c.kind == "tool_added")
    assert added.details["risk"] == "high" and added.details["declared_risk"] == "low"
    assert any(f.rule == "GR-001" and f.waiver is not None for f in report.findings)
