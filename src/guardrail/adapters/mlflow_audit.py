"""MLflow tracking for audits: one run per audit in the `guardrail/audit` experiment, metrics per agent and office.

Each run carries the audit's totals, every agent's calls, violation and error rates (with their 95% interval
bounds), cost and worst day against budget, and the per-day series (cost, calls, violating calls, step = day
number, timestamp = the day), so the MLflow UI's chart view shows trends within an audit and across daily audits.
The client and experiment helpers are mlflow_store's; mlflow is imported there, lazily.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from guardrail.adapters.mlflow_store import TrackingClient, interval_metrics, metric_key
from guardrail.core.audit import AgentCard, AuditReport, DayCost, OfficeCard
from guardrail.errors import CouldNotFinish

EXPERIMENT = "guardrail/audit"


def _card_metrics(prefix: str, card: AgentCard | OfficeCard) -> dict[str, float]:
    metrics = {
        f"{prefix}.tool_calls": float(card.tool_calls),
        f"{prefix}.model_calls": float(card.model_calls),
        f"{prefix}.errors": float(card.errors),
        f"{prefix}.violating_calls": float(card.violating_calls),
        f"{prefix}.cost_usd": float(card.cost_usd),
    }
    metrics.update(interval_metrics(f"{prefix}.violation_rate", card.violation_rate))
    metrics.update(interval_metrics(f"{prefix}.error_rate", card.error_rate))
    if card.days:
        metrics[f"{prefix}.cost_max_day_usd"] = max(d.cost_usd for d in card.days)
    if card.budget_usd_per_day is not None:
        metrics[f"{prefix}.budget_usd_per_day"] = card.budget_usd_per_day
        metrics[f"{prefix}.days_over_budget"] = float(sum(d.cost_usd > card.budget_usd_per_day for d in card.days))
    if isinstance(card, AgentCard):
        metrics[f"{prefix}.tools_unused"] = float(len(card.tools_unused))
        for rule in card.violations:
            metrics[f"{prefix}.violations.{rule.rule}"] = float(rule.calls)
    return {metric_key(k): v for k, v in metrics.items()}


def audit_metrics(report: AuditReport) -> dict[str, float]:
    card = report.scorecard
    metrics: dict[str, float] = {
        "events": float(card.events),
        "tool_calls": float(card.tool_calls),
        "model_calls": float(card.model_calls),
        "blocking_findings": float(report.blocking),
        "warnings": float(sum(f.kind == "warn" and f.waiver is None for f in report.findings)),
        "passed": float(report.passed),
    }
    for agent in card.agents:
        metrics.update(_card_metrics(f"agent.{agent.agent}", agent))
    for office in card.offices:
        metrics.update(_card_metrics(f"office.{office.office}", office))
    return metrics


def _day_series(prefix: str, days: Sequence[DayCost]) -> list[tuple[str, float, int, int]]:
    """(key, value, timestamp ms, step) per day: step is the day number since 1970, so audits line up."""
    out = []
    for d in days:
        when = datetime.fromisoformat(d.day).replace(tzinfo=UTC)
        stamp, step = int(when.timestamp() * 1000), int(when.timestamp() // 86400)
        out += [
            (metric_key(f"{prefix}.day.cost_usd"), d.cost_usd, stamp, step),
            (metric_key(f"{prefix}.day.tool_calls"), float(d.tool_calls), stamp, step),
            (metric_key(f"{prefix}.day.violating_calls"), float(d.violating_calls), stamp, step),
        ]
    return out


def log_audit(
    report: AuditReport, *, tracking_uri: str, artifact_root: Path | None, artifacts: Sequence[Path] = ()
) -> dict[str, str]:
    """Log the audit as one run; returns its tracking ids (recorded in the report)."""
    try:
        return _log(report, tracking_uri, artifact_root, artifacts)
    except CouldNotFinish:
        raise
    except Exception as exc:  # mlflow raises MlflowException, requests and sqlalchemy errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CouldNotFinish(
            f"could not log the audit to MLflow at {tracking_uri}: {first}",
            hint="the reports were written; rerun with --no-track, or check --tracking-uri",
        ) from exc


def _log(
    report: AuditReport, tracking_uri: str, artifact_root: Path | None, artifacts: Sequence[Path]
) -> dict[str, str]:
    from mlflow.entities import Metric

    client = TrackingClient(tracking_uri)
    experiment_id = client.experiment(EXPERIMENT, artifact_root)
    card = report.scorecard
    run = client.run(
        experiment_id,
        report.id,
        {
            "guardrail.audit_id": report.id,
            "guardrail.version": report.guardrail_version,
            "guardrail.hash.policies": report.policy_hash,
            "guardrail.roster": report.roster,
            "guardrail.engine": report.engine,
            "guardrail.verdict": "pass" if report.passed else "fail",
        },
    )
    client.log(
        run,
        params={
            "since": card.since.isoformat() if card.since else "",
            "until": card.until.isoformat() if card.until else "",
            "inputs": ",".join(report.inputs)[:500],
            "roster": report.roster,
        },
        metrics=audit_metrics(report),
        tags={},
    )
    series = [s for a in card.agents for s in _day_series(f"agent.{a.agent}", a.days)]
    series += [s for o in card.offices for s in _day_series(f"office.{o.office}", o.days)]
    now = int(time.time() * 1000)
    for start in range(0, len(series), 1000):
        client.client.log_batch(
            run, metrics=[Metric(k, v, ts or now, step) for k, v, ts, step in series[start : start + 1000]]
        )
    for path in artifacts:
        client.artifact(run, path)
    client.finish(run)
    return {"tracking_uri": tracking_uri, "experiment_id": experiment_id, "experiment": EXPERIMENT, "run_id": run}


__all__ = ["EXPERIMENT", "audit_metrics", "log_audit"]
