"""What an audit leaves behind: `reports/<audit-id>/` (audit.json, audit.md, audit.html), an MLflow run, and the
gate's output formats for CI (text, json, junit, sarif, github, markdown; `renderers`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from guardrail.core.audit import AuditReport
from guardrail.core.findings import FindingsDoc
from guardrail.errors import ConfigError
from guardrail.report.formats import Renderers

REPORT_FILES = ("audit.json", "audit.md", "audit.html")
Render = Callable[[AuditReport], str]


def render_json(report: AuditReport) -> str:
    """`{"findings": [...], "scorecard": {...}, ...}`: findings carry rule, agent, msg, severity, controls,
    trace_id and span_id."""
    payload = report.model_dump(mode="json")
    ordered = {"findings": payload.pop("findings"), "scorecard": payload.pop("scorecard")}
    ordered["passed"] = report.passed
    ordered["summary"] = {
        "blocking": report.blocking,
        "warnings": sum(f.kind == "warn" and f.waiver is None for f in report.findings),
        "waived": sum(f.waiver is not None for f in report.findings),
        "waivers_expired": sum(f.waiver_expired is not None for f in report.findings),
        "not_listed": report.not_listed,
    }
    return json.dumps({**ordered, **payload}, indent=2) + "\n"


def summary_lines(report: AuditReport, folder: Path | None = None) -> list[str]:
    card = report.scorecard
    window = (
        f"{card.first_event:%Y-%m-%d %H:%M}Z to {card.last_event:%Y-%m-%d %H:%M}Z" if card.first_event else "no events"
    )
    lines = [
        f"{card.events} event(s): {card.tool_calls} tool call(s), {card.model_calls} model call(s) by "
        f"{len(card.agents)} agent(s) ({window}) from {len(report.inputs)} file(s)",
    ]
    if card.outside_window:
        lines.append(f"{card.outside_window} event(s) outside --since/--until were skipped")
    for label, count in sorted(report.not_listed.items()):
        lines.append(f"{count} more finding(s) for {label} not listed (counted in the verdict)")
    if folder is not None:
        lines.append(f"scorecard and reports: {folder}")
    if report.tracking:
        lines.append(f"MLflow run {report.tracking.get('run_id')} in {report.tracking.get('experiment')}")
    return lines


def findings_doc(report: AuditReport, folder: Path | None = None) -> FindingsDoc:
    return FindingsDoc(
        title="audit",
        subject=", ".join(report.inputs) if len(report.inputs) <= 3 else f"{len(report.inputs)} trace files",
        passed=report.passed,
        findings=list(report.findings),
        rules=report.rules,
        subjects=[a.agent for a in report.scorecard.agents],
        notes=summary_lines(report, folder),
    )


def renderers(folder: Path | None = None) -> Renderers[AuditReport]:
    """The findings formats over the audit's findings (their notes name `folder`); JSON is the whole report."""
    return Renderers.of_findings(lambda report: findings_doc(report, folder), json=render_json)


def write_reports(
    report: AuditReport, folder: Path, *, tracking_uri: str | None, artifact_root: Path | None
) -> list[Path]:
    """Write the report files, then log them to MLflow (when a tracking URI is given); the report records the run."""
    from guardrail.report.audit_html import render_audit_html
    from guardrail.report.audit_markdown import render_audit_markdown

    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / name for name in REPORT_FILES]
        _write(report, folder, render_audit_markdown, render_audit_html)
        if tracking_uri is not None:
            from guardrail.adapters.mlflow_audit import log_audit

            report.tracking = log_audit(report, tracking_uri=tracking_uri, artifact_root=artifact_root, artifacts=paths)
            _write(report, folder, render_audit_markdown, render_audit_html)  # now with the run's ids
    except OSError as exc:
        raise ConfigError(f"cannot write the audit report: {exc.strerror}", path=str(folder), field="--out") from None
    return paths


def _write(report: AuditReport, folder: Path, markdown: Render, html: Render) -> None:
    (folder / "audit.json").write_text(render_json(report), encoding="utf-8")
    (folder / "audit.md").write_text(markdown(report), encoding="utf-8")
    (folder / "audit.html").write_text(html(report), encoding="utf-8")


__all__ = ["REPORT_FILES", "findings_doc", "render_json", "renderers", "summary_lines", "write_reports"]
