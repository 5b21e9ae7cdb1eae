"""Render a FindingsDoc as text, JSON, JUnit, SARIF, GitHub annotations or markdown (`FINDINGS`, the registry
roster check, the gate, the audit and policy test's machine formats build on; report/formats.py).

Formatters only format: whether the command passed is decided before, from the findings (Conftest's rule). A
waived finding shows as waived in every format (JUnit skipped, SARIF suppressed, no annotation); a finding whose
waiver expired blocks again and says since when.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from guardrail import __version__
from guardrail.core.findings import Finding, FindingsDoc
from guardrail.report.formats import Format, Renderers

_SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def _label(finding: Finding) -> str:
    if finding.waiver is not None:
        return "WAIVED"
    return "DENY" if finding.kind == "deny" else "WARN"


def _expired(finding: Finding) -> str | None:
    """"waiver by X expired on D", for a finding an expired waiver no longer suppresses."""
    w = finding.waiver_expired
    return None if w is None or finding.waiver is not None else f"waiver by {w.approver} expired on {w.expires}"


def _counts(doc: FindingsDoc) -> str:
    deny = [f for f in doc.findings if f.blocking]
    warn = [f for f in doc.findings if f.kind == "warn" and f.waiver is None]
    waived = [f for f in doc.findings if f.waiver is not None]
    agents = {f.agent for f in deny}
    parts = [f"{len(deny)} blocking finding(s)" + (f" in {len(agents)} subject(s)" if deny else "")]
    parts += [f"{len(warn)} warning(s)", f"{len(waived)} waived"]
    return ", ".join(parts)


def render_text(doc: FindingsDoc) -> str:
    lines = [f"{doc.tool} {doc.title}: {doc.subject}"]
    by_subject: dict[str | None, list[Finding]] = {}
    for finding in doc.findings:
        by_subject.setdefault(finding.agent, []).append(finding)
    subjects: list[str | None] = list(dict.fromkeys([*doc.subjects, *by_subject]))
    for subject in subjects:
        found = by_subject.get(subject, [])
        mark = "x" if any(f.blocking for f in found) else ("!" if found else "ok")
        where = found[0].location if found and found[0].location else None
        name = subject if subject is not None else "(roster)"
        lines.append(f"{mark:>2} {name}" + (f"  ({where})" if where else ""))
        for f in found:
            lines.append(f"     {_label(f):<6} {f.rule} [{f.severity}] {f.msg}")
            if f.controls:
                lines.append(f"            controls: {', '.join(f.controls)}")
            if f.waiver is not None:
                w = f.waiver
                lines.append(f"            waived by {w.approver} until {w.expires}: {w.reason}")
            elif expired := _expired(f):
                lines.append(f"            {expired}: no longer suppresses this")
    lines.extend(doc.notes)
    lines.append(f"{'PASSED' if doc.passed else 'FAILED'}: {_counts(doc)}")
    return "\n".join(lines) + "\n"


def findings_payload(doc: FindingsDoc) -> dict[str, Any]:
    """The JSON document: the record plus counts (a command adds its own keys to it, e.g. the gate's report)."""
    payload = doc.model_dump(mode="json")
    payload["summary"] = {
        "blocking": sum(f.blocking for f in doc.findings),
        "warnings": sum(f.kind == "warn" and f.waiver is None for f in doc.findings),
        "waived": sum(f.waiver is not None for f in doc.findings),
        "waivers_expired": sum(_expired(f) is not None for f in doc.findings),
    }
    return payload


def render_json(doc: FindingsDoc) -> str:
    return json.dumps(findings_payload(doc), indent=2) + "\n"


def render_junit(doc: FindingsDoc) -> str:
    """One testcase per subject without findings and per (subject, rule) finding; deny = failure, warn = passed
    with output, waived = skipped with the waiver as the reason."""
    suite = ET.Element("testsuite", name=f"{doc.tool} {doc.title}")
    failures = skipped = tests = 0
    flagged = {f.agent for f in doc.findings}
    for subject in doc.subjects:
        if subject not in flagged:
            ET.SubElement(suite, "testcase", classname=doc.title, name=subject)
            tests += 1
    for f in doc.findings:
        case = ET.SubElement(suite, "testcase", classname=doc.title, name=f"{f.agent or '(roster)'}: {f.rule}")
        if f.location is not None:
            case.set("file", f.location.path)
            if f.location.line is not None:
                case.set("line", str(f.location.line))
        tests += 1
        body = f"{f.msg}\nseverity: {f.severity}\ncontrols: {', '.join(f.controls)}\nat: {f.location}"
        if expired := _expired(f):
            body += f"\n{expired}"
        if f.waiver is not None:
            ET.SubElement(case, "skipped", message=f"waived by {f.waiver.approver} until {f.waiver.expires}")
            skipped += 1
        elif f.kind == "deny":
            failure = ET.SubElement(case, "failure", message=f.msg, type=f.rule)
            failure.text = body
            failures += 1
        else:
            ET.SubElement(case, "system-out").text = f"warning: {body}"
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites", name=doc.tool, tests=str(tests), failures=str(failures), errors="0")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_sarif(doc: FindingsDoc) -> str:
    """SARIF 2.1.0 for code scanning: each finding points at the roster line of its subject."""
    rules: dict[str, dict[str, object]] = {}
    for rule in doc.rules:
        rule_id = str(rule.get("id"))
        severity = str(rule.get("severity") or "medium")
        rules[rule_id] = {
            "id": rule_id,
            "name": rule_id.replace(".", "_"),
            "shortDescription": {"text": str(rule.get("title") or rule_id)},
            "fullDescription": {"text": str(rule.get("description") or rule.get("title") or rule_id)},
            "defaultConfiguration": {"level": _SARIF_LEVEL.get(severity, "warning")},
            "properties": {
                "tags": [str(c) for c in rule.get("controls") or []],  # type: ignore[attr-defined]
                "security-severity": _SECURITY_SEVERITY.get(severity, "5.5"),
            },
        }
    results = []
    for f in doc.findings:
        if f.rule not in rules:
            rules[f.rule] = {
                "id": f.rule,
                "shortDescription": {"text": f.title or f.rule},
                "properties": {"tags": list(f.controls)},
            }
        result: dict[str, object] = {
            "ruleId": f.rule,
            "level": "warning" if f.kind == "warn" else _SARIF_LEVEL.get(f.severity, "error"),
            "message": {"text": f"{f.agent}: {f.msg}" if f.agent else f.msg},
            "properties": {"severity": f.severity, "controls": list(f.controls), "kind": f.kind},
        }
        if expired := _expired(f):
            result["properties"]["waiver_expired"] = expired  # type: ignore[index]
        for key in ("trace_id", "span_id"):  # audit findings: the trace and span an auditor opens
            if getattr(f, key, None):
                result["properties"][key] = getattr(f, key)  # type: ignore[index]
        if f.location is not None:
            region = {"startLine": f.location.line or 1}
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": {"uri": f.location.path}, "region": region}}
            ]
        if f.waiver is not None:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "justification": f"{f.waiver.reason} (approved by {f.waiver.approver}, expires {f.waiver.expires})",
                }
            ]
        results.append(result)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": doc.tool,
                        "version": __version__,
                        "informationUri": "https://github.com/guardrail-dev/guardrail",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _gh_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def render_github(doc: FindingsDoc) -> str:
    """Workflow commands: an annotation on the roster line of each finding, then a plain summary."""
    lines = []
    for f in doc.findings:
        if f.waiver is not None:
            continue
        level = "error" if f.blocking else "warning"
        props = []
        if f.location is not None:
            props.append(f"file={_gh_escape(f.location.path, prop=True)}")
            if f.location.line:
                props.append(f"line={f.location.line}")
        title = f"{f.rule} ({f.severity})" + (f" {f.agent}" if f.agent else "")
        props.append(f"title={_gh_escape(title, prop=True)}")
        controls = f" [controls: {', '.join(f.controls)}]" if f.controls else ""
        expired = f" ({_expired(f)})" if _expired(f) else ""
        lines.append(f"::{level} {','.join(props)}::{_gh_escape(f.msg + controls + expired)}")
    lines.append(f"{doc.tool} {doc.title}: {'PASSED' if doc.passed else 'FAILED'}: {_counts(doc)}")
    return "\n".join(lines) + "\n"


def render_markdown(doc: FindingsDoc) -> str:
    verdict = "✅ passed" if doc.passed else "❌ failed"
    lines = [f"### {doc.tool} {doc.title}: {verdict}", "", f"`{doc.subject}` — {_counts(doc)}", ""]
    if doc.findings:
        lines += ["| | Subject | Rule | Severity | Finding | Controls | Where |", "|---|---|---|---|---|---|---|"]
        for f in doc.findings:
            icon = {"DENY": "❌", "WARN": "⚠️", "WAIVED": "➖"}[_label(f)]
            expired = f" ({_expired(f)})" if _expired(f) else ""
            cells = [
                icon,
                f.agent or "(roster)",
                f.rule,
                f.severity,
                f.msg + expired,
                ", ".join(f.controls),
                str(f.location or ""),
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    lines += ["", *doc.notes]
    return "\n".join(lines).rstrip() + "\n"


FINDINGS: Renderers[FindingsDoc] = Renderers(
    {
        Format.TEXT: render_text,
        Format.JSON: render_json,
        Format.JUNIT: render_junit,
        Format.SARIF: render_sarif,
        Format.GITHUB: render_github,
        Format.MARKDOWN: render_markdown,
    }
)


__all__ = [
    "FINDINGS",
    "findings_payload",
    "render_github",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "render_text",
]
