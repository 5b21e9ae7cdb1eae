"""Render a policy TestReport as text (like `opa test -v` with coverage), JSON or JUnit, and as SARIF, GitHub
annotations or markdown through the findings renderers: a failing test, or a file under --fail-under, is a finding
at its line (`POLICY_TESTS`)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from guardrail.core.findings import Finding, FindingsDoc, Location
from guardrail.core.policy_tests import TestReport
from guardrail.report.formats import Renderers


def _counts(report: TestReport) -> str:
    passed, failed, errors = (sum(o.status == s for o in report.outcomes) for s in ("pass", "fail", "error"))
    return f"{passed} passed, {failed} failed" + (f", {errors} errors" if errors else "")


def render_text(report: TestReport, *, verbose: bool = True) -> str:
    lines: list[str] = []
    for outcome in report.outcomes:
        if verbose or outcome.status != "pass":
            mark = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}[outcome.status]
            detail = f" ({outcome.message})" if outcome.message and outcome.status != "pass" else ""
            lines.append(
                f"{mark:<5} {outcome.location}: {outcome.package}.{outcome.name}{detail}  {outcome.duration_ms:.1f}ms"
            )
            lines.extend(f"        print: {p}" for p in outcome.prints)
    if report.coverage_enabled:
        lines.append("")
        lines.append("coverage:")
        for item in report.coverage:
            missing = ""
            if item.uncovered_lines:
                missing = "  not covered: " + ",".join(str(n) for n in item.uncovered_lines[:20])
                missing += " ..." if len(item.uncovered_lines) > 20 else ""
            lines.append(f"  {item.percent:6.1f}%  {item.path}{missing}")
        lines.append(f"  {report.total_coverage:6.1f}%  total")
    lines.append("")
    lines.append(_counts(report))
    for item in report.files_below:
        lines.append(f"coverage of {item.path} {item.percent:.1f}% is below --fail-under {report.fail_under:g}%")
    if report.coverage_too_low and not report.per_file:
        lines.append(f"coverage {report.total_coverage:.1f}% is below --fail-under {report.fail_under:g}%")
    return "\n".join(lines) + "\n"


def render_json(report: TestReport) -> str:
    payload = report.model_dump(mode="json")
    payload["summary"] = {
        "passed": sum(o.status == "pass" for o in report.outcomes),
        "failed": sum(o.status == "fail" for o in report.outcomes),
        "errors": sum(o.status == "error" for o in report.outcomes),
        "coverage": round(report.total_coverage, 2) if report.coverage_enabled else None,
        "ok": report.ok,
    }
    return json.dumps(payload, indent=2) + "\n"


def render_junit(report: TestReport) -> str:
    root = ET.Element("testsuites", name="guardrail policy test")
    suites: dict[str, ET.Element] = {}
    for outcome in report.outcomes:
        suite = suites.get(outcome.package)
        if suite is None:
            suite = suites[outcome.package] = ET.SubElement(root, "testsuite", name=outcome.package)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=outcome.package,
            name=outcome.name,
            file=outcome.location.path,
            line=str(outcome.location.line or 0),
            time=f"{outcome.duration_ms / 1000:.6f}",
        )
        if outcome.status == "fail":
            ET.SubElement(case, "failure", message=outcome.message or "failed").text = str(outcome.location)
        elif outcome.status == "error":
            ET.SubElement(case, "error", message=outcome.message or "error").text = str(outcome.location)
    for suite in suites.values():
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    root.set("tests", str(len(report.outcomes)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def test_findings(report: TestReport) -> FindingsDoc:
    """The report as findings: each failing or erroring test at its line, each policy file (or the total) under
    --fail-under; passing tests are the subjects that show no finding."""
    findings = [
        Finding(
            rule=f"{o.package}.{o.name}",
            kind="deny",
            msg=f"{o.status}: {o.message}" if o.message else o.status,
            severity="high",
            policy=o.package,
            location=o.location,
        )
        for o in report.failed
    ]
    below = report.files_below if report.per_file else []
    findings += [
        Finding(
            rule="coverage",
            kind="deny",
            msg=f"coverage {item.percent:.1f}% is below --fail-under {report.fail_under:g}%",
            location=Location(path=item.path, line=item.uncovered_lines[0] if item.uncovered_lines else 1),
        )
        for item in below
    ]
    if report.coverage_too_low and not report.per_file:
        msg = f"coverage {report.total_coverage:.1f}% is below --fail-under {report.fail_under:g}%"
        findings.append(Finding(rule="coverage", kind="deny", msg=msg))
    return FindingsDoc(
        title="policy test",
        subject=report.directory,
        passed=report.ok,
        findings=findings,
        subjects=[f"{o.package}.{o.name}" for o in report.outcomes if o.status == "pass"],
        notes=[_counts(report) + (f"; coverage {report.total_coverage:.1f}%" if report.coverage_enabled else "")],
    )


POLICY_TESTS: Renderers[TestReport] = Renderers.of_findings(
    test_findings, text=render_text, json=render_json, junit=render_junit
)


__all__ = ["POLICY_TESTS", "render_json", "render_junit", "render_text", "test_findings"]
