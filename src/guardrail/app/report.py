"""Turn a stored run into its verdict and reports: statistics, the gate policy's decision, files, MLflow.

`build_reports` reads only the run folder (run.json, results.jsonl, transcripts.jsonl) and the project's
policies, so `guardrail report RUN_ID` rebuilds everything without a model call; it never imports litellm.
The gate decision comes from `data.gate.eval.decision`, evaluated in the policy worker (a time limit, and a
crash cannot take the CLI down). Files are written first; MLflow logging comes last and adds its run ids to
summary.json, so a tracking failure never costs the user their report.
"""

from __future__ import annotations

import contextlib
import csv
import platform
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guardrail.adapters import files
from guardrail.adapters.journal import RESULTS_FILE, TRANSCRIPTS_FILE, read_rows, write_json_atomic
from guardrail.adapters.loading import load_json, parse_json, schema_error
from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, UNDEFINED
from guardrail.app.engine import load_policies, open_engine
from guardrail.app.evidence import write_evidence
from guardrail.core.comparison import AnalysisSet, compare, completeness
from guardrail.core.counts import count_rows
from guardrail.core.gate_input import gate_input, read_decision
from guardrail.core.hashing import policies_hash
from guardrail.core.measurement import all_candidate_stats, mark_pareto_front
from guardrail.core.metrics import resolved_thresholds
from guardrail.core.recommend import recommend
from guardrail.core.results import ResultRow, RunManifest
from guardrail.core.run_report import ReportOutcome
from guardrail.core.stats import special
from guardrail.core.summary import Provenance, Summary, judge_stats
from guardrail.errors import ConfigError, CouldNotFinish, PolicyError
from guardrail.project import Project

GATE_QUERY = "data.gate.eval.decision"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
CSV_FILE = "results.csv"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"
MAX_TRANSCRIPTS = 40  # violation transcripts embedded in the HTML report (the rest stay in transcripts.jsonl)
_VERSIONED = ("numpy", "scipy", "pydantic", "gordon-to-regorus", "mlflow")


def read_manifest(run_dir: Path) -> RunManifest:
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise ConfigError(
            "not a run folder: run.json is missing", path=str(run_dir), hint="pass a RUN_ID under reports/"
        )
    try:
        return RunManifest.model_validate(load_json(path))
    except ValidationError as exc:
        raise schema_error(exc, path=str(path)) from None


def read_violation_transcripts(run_dir: Path, rows: list[ResultRow]) -> dict[str, list[dict[str, Any]]]:
    """Transcripts of rows with policy violations, per candidate (at most MAX_TRANSCRIPTS in all)."""
    wanted = {(r.suite, r.task_id, r.candidate, r.repeat) for r in rows if r.violations}
    out: dict[str, list[dict[str, Any]]] = {}
    path = run_dir / TRANSCRIPTS_FILE
    if not wanted or not path.is_file():
        return out
    kept = 0
    for _, line in files.iter_lines(path):  # guarded: a run folder handed to `report` is input too
        if kept >= MAX_TRANSCRIPTS:
            break
        try:
            record = parse_json(line, str(path))
        except ConfigError:
            continue  # a torn last line after a kill (or a damaged one): that transcript is not shown
        if not isinstance(record, dict):
            continue
        key = (record.get("suite"), record.get("task_id"), record.get("candidate"), record.get("repeat", 0))
        if all(isinstance(part, str | int) for part in key) and key in wanted:
            out.setdefault(str(record["candidate"]), []).append(record)
            kept += 1
    return out


def decide(
    project: Project, document: dict[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S, opa_url: str | None = None
) -> Any:
    """Ask the gate policy. A project without `package gate.eval` is an input error, not a silent pass."""
    bundle = load_policies(project.policies, display_root=project.root)
    engine = open_engine(bundle, timeout_s=timeout_s, opa_url=opa_url)
    with contextlib.closing(engine):
        if "data.gate.eval" not in {f"data.{p}" if not p.startswith("data.") else p for p in engine.packages()}:
            raise PolicyError(
                f"{project.display(project.policies)}: no gate policy (package gate.eval)",
                hint="copy policies/gate/eval.rego from the guardrail repository",
            )
        answer = engine.query(GATE_QUERY, document)
    return None if answer is UNDEFINED else answer


def prefetch_statistics() -> None:
    """Import what the statistics need (numpy, scipy.special) in a daemon thread; `analyse` then finds them
    loaded, or waits on the import lock for the rest. A failed import is left for `analyse` to raise."""

    def load() -> None:
        with contextlib.suppress(Exception):
            special()

    threading.Thread(target=load, name="guardrail-statistics-import", daemon=True).start()


@cache
def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def analyse(
    manifest: RunManifest,
    rows: list[ResultRow],
    project: Project,
    *,
    policy_timeout_s: float = DEFAULT_TIMEOUT_S,
    opa_url: str | None = None,
) -> Summary:
    """Statistics, comparison, the gate's decision and the recommendation, as one record."""
    return summarise(
        manifest,
        rows,
        lambda document: decide(project, document, timeout_s=policy_timeout_s, opa_url=opa_url),
        gate_policy_hash=policies_hash(project.policies),
    )


def summarise(
    manifest: RunManifest,
    rows: list[ResultRow],
    ask: Callable[[dict[str, Any]], Any],
    *,
    gate_policy_hash: str | None,
) -> Summary:
    """`analyse` with the gate policy behind `ask` (document -> answer), so the validity tests can run thousands of
    runs through one in-process engine."""
    if not rows:
        raise CouldNotFinish(f"run {manifest.run_id} has no results to compare", hint="resume or re-run it")
    ids = [c.id for c in manifest.candidates]
    simulated = {c.id for c in manifest.candidates if c.simulated}
    stats = [
        s.model_copy(update={"simulated": s.simulated or s.candidate in simulated})
        for s in all_candidate_stats(rows, ids)
    ]
    margin = manifest.thresholds.get("noninferiority_margin")
    analysis = AnalysisSet(tasks=manifest.task_count, repeats=manifest.repeats, status=manifest.status)
    comparisons = compare(
        rows, manifest.baseline, ids, margin=float(margin) if margin is not None else None, analysis=analysis
    )
    document = gate_input(
        stats,
        comparisons,
        thresholds=manifest.thresholds,
        baseline=manifest.baseline,
        proposed=manifest.proposed,
        max_error_rate=manifest.max_error_rate,
        incomplete=completeness(rows, [s.candidate for s in stats], analysis),
    )
    gate = read_decision(ask(document), stats, document, proposed=manifest.proposed)
    stats = mark_pareto_front(stats, {v.candidate for v in gate.verdicts if v.passed})
    recommendation = recommend(manifest.agent, stats, gate, comparisons, current_model=manifest.current_model)
    provenance = Provenance(
        run_id=manifest.run_id,
        eval_name=manifest.eval_name,
        eval_path=manifest.eval_path,
        agent=manifest.agent,
        hashes=manifest.hashes,
        suites=manifest.suites,
        gate_policy_hash=gate_policy_hash,
        guardrail_version=manifest.guardrail_version,
        git_commit=manifest.git_commit,
        versions=_versions(),
        run_started_at=manifest.started_at,
        run_finished_at=manifest.finished_at,
        run_status=manifest.status,
        generated_at=datetime.now(UTC),
    )
    return Summary(
        provenance=provenance,
        counts=count_rows(rows),
        baseline=manifest.baseline,
        proposed=manifest.proposed,
        current_model=manifest.current_model,
        thresholds=resolved_thresholds(manifest.thresholds),
        analysis=analysis,
        candidates=stats,
        comparisons=comparisons,
        gate=gate,
        recommendation=recommendation,
        judge=judge_stats(rows, ids),  # optional LLM-judge metrics: reported, not gated
        judge_model=manifest.judge_model,
    )


CSV_COLUMNS = (
    "run_id", "suite", "task_id", "candidate", "simulated", "repeat", "status", "failed_checks", "decision",
    "favourable", "cf_group", "cf_attribute", "cf_value", "template", "violations", "violation_rules", "steps",
    "model_calls", "cache_hits", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "error_kind",
    "error",
)  # fmt: skip


def write_csv(path: Path, rows: list[ResultRow]) -> None:
    """The results table: one line per (task, candidate, repeat); one column per slice key and per judge metric
    (its score; empty when unscored). Judge checks are not among `failed_checks`: they never decide the status."""
    slice_keys = sorted({k for r in rows for k in r.slice})
    judged = sorted({c.name for r in rows for c in r.checks if c.name.startswith("judge:")})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CSV_COLUMNS, *(f"slice.{k}" for k in slice_keys), *judged])
        for r in rows:
            values = {
                **r.model_dump(include=set(CSV_COLUMNS)),
                "failed_checks": ";".join(c.name for c in r.checks if not c.passed and not c.name.startswith("judge:")),
                "violations": len(r.violations),
                "violation_rules": ";".join(sorted({v.rule for v in r.violations})),
            }
            writer.writerow(
                [("" if values.get(c) is None else values[c]) for c in CSV_COLUMNS]
                + [r.slice.get(k, "") for k in slice_keys]
                + [_judge_score(r, name) for name in judged]
            )


def _judge_score(row: ResultRow, name: str) -> str:
    score = next((c.score for c in row.checks if c.name == name), None)
    return "" if score is None else f"{score:.4g}"


def write_documents(run_dir: Path, summary: Summary, transcripts: dict[str, list[dict[str, Any]]]) -> dict[str, Path]:
    from guardrail.report.html import render_html
    from guardrail.report.markdown import render_markdown

    files = {
        "summary": run_dir / SUMMARY_FILE,
        "markdown": run_dir / MARKDOWN_FILE,
        "html": run_dir / HTML_FILE,
    }
    write_json_atomic(files["summary"], summary.model_dump(mode="json"))
    files["markdown"].write_text(render_markdown(summary), encoding="utf-8")
    files["html"].write_text(render_html(summary, transcripts), encoding="utf-8")
    return files


def build_reports(
    run_dir: Path,
    *,
    track: bool,
    tracking_uri: str | None,
    project: Project | None = None,
    policy_timeout_s: float = DEFAULT_TIMEOUT_S,
    opa_url: str | None = None,
) -> ReportOutcome:
    """Compute everything for one run and write summary.json, results.csv, report.md, report.html; track."""
    run_dir = run_dir.resolve()
    manifest = read_manifest(run_dir)
    if not (run_dir / RESULTS_FILE).is_file():
        raise ConfigError("no results.jsonl in this run folder", path=str(run_dir))
    rows = read_rows(run_dir / RESULTS_FILE)
    project = project or Project.find(run_dir)
    summary = analyse(manifest, rows, project, policy_timeout_s=policy_timeout_s, opa_url=opa_url)
    transcripts = read_violation_transcripts(run_dir, rows)
    csv_path = run_dir / CSV_FILE
    write_csv(csv_path, rows)
    files = {"csv": csv_path, **write_documents(run_dir, summary, transcripts)}
    if track:
        from guardrail.adapters.mlflow_store import log_comparison

        local = tracking_uri is None
        tracking = log_comparison(
            summary,
            rows,
            tracking_uri=tracking_uri or project.mlflow_uri,
            artifact_root=project.mlflow_artifacts if local else None,
            artifacts=[files["csv"], files["summary"], files["markdown"], files["html"]],
            write_table=write_csv,
        )
        summary = summary.model_copy(update={"tracking": tracking})
        # each verdict carries its MLflow child run id: the evidence records cite it
        summary = summary.model_copy(update={"gate": summary.gate.model_copy(update={"verdicts": summary.verdicts()})})
        files.update(write_documents(run_dir, summary, transcripts))
    # last, so each record can cite its MLflow run; the CI gate checks these (see app/evidence.py). A run kept
    # outside the project's reports folder (`run --out DIR`) keeps its evidence in its own folder too.
    in_project = run_dir.parent == project.reports.resolve()
    shared = project.evidence if in_project else run_dir / "evidence"
    evidence = write_evidence(run_dir, manifest, summary.gate, summary.tracking, project_evidence=shared)
    return ReportOutcome(run_dir=run_dir, summary=summary, files=files, evidence=evidence)


def find_run(run_id: str, reports: Path | None = None) -> Path:
    """A run folder from its id (under the reports folder) or a path to it."""
    as_path = Path(run_id)
    if (as_path / RUN_FILE).is_file():
        return as_path
    root = reports or Project.find().reports
    candidate = root / run_id
    if (candidate / RUN_FILE).is_file():
        return candidate
    known = sorted(p.name for p in root.iterdir() if (p / RUN_FILE).is_file()) if root.is_dir() else []
    hint = f"runs here: {', '.join(known[-5:])}" if known else f"no runs under {root}"
    hint += "; or pass the run folder itself, or --reports DIR"
    raise ConfigError(f"run {run_id!r} not found", path=str(root), hint=hint)


__all__ = [
    "GATE_QUERY",
    "analyse",
    "build_reports",
    "decide",
    "find_run",
    "prefetch_statistics",
    "read_manifest",
    "summarise",
    "write_csv",
]
