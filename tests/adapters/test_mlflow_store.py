"""MLflow tracking: a parent run per invocation, a child per candidate, intervals as metrics, artifacts.

One test uses the default local store (sqlite under .guardrail/, artifacts beside it, nothing in the working
directory); the integration test starts a real `mlflow server` on 127.0.0.1 and logs over HTTP.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from tests.support.rows import Plant, Scenario, make_rows, write_run

from guardrail.adapters.mlflow_store import candidate_metrics, experiment_name, interval_metrics, log_comparison
from guardrail.app.report import build_reports, write_csv
from guardrail.core.results import ResultRow
from guardrail.core.stats import Interval
from guardrail.core.summary import Summary
from guardrail.errors import CouldNotFinish
from guardrail.project import Project

REPO = Path(__file__).resolve().parents[2]
PLANTS = [Plant("sim/frontier", 0.95, cost=0.003), Plant("sim/balanced", 0.93, cost=0.0008), Plant("sim/budget", 0.8)]


def _project(root: Path) -> Project:
    (root / "policies" / "gate").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "gate" / "eval.rego", root / "policies" / "gate" / "eval.rego")
    return Project(root)


def _scenario() -> Scenario:
    return Scenario(PLANTS, tasks=60, groups=10, seed=4, run_id="run-mlflow")


def test_interval_metrics_are_named_for_the_compare_view() -> None:
    assert interval_metrics("accuracy", Interval(point=0.9, lower=0.85, upper=0.94, n=10, method="wilson")) == {
        "accuracy": 0.9,
        "accuracy_lo": 0.85,
        "accuracy_hi": 0.94,
    }
    assert interval_metrics("x", None) == {}
    assert experiment_name("support-triage") == "guardrail/support-triage"


def _check_logged(tracking_uri: str, summary: Summary) -> None:
    from mlflow.tracking import MlflowClient

    assert summary.tracking is not None
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name("guardrail/synthetic-choice")
    assert experiment is not None and experiment.experiment_id == summary.tracking.experiment_id
    parent = client.get_run(summary.tracking.parent_run_id)
    tags = parent.data.tags
    assert tags["mlflow.source.git.commit"] == "f" * 40
    assert tags["guardrail.hash.spec"] == "a" * 64 and tags["guardrail.hash.policies"] == "b" * 64
    assert tags["guardrail.hash.suites"] == "c" * 64 and tags["guardrail.version"] == "0.1.0"
    assert tags["guardrail.gate"] == ("allow" if summary.gate.allow else "deny")
    assert parent.data.params["threshold.accuracy.min"] == "0.85"
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {
        "results.csv",
        "summary.json",
        "report.md",
        "report.html",
    }
    children = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert {c.data.tags["guardrail.candidate"] for c in children} == {p.candidate for p in PLANTS}
    for child in children:
        name = child.data.tags["guardrail.candidate"]
        assert summary.tracking.child_run_ids[name] == child.info.run_id
        stats = summary.stats_of(name)
        assert stats is not None and stats.accuracy is not None
        metrics = child.data.metrics
        assert metrics["accuracy"] == pytest.approx(stats.accuracy.point)
        assert metrics["accuracy_lo"] == pytest.approx(stats.accuracy.lower)
        assert metrics["accuracy_hi"] == pytest.approx(stats.accuracy.upper)
        assert {"cost_per_task_usd_lo", "latency_p95_s_hi", "bias_flip_rate", "passed"} <= set(metrics)
        verdict = summary.gate.verdict(name)
        assert verdict is not None
        assert child.data.tags["guardrail.verdict"] == ("pass" if verdict.passed else "fail")
        assert child.data.params["model"] == name and child.data.tags["guardrail.simulated"] == "true"
        assert {a.path for a in client.list_artifacts(child.info.run_id)} == {
            "results.csv",
            "candidate.json",
            "report.html",
        }
        if name != "sim/frontier":
            assert "paired_diff_lo" in metrics and "noninferiority_p" in metrics


def test_local_store_lives_in_the_project_not_the_working_directory(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    run_dir = write_run(project.reports, _scenario(), proposed="sim/balanced")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    with contextlib.chdir(elsewhere):
        outcome = build_reports(run_dir, track=True, tracking_uri=None, project=project)
    assert list(elsewhere.iterdir()) == []  # no ./mlruns, no ./mlflow.db where the user stood
    assert (project.state / "mlflow.db").is_file()
    tracking = outcome.summary.tracking
    assert tracking is not None and tracking.tracking_uri == project.mlflow_uri
    stored = Summary.model_validate_json((run_dir / "summary.json").read_text())
    assert stored.tracking == tracking  # summary.json carries the run ids, and each verdict its child run
    assert {v.candidate: v.mlflow_run_id for v in stored.gate.verdicts} == tracking.child_run_ids
    assert tracking.parent_run_id in (run_dir / "report.html").read_text()
    _check_logged(project.mlflow_uri, outcome.summary)
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(project.mlflow_uri).get_experiment(tracking.experiment_id)
    assert experiment.artifact_location.startswith(project.mlflow_artifacts.as_uri())
    assert any(project.mlflow_artifacts.rglob("report.html"))
    # a second invocation is a second parent run in the same experiment
    again = build_reports(run_dir, track=True, tracking_uri=None, project=project).summary
    assert again.tracking is not None and again.tracking.experiment_id == tracking.experiment_id
    assert again.tracking.parent_run_id != tracking.parent_run_id


def test_an_unreachable_server_is_could_not_finish_after_the_reports_are_written(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run_dir = write_run(project.reports, _scenario())
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    try:
        with pytest.raises(CouldNotFinish, match="could not log to MLflow"):
            build_reports(run_dir, track=True, tracking_uri=f"http://127.0.0.1:{port}", project=project)
    finally:
        del os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    assert (run_dir / "report.html").is_file() and (run_dir / "summary.json").is_file()


def test_candidate_metrics_cover_slices_and_bias() -> None:
    from guardrail.core.measurement import candidate_stats

    rows: list[ResultRow] = make_rows(Scenario([Plant("m", 0.9, flip_rate=0.2)], tasks=40, groups=20))
    stats = candidate_stats("m", rows)
    metrics = candidate_metrics(stats, None, None)
    assert {"slice.difficulty.hard.accuracy_lo", "bias_flip_rate.gender_hi", "disparate_impact.gender"} <= set(metrics)
    assert "passed" not in metrics and "noninferiority_p" not in metrics


@contextlib.contextmanager
def _mlflow_server(root: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination",
        str(root / "server-artifacts"),
    ]
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (root / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "mlflow server did not start in 90 s"
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.mark.integration
def test_logs_to_a_real_mlflow_server_over_http(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    sc = _scenario()
    run_dir = write_run(project.reports, sc, proposed="sim/balanced")
    rows = make_rows(sc)
    server_root = tmp_path / "server"
    server_root.mkdir()
    with _mlflow_server(server_root) as url:
        outcome = build_reports(run_dir, track=False, tracking_uri=None, project=project)
        files = outcome.files
        tracking = log_comparison(
            outcome.summary,
            rows,
            tracking_uri=url,
            artifact_root=None,
            artifacts=[files["csv"], files["summary"], files["markdown"], files["html"]],
            write_table=write_csv,
        )
        summary = outcome.summary.model_copy(update={"tracking": tracking})
        _check_logged(url, summary)
    assert not project.state.exists()  # nothing went to the local store
    assert any((server_root / "server-artifacts").rglob("candidate.json"))  # artifacts went through the server


def test_warming_up_creates_only_the_projects_own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    from guardrail.adapters import mlflow_process

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    missing = tmp_path / "nowhere" / "mlflow.db"
    mlflow_process._warm(f"sqlite:///{missing}", create=False)  # a store the user named: never made by warming
    assert not missing.exists() and not (tmp_path / "nowhere").exists()
    mlflow_process._warm("http://127.0.0.1:9", create=True)  # a server URI is not contacted while warming
    for name in ("a", "b"):  # the second store is a copy of the empty one mlflow made for the first
        own = tmp_path / name / ".guardrail" / "mlflow.db"
        mlflow_process._warm(f"sqlite:///{own}", create=True)
        client = MlflowClient(f"sqlite:///{own}")
        run = client.create_run(client.create_experiment(f"guardrail/{name}", artifact_location=tmp_path.as_uri()))
        client.log_metric(run.info.run_id, "accuracy", 0.9)
        assert client.get_run(run.info.run_id).data.metrics == {"accuracy": 0.9}
    made = [p.name for p in (tmp_path / "cache" / "guardrail").iterdir()]
    assert made == [f"mlflow-{metadata.version('mlflow')}-empty.db"]
