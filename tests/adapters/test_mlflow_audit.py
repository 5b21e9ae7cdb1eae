"""An audit logs one MLflow run with metrics per agent and per-day series, in a real local store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.support.traces import agent_span, chat_span, otlp, tool_span, write_jsonl

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_an_audit_is_one_run_with_metrics_per_agent(tmp_path: Path) -> None:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copy(REPO / "examples" / "roster.yaml", tmp_path / "roster.yaml")
    write_jsonl(
        tmp_path / "t.jsonl",
        otlp(
            chat_span("c1", 0, "frontier", (2_000_000, 100_000), provider="sim"),
            tool_span("s1", 1, "web.fetch", {"url": "u"}),
            agent_span("support-triage"),
        ),
    )
    result = run_cli("audit", "t.jsonl", "--roster", "roster.yaml", "-f", "json", cwd=tmp_path)
    assert result.code == 1, result.err

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / '.guardrail' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("guardrail/audit")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    metrics = run.data.metrics
    assert metrics["blocking_findings"] == 1.0 and metrics["passed"] == 0.0
    assert metrics["agent.support-triage.tool_calls"] == 1.0
    assert metrics["agent.support-triage.violation_rate"] == 1.0
    assert metrics["agent.support-triage.violation_rate_lo"] < 1.0
    assert metrics["agent.support-triage.cost_usd"] == pytest.approx(6.0)  # 2M in at $2.5/M + 0.1M out at $10/M
    history = client.get_metric_history(run.info.run_id, "agent.support-triage.day.cost_usd")
    assert [(h.step, h.value) for h in history] == [(20785, pytest.approx(6.0))]  # 2026-11-28 is day 20785
    assert run.data.tags["guardrail.verdict"] == "fail"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"audit.json", "audit.md", "audit.html"}
