"""What a run redacts, and where: once, as each task finishes, before anything is written.

Every record a run writes is derived from the rows and transcripts in its journal (results.jsonl,
transcripts.jsonl) and from run.json: the CSV, summary.json, the markdown and HTML reports, the MLflow artifacts and
the evidence records. So redacting those at rest, where the replay hands each outcome to the journal, covers every
output, and `guardrail report RUN_ID` rebuilds from data that was never stored in clear. The one exception is the
response cache (.guardrail/cache/): it holds the models' raw answers, because a cached replay must score exactly
as a live one (an expected tool argument can itself be an email address); it is created readable by its owner only,
and `--no-cache` runs without it.

A run redacts the built-in kinds (emails, phone numbers, payment cards, credentials), every roster data class of
`sensitivity: high` (its `fields` and `patterns`), and what the eval spec's and each suite's `redact:` name.
"""

from __future__ import annotations

from typing import Any

from guardrail.adapters.suites import LoadedEval
from guardrail.app.agent_loop import TaskOutcome
from guardrail.core.redact import Redactor
from guardrail.core.redaction_rules import RedactionRules
from guardrail.core.suite import Task


def run_redactor(loaded: LoadedEval) -> Redactor:
    """The redactor for one run of `loaded` (the loader checked every data class name it uses)."""
    classes = loaded.roster.roster.data_classes
    high = RedactionRules(data_classes=[name for name, c in classes.items() if c.sensitivity == "high"])
    rules = high.merged(loaded.spec.redact, *(suite.tools.redact for suite in loaded.suites))
    return Redactor.default().with_rules(rules, classes)


def redact_outcome(outcome: TaskOutcome, redactor: Redactor, task: Task) -> TaskOutcome:
    """The row's free text (check details, violation messages, the error) and the whole transcript, redacted in one
    pass with the task's stubbed tool results: a sensitive field's value there (a customer's name) is caught
    wherever the task or the model repeats it, whether or not the model called that tool."""
    row = outcome.row
    text: dict[str, Any] = {
        "tool_results": task.tool_results,
        "transcript": outcome.transcript,
        "details": [check.detail for check in row.checks],
        "violations": [violation.msg for violation in row.violations],
        "error": row.error,
    }
    clean = redactor.value(text)
    checks = zip(row.checks, clean["details"], strict=True)
    violations = zip(row.violations, clean["violations"], strict=True)
    update = {
        "checks": [check.model_copy(update={"detail": detail}) for check, detail in checks],
        "violations": [violation.model_copy(update={"msg": msg}) for violation, msg in violations],
        "error": clean["error"],
    }
    return TaskOutcome(row=row.model_copy(update=update), transcript=clean["transcript"])


__all__ = ["redact_outcome", "run_redactor"]
