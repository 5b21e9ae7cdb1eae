"""MLflow tracking for a compared run: one experiment per eval, a parent run per invocation, a child per candidate.

The parent carries what an auditor needs to tie the numbers to their inputs (git commit, hashes of suites,
policies and spec, guardrail version, the gate decision); each child carries the candidate's params, every
metric with its interval bounds (`metric`, `metric_lo`, `metric_hi`), its verdict and its artifacts, so the
MLflow UI's compare view shows candidates side by side.

A comparison is logged by the logging process (`adapters/mlflow_process.py`: started early, so its import of
mlflow overlaps the replay), which calls `log_runs`; the command's own process only writes the per-candidate files
and waits for the run ids. mlflow is imported lazily, in whichever process uses `TrackingClient`. We talk to it
through `MlflowClient(tracking_uri)` and never through the fluent API, so no global state (active run, tracking
URI) leaks. The local default store is a sqlite file under `.guardrail/`; its experiments are created with an
explicit artifact location under the project, because mlflow otherwise writes artifacts to `./mlruns` wherever the
user stands.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrail.adapters.locks import creating
from guardrail.core.comparison import Comparison
from guardrail.core.gate_input import CandidateVerdict
from guardrail.core.llm import model_label
from guardrail.core.measurement import CandidateStats
from guardrail.core.results import ResultRow
from guardrail.core.stats import Interval
from guardrail.core.summary import JudgeMetricStats, Summary, Tracking
from guardrail.errors import CouldNotFinish

if TYPE_CHECKING:
    from guardrail.adapters.mlflow_process import LogJob

TableWriter = Callable[[Path, list[ResultRow]], None]
_KEY_UNSAFE = re.compile(r"[^\w.\- /]")
_MAX_PARAM = 500  # long values are cut: params are for comparing, the summary artifact keeps everything
_BATCH = 100  # mlflow accepts at most 100 params / 100 tags per log_batch


def prefetch(tracking_uri: str, *, create: bool = False) -> None:
    """Start the logging process now, so importing mlflow and opening the store overlap the caller's own work; a
    sqlite store is created only when `create` (the project's own store), a server is not contacted."""
    from guardrail.adapters import mlflow_process

    mlflow_process.warm(tracking_uri, create=create)


def quiet_logs() -> None:
    """Keep mlflow's "Creating initial MLflow database tables..." off the user's console."""
    import logging

    for name in ("mlflow.store.db.utils", "alembic.runtime.migration", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def store_creation(tracking_uri: str | None) -> contextlib.AbstractContextManager[None]:
    """Around the first use of a local sqlite store: two runs starting together on a fresh project would both
    create its tables (`table _alembic_tmp_experiments already exists`); the second waits for the first."""
    if not tracking_uri or not tracking_uri.startswith("sqlite:///"):
        return contextlib.nullcontext()
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    return creating(db.with_name(db.name + ".lock"), f"MLflow store {db}")


def metric_key(name: str) -> str:
    """`name` with the characters MLflow refuses in a metric or param key replaced by `_`."""
    return _KEY_UNSAFE.sub("_", name)


def experiment_name(eval_name: str) -> str:
    return f"guardrail/{eval_name}"


def interval_metrics(name: str, interval: Interval | None) -> dict[str, float]:
    """`name`, `name_lo`, `name_hi`: the point and its 95% interval as three metrics (a missing bound: absent)."""
    if interval is None:
        return {}
    values = {
        metric_key(name): interval.point,
        metric_key(f"{name}_lo"): interval.lower,
        metric_key(f"{name}_hi"): interval.upper,
    }
    return {key: value for key, value in values.items() if value is not None}


def candidate_metrics(
    s: CandidateStats, comparison: Comparison | None, verdict: CandidateVerdict | None
) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, interval in (
        ("accuracy", s.accuracy),
        ("error_rate", s.error_rate),
        ("violation_rate", s.violation_rate),
        ("cost_per_task_usd", s.cost_per_task),
        ("latency_p50_s", s.latency_p50),
        ("latency_p95_s", s.latency_p95),
    ):
        metrics.update(interval_metrics(name, interval))
    metrics.update({"policy_violations": float(s.violations), "rows": float(s.rows), "errors": float(s.errors)})
    metrics["total_cost_usd"] = s.total_cost_usd
    for bias in s.bias:
        metrics.update(interval_metrics(f"bias_flip_rate.{bias.attribute}", bias.flip_rate))
        if bias.parity is not None:
            metrics.update(interval_metrics(f"demographic_parity_diff.{bias.attribute}", bias.parity.parity_diff))
            metrics.update(interval_metrics(f"disparate_impact.{bias.attribute}", bias.parity.impact_ratio))
    worst = s.worst_bias()
    if worst is not None:
        metrics.update(interval_metrics("bias_flip_rate", worst.flip_rate))
    for sl in s.slices:
        metrics.update(interval_metrics(f"slice.{sl.key}.{sl.value}.accuracy", sl.accuracy))
    if comparison is not None:
        metrics.update(interval_metrics("paired_diff", comparison.diff))
        primary = comparison.errors_as_failures
        for key, value in (("difference_p", primary.p_difference), ("noninferiority_p", primary.p_noninferiority),
                           ("noninferiority_p_holm", primary.p_noninferiority_adjusted)):  # fmt: skip
            if value is not None:
                metrics[key] = value
    if verdict is not None:
        metrics["passed"] = float(verdict.passed)
        if verdict.noninferior is not None:
            metrics["noninferior"] = float(verdict.noninferior)
    return metrics


def judge_metrics(entries: Sequence[JudgeMetricStats], candidate: str) -> dict[str, float]:
    """`judge_<metric>` (mean score), `_lo`, `_hi`, its pass rate and unjudged count: reported, not gated."""
    metrics: dict[str, float] = {}
    for j in entries:
        if j.candidate != candidate:
            continue
        metrics.update(interval_metrics(f"judge_{j.metric}", j.mean))
        metrics.update(interval_metrics(f"judge_{j.metric}_pass_rate", j.pass_rate))
        metrics[metric_key(f"judge_{j.metric}_unjudged")] = float(j.unjudged)
    return metrics


def _flatten(prefix: str, value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flatten(f"{prefix}.{key}" if prefix else str(key), item))
        return out
    return {} if value is None else {metric_key(prefix): str(value)[:_MAX_PARAM]}


class TrackingClient:
    """The few MlflowClient calls guardrail makes (comparisons here, audits in mlflow_audit), with batching and
    errors translated at the boundary."""

    def __init__(self, tracking_uri: str) -> None:
        from mlflow.tracking import MlflowClient

        quiet_logs()
        self.uri = tracking_uri
        with store_creation(tracking_uri):  # the client makes (and migrates) a sqlite store as it opens it
            self.client = MlflowClient(tracking_uri=tracking_uri)

    def experiment(self, name: str, artifact_root: Path | None) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = None
        if artifact_root is not None:
            artifact_root.mkdir(parents=True, exist_ok=True)
            location = (artifact_root / metric_key(name).replace("/", "_")).as_uri()
        try:
            return str(self.client.create_experiment(name, artifact_location=location))
        except MlflowException:  # another process created it between our two calls
            again = self.client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)

    def run(self, experiment_id: str, name: str, tags: dict[str, str]) -> str:
        return str(self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id)

    def log(self, run_id: str, *, params: dict[str, str], metrics: dict[str, float], tags: dict[str, str]) -> None:
        import time

        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        metric_list = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        param_list = [Param(k, v) for k, v in params.items()]
        tag_list = [RunTag(k, v) for k, v in tags.items()]
        for start in range(0, max(len(metric_list), len(param_list), len(tag_list), 1), _BATCH):
            self.client.log_batch(
                run_id,
                metrics=metric_list[start : start + _BATCH],
                params=param_list[start : start + _BATCH],
                tags=tag_list[start : start + _BATCH],
            )

    def artifact(self, run_id: str, path: Path) -> None:
        self.client.log_artifact(run_id, str(path))

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)


def log_comparison(
    summary: Summary,
    rows: Sequence[ResultRow],
    *,
    tracking_uri: str,
    artifact_root: Path | None,
    artifacts: Sequence[Path] = (),
    write_table: TableWriter,
) -> Tracking:
    """Log the parent run and one child per candidate; return the ids (the evidence records carry them).

    `write_table` writes one candidate's rows as the results table each child carries (the app's CSV writer);
    the logging itself happens in the logging process, which `prefetch` may have started already.
    """
    from guardrail.adapters.mlflow_process import LogJob, log

    with tempfile.TemporaryDirectory(prefix="guardrail-mlflow-") as tmp:
        job = LogJob(
            summary=summary,
            tracking_uri=tracking_uri,
            artifact_root=artifact_root,
            artifacts=list(artifacts),
            tables=_candidate_files(summary, rows, Path(tmp), write_table),
            env={k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")},
        )
        try:
            return log(job)
        except CouldNotFinish as exc:
            raise CouldNotFinish(
                str(exc), hint="the reports were written; rerun with --no-track, or check --tracking-uri"
            ) from None


def _candidate_files(
    summary: Summary, rows: Sequence[ResultRow], folder: Path, write_table: TableWriter
) -> dict[str, list[Path]]:
    """Each candidate's own results table and record (stats, comparison, verdict), in `folder`."""
    files: dict[str, list[Path]] = {}
    for s in summary.candidates:
        own = folder / metric_key(s.candidate).replace("/", "_")
        own.mkdir()
        write_table(own / "results.csv", [r for r in rows if r.candidate == s.candidate])
        comparison, verdict = summary.comparison_of(s.candidate), summary.gate.verdict(s.candidate)
        record = {
            "stats": s.model_dump(mode="json"),
            "comparison": comparison.model_dump(mode="json") if comparison else None,
            "verdict": verdict.model_dump(mode="json") if verdict else None,
        }
        (own / "candidate.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        files[s.candidate] = [own / "results.csv", own / "candidate.json"]
    return files


def log_runs(job: LogJob) -> Tracking:
    """In the logging process: the parent run, then one child run per candidate with its files."""
    summary, artifacts = job.summary, job.artifacts
    tracking_uri = job.tracking_uri
    prov = summary.provenance
    client = TrackingClient(tracking_uri)
    name = experiment_name(prov.eval_name)
    experiment_id = client.experiment(name, job.artifact_root)
    common = {
        "guardrail.run_id": prov.run_id,
        "guardrail.eval": prov.eval_name,
        "guardrail.agent": prov.agent,
        "guardrail.version": prov.guardrail_version,
    }
    parent_tags = {
        **common,
        **{f"guardrail.hash.{k}": v for k, v in prov.hashes.items()},
        **{f"guardrail.suite.{metric_key(k)}": v for k, v in prov.suites.items()},
        "guardrail.gate": "allow" if summary.gate.allow else "deny",
        "guardrail.recommendation": summary.recommendation.candidate or "none",
        "mlflow.note.content": summary.recommendation.message,
    }
    if prov.gate_policy_hash:
        parent_tags["guardrail.hash.gate_policies"] = prov.gate_policy_hash
    if prov.git_commit:
        parent_tags["mlflow.source.git.commit"] = prov.git_commit
        parent_tags["guardrail.git_commit"] = prov.git_commit
    parent = client.run(experiment_id, prov.run_id, parent_tags)
    client.log(
        parent,
        params={
            **_flatten("threshold", summary.thresholds),
            "baseline": summary.baseline,
            "proposed": summary.proposed or "",
            "current_model": summary.current_model or "",
            "candidates": ",".join(s.candidate for s in summary.candidates)[:_MAX_PARAM],
            "confidence": str(prov.confidence),
            "eval_path": prov.eval_path,
        },
        metrics={
            "gate_allow": float(summary.gate.allow),
            "candidates_passed": float(sum(v.passed for v in summary.gate.verdicts)),
            **(
                {"saving_per_1000_tasks_usd": summary.recommendation.saving_per_1000_tasks_usd}
                if summary.recommendation.saving_per_1000_tasks_usd is not None
                else {}
            ),
        },
        tags={},
    )
    children: dict[str, str] = {}
    for s in summary.candidates:
        verdict = summary.gate.verdict(s.candidate)
        tags = {
            **common,
            "mlflow.parentRunId": parent,
            "guardrail.candidate": s.candidate,
            "guardrail.simulated": str(s.simulated).lower(),
            "guardrail.verdict": "pass" if verdict and verdict.passed else "fail",
            "guardrail.reasons": "; ".join(r.msg for r in verdict.reasons)[:4000] if verdict else "",
        }
        run_name = model_label(s.candidate, s.simulated)
        child = client.run(experiment_id, run_name, tags)
        children[s.candidate] = child
        client.log(
            child,
            params={
                "model": s.candidate,
                "simulated": str(s.simulated).lower(),
                "baseline": summary.baseline,
                "is_baseline": str(s.candidate == summary.baseline).lower(),
                "noninferiority_margin": str(summary.thresholds.get("noninferiority_margin")),
                "rows": str(s.rows),
            },
            metrics={
                **candidate_metrics(s, summary.comparison_of(s.candidate), verdict),
                **judge_metrics(summary.judge, s.candidate),
            },
            tags={},
        )
        for path in (*job.tables.get(s.candidate, ()), *(p for p in artifacts if p.name == "report.html")):
            client.artifact(child, path)
        client.finish(child)
    for path in artifacts:
        client.artifact(parent, path)
    client.finish(parent)
    return Tracking(
        tracking_uri=tracking_uri,
        experiment_id=experiment_id,
        experiment_name=name,
        parent_run_id=parent,
        child_run_ids=children,
    )


__all__ = [
    "TrackingClient",
    "candidate_metrics",
    "experiment_name",
    "interval_metrics",
    "judge_metrics",
    "log_comparison",
    "log_runs",
    "metric_key",
    "prefetch",
]
