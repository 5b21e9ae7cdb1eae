"""`guardrail audit` end to end on real policies and the embedded engine: the demo's findings are exactly the
planted ones, approvals recorded in traces are honoured, and every exit code is what the table says."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.cli import CliResult, run_cli
from tests.support.traces import agent_span, approval_span, chat_span, otlp, tool_span, write_jsonl

from guardrail.app.audit_policy import ARGUMENTS_DEPTH

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "traces"


def project(root: Path) -> Path:
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copy(REPO / "examples" / "roster.yaml", root / "roster.yaml")
    return root


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliResult, dict[str, Any], Path]:
    root = project(tmp_path_factory.mktemp("demo"))
    result = run_cli("audit", DEMO, "--roster", "roster.yaml", "--no-track", "-f", "json", "--out", "out", cwd=root)
    return result, json.loads(result.out), root


def test_the_demo_finds_exactly_the_planted_findings(demo: tuple[CliResult, dict[str, Any], Path]) -> None:
    result, payload, _ = demo
    assert result.code == 1, result.err
    planted = yaml.safe_load((DEMO / "planted.yaml").read_text())
    found = sorted((f["rule"], f["agent"], f["trace_id"], f["span_id"]) for f in payload["findings"])
    assert found == sorted((p["rule"], p["agent"], p["trace_id"], p["span_id"]) for p in planted)
    assert payload["summary"]["blocking"] == 8
    first = payload["findings"][0]
    assert {"rule", "agent", "msg", "severity", "controls", "trace_id", "span_id"} <= set(first)


def test_the_demo_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_demo_traces", DEMO / "gen_demo_traces.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    # files only: importing the generator leaves __pycache__/ beside it unless bytecode writing is off
    demo = [p.name for p in DEMO.iterdir() if p.is_file() and p.suffix != ".py" and p.name != "README.md"]
    assert written == sorted(demo)
    for name in written:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), f"{name} is stale: run the generator"


def test_the_scorecard_and_reports(demo: tuple[CliResult, dict[str, Any], Path]) -> None:
    _, payload, root = demo
    card = payload["scorecard"]
    agents = {a["agent"]: a for a in card["agents"]}
    assert set(agents) == {
        "content-writer",
        "coordinator",
        "lead-qualification",
        "lifecycle",
        "pricing-bot",
        "refunds",
        "seo",
        "support-triage",
    }
    refunds = agents["refunds"]
    assert refunds["budget_usd_per_day"] == 15 and max(d["cost_usd"] for d in refunds["days"]) > 15
    assert refunds["blocked_calls"] == 1  # the hook denied payments.payout: it never ran, so it is no violation
    assert agents["seo"]["tools_unused"] == ["analytics.query"]
    assert agents["pricing-bot"]["on_roster"] is False
    rate = agents["lead-qualification"]["violation_rate"]
    assert rate["method"] == "clopper-pearson" and rate["lower"] < rate["point"] < rate["upper"]
    assert {o["office"] for o in card["offices"]} == {"operations", "revenue", "(no office)"}
    folder = root / "out"
    assert json.loads((folder / "audit.json").read_text())["id"] == payload["id"]
    assert "## Scorecard per agent" in (folder / "audit.md").read_text()
    html = (folder / "audit.html").read_text()
    assert 'id="chart-spend"' in html and "<script>" in html
    assert 'src="http' not in html and 'href="http' not in html  # self-contained: nothing to fetch


def audit(root: Path, *args: str) -> CliResult:
    return run_cli("audit", *args, "--roster", "roster.yaml", "--no-track", "--out", "out", cwd=root)


def test_an_approved_refund_passes_and_an_unapproved_one_fails(tmp_path: Path) -> None:
    root = project(tmp_path)
    approved = otlp(
        chat_span("c1", 0, "frontier", provider="sim"),
        tool_span("s1", 1, "crm.lookup_order", {"order_id": "LK-1"}),
        approval_span("a1", 2, "payments.refund"),
        tool_span("s2", 3, "payments.refund", {"order_id": "LK-1", "amount": 10}),
        tool_span("s3", 4, "tickets.route", {"queue": "billing"}),
        agent_span("support-triage"),
    )
    write_jsonl(root / "ok.jsonl", approved)
    result = audit(root, "ok.jsonl")
    assert result.code == 0, result.text
    assert "PASSED" in result.out
    unapproved = json.loads(json.dumps(approved).replace('"guardrail.approval.tool"', '"note"'))
    write_jsonl(root / "bad.jsonl", unapproved)
    result = audit(root, "bad.jsonl", "-f", "sarif")
    assert result.code == 1
    sarif = json.loads(result.out)
    (hit,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "ACT-002"]
    location = hit["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "bad.jsonl" and location["region"]["startLine"] == 1
    assert hit["properties"]["trace_id"] == "t1" and hit["properties"]["span_id"] == "s2"


def test_github_annotations_and_junit(tmp_path: Path) -> None:
    root = project(tmp_path)
    write_jsonl(root / "t.jsonl", otlp(tool_span("s1", 1, "web.fetch", {"url": "u"}), agent_span("support-triage")))
    github = audit(root, "t.jsonl", "-f", "github")
    assert github.code == 1
    assert "::error file=t.jsonl,line=1,title=ACT-001 (high) support-triage::" in github.out
    junit = audit(root, "t.jsonl", "-f", "junit")
    assert '<failure message="support-triage called web.fetch' in junit.out


def test_the_project_is_found_from_the_roster(tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    (tmp_path / "elsewhere").mkdir()
    write_jsonl(root / "t.jsonl", otlp(tool_span("s1", 1, "web.fetch", {"url": "u"}), agent_span("support-triage")))
    args = ("audit", root / "t.jsonl", "--roster", root / "roster.yaml", "--no-track")
    result = run_cli(*args, cwd=tmp_path / "elsewhere")
    assert result.code == 1, result.text  # judged by the project's policies, the report in its reports/
    assert "ACT-001" in result.out and len(list((root / "reports").glob("*/audit.json"))) == 1


def test_bad_trace_files_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "broken.jsonl").write_text(json.dumps(otlp()) + "\n{oops\n")
    result = audit(root, "broken.jsonl")
    assert result.code == 2
    assert "broken.jsonl:2: invalid JSON" in result.err and "Traceback" not in result.text
    assert audit(root, "missing.jsonl").code == 2
    assert audit(root, "broken.jsonl", "--since", "yesterday-ish").code == 2
    assert audit(root, "broken.jsonl", "--engine", "spark").code == 2
    assert audit(root, "broken.jsonl", "--agent", "nobody").code == 2


def _nested(depth: int) -> Any:
    """Arguments `depth` objects deep."""
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_arguments_nested_deeper_than_the_engine_reads_are_bad_input(tmp_path: Path) -> None:
    """The policy engine reads input nested at most 127 levels: arguments it cannot be sent are exit 2 naming the
    trace file and line (found when the engine refuses a batch), not an engine failure of the whole audit (exit 3,
    no location)."""
    root = project(tmp_path)

    def trace(depth: int) -> dict[str, Any]:  # a later call holds the deep one in its history, one level deeper
        deep = tool_span("s1", 1, "crm.lookup_order", _nested(depth))
        return otlp(deep, tool_span("s2", 2, "tickets.route", {"q": 1}), agent_span("support-triage"))

    write_jsonl(root / "ok.jsonl", trace(ARGUMENTS_DEPTH))
    assert audit(root, "ok.jsonl").code == 0  # as deep as can be judged
    calm = otlp(tool_span("s0", 0, "crm.lookup_order", {"order_id": "LK-1"}), agent_span("support-triage"))
    write_jsonl(root / "calm.jsonl", calm)
    for depth in (ARGUMENTS_DEPTH + 1, 300):
        (root / "deep.jsonl").write_text("\n".join(json.dumps(r) for r in [otlp(), trace(depth)]) + "\n")
        result = audit(root, "calm.jsonl", "deep.jsonl")
        assert result.code == 2, result.text
        assert f"deep.jsonl:2: arguments: tool arguments nested {depth} levels deep" in result.err, result.err
        assert "Traceback" not in result.text


def test_since_and_until_select_the_window(tmp_path: Path) -> None:
    root = project(tmp_path)
    write_jsonl(root / "t.jsonl", otlp(tool_span("s1", 1, "web.fetch", {"url": "u"}), agent_span("support-triage")))
    assert audit(root, "t.jsonl", "--since", "2026-11-29").code == 0  # the call ran on 2026-11-28
    assert audit(root, "t.jsonl", "--since", "2026-11-28", "--until", "2026-11-29").code == 1


def test_github_annotations_and_the_job_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    summary = root / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = audit(root, str(DEMO), "--format", "github")
    assert result.code == 1, result.err
    annotations = [line for line in result.out.splitlines() if line.startswith("::error")]
    assert len(annotations) == 8  # the demo's planted blocking findings
    written = summary.read_text()
    assert written.startswith("earlier step\n")  # appended, as GitHub expects
    assert "### guardrail audit: ❌ failed" in written and "ACT-002" in written
