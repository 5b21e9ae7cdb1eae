"""A run with an LLM judge named in the eval spec: candidates and judge served on 127.0.0.1, real HTTP through
litellm. Judge metrics are appended to the rows, summarised with intervals and reported, and never change a
task's status; a judge outage leaves the run and its deterministic verdicts intact."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.adapters.test_judge import RUBRIC, deepeval_judge
from tests.support.openai_server import OpenAIServer, ServerPool
from tests.support.run_project import make_project

from guardrail.adapters.mlflow_store import judge_metrics
from guardrail.adapters.model_client import ModelClient
from guardrail.adapters.retry import RetryPolicy
from guardrail.app.report import build_reports
from guardrail.app.run_eval import RunOptions, run_eval
from guardrail.core.summary import Summary
from guardrail.errors import ConfigError
from guardrail.project import Project
from guardrail.report.console import render_console

REPO = Path(__file__).resolve().parents[2]
TASKS = 4


def responder(body: dict[str, Any]) -> dict[str, Any]:
    """`good` routes to billing, `lazy` declines (fails the deterministic answer check); `judge` judges."""
    model = str(body.get("model", ""))
    if model == "good":
        return {"content": "Your ticket went to the billing queue."}
    if model == "lazy":
        return {"content": "I cannot help with that."}
    return deepeval_judge(body)


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def servers() -> Any:
    with ServerPool() as pool:
        yield pool


def _project(root: Path, models: OpenAIServer, judge: OpenAIServer, **judge_spec: Any) -> Path:
    spec = make_project(
        root,
        tasks=TASKS,
        tools=False,
        candidates=[{"id": f"openai/{m}", "params": models.params} for m in ("good", "lazy")],
        judge={"model": "openai/judge", "params": judge.params, "metrics": ["geval", "bias"], "rubric": RUBRIC}
        | judge_spec,
    )
    (root / "policies/gate").mkdir(parents=True)
    shutil.copy(REPO / "policies/gate/eval.rego", root / "policies/gate/eval.rego")
    return spec


def _statuses(rows: list[Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(row.candidate, set()).add(row.status)
    return out


@pytest.mark.integration
def test_judge_metrics_are_scored_summarised_and_reported_but_not_gated(tmp_path: Path, servers: ServerPool) -> None:
    server = servers.start(responder=responder)
    spec = _project(tmp_path, server, server)
    outcome = run_eval(spec, RunOptions(quiet=True, fsync=False))  # the real provider layer: cache, throttle, retry

    assert _statuses(outcome.rows) == {"openai/good": {"pass"}, "openai/lazy": {"fail"}}
    for row in outcome.rows:
        judged = {c.name: c for c in row.checks if c.name.startswith("judge:")}
        assert set(judged) == {"judge:geval", "judge:bias"}
        assert judged["judge:bias"].score == 1.0
        assert judged["judge:geval"].passed is (row.candidate == "openai/good")
        assert row.judge_calls >= 3  # G-Eval's steps and score, the bias opinions and verdicts (some cached)
    for candidate, entry in outcome.counts.candidates.items():
        rows = [r for r in outcome.rows if r.candidate == candidate]
        assert entry.judge_calls == sum(r.judge_calls for r in rows)  # the judge's bill, apart from the candidate's

    report = build_reports(outcome.run_dir, track=False, tracking_uri=None, project=Project(tmp_path))
    summary = Summary.model_validate_json((outcome.run_dir / "summary.json").read_text())
    entries = {(j.candidate, j.metric): j for j in summary.judge}
    assert summary.judge_model is not None and summary.judge_model.startswith("openai/")
    assert f"Judge model: {summary.judge_model}" in (outcome.run_dir / "report.html").read_text()
    assert set(entries) == {(c, m) for c in ("openai/good", "openai/lazy") for m in ("geval", "bias")}
    good = entries[("openai/good", "geval")]
    assert good.judged == TASKS and good.unjudged == 0
    assert good.mean is not None and good.mean.point == pytest.approx(0.9)
    assert good.pass_rate is not None and good.pass_rate.point == 1.0 and good.pass_rate.method == "clopper-pearson"
    assert good.pass_rate.lower < 1.0  # an interval, not a bare number
    lazy = entries[("openai/lazy", "geval")]
    assert lazy.mean is not None and lazy.mean.point == pytest.approx(0.2) and lazy.pass_rate.point == 0.0  # type: ignore[union-attr]
    # judge metrics are not among the gate's inputs: the verdicts name no judge threshold
    assert all(not k.startswith("judge") for v in summary.gate.verdicts for k in v.metrics)

    html = report.files["html"].read_text()
    assert "LLM-judge metrics (reported, not gated)" in html and 'id="judge"' in html
    with report.files["csv"].open() as handle:
        table = list(csv.DictReader(handle))
    assert {r["judge:geval"] for r in table if r["candidate"] == "openai/good"} == {"0.9"}
    assert all("judge" not in r["failed_checks"] for r in table)
    buffer = io.StringIO()
    render_console(report, Console(file=buffer, width=200))
    assert "LLM judge" in buffer.getvalue() and "not gated" in buffer.getvalue()
    mlflow = judge_metrics(summary.judge, "openai/good")
    assert mlflow["judge_geval"] == pytest.approx(0.9)
    assert {"judge_geval_lo", "judge_geval_hi", "judge_bias", "judge_bias_pass_rate_lo"} <= set(mlflow)


@pytest.mark.integration
def test_a_judge_outage_leaves_the_run_and_its_statuses_intact(tmp_path: Path, servers: ServerPool) -> None:
    models = servers.start(responder=responder)
    down = servers.start(responder=lambda body: {"status": 503, "message": "judge down"})
    spec = _project(tmp_path, models, down)
    client = ModelClient(retry=RetryPolicy(sleep=_no_sleep))
    outcome = run_eval(spec, RunOptions(quiet=True, fsync=False), client=client)

    assert outcome.manifest.status == "finished" and len(outcome.rows) == 2 * TASKS
    assert _statuses(outcome.rows) == {"openai/good": {"pass"}, "openai/lazy": {"fail"}}
    assert all(row.error is None for row in outcome.rows)
    for row in outcome.rows:
        judged = [c for c in row.checks if c.name.startswith("judge:")]
        assert len(judged) == 2
        assert all(c.score is None and not c.passed and (c.detail or "").startswith("judge error:") for c in judged)
    transcripts = [json.loads(line) for line in (outcome.run_dir / "transcripts.jsonl").read_text().splitlines()]
    assert all(len(t["judge"]) == 2 for t in transcripts)

    build_reports(outcome.run_dir, track=False, tracking_uri=None, project=Project(tmp_path))
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert {(j["judged"], j["unjudged"], j["mean"]) for j in summary["judge"]} == {(0, TASKS, None)}


def test_an_unknown_judge_metric_stops_the_run_before_any_call(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=1, judge={"model": "openai/judge", "metrics": ["vibes"]})

    class Unused:
        async def complete(self, request: Any) -> Any:
            raise AssertionError("no model call expected")

    with pytest.raises(ConfigError, match=r"judge.metrics: unknown judge metric\(s\): vibes"):
        run_eval(spec, RunOptions(quiet=True, fsync=False), client=Unused())
