"""The exact command that produces the evidence a model switch lacks, as the gate prints it in a fix.

The command runs the agent's official spec (from the trusted tree) with its baseline beside the candidate:
non-inferiority is judged against the baseline on the same tasks. When the gate checks signatures, the command
carries the key from the environment (never the key itself), so running it as printed writes signed evidence, or
stops with a message when the key is not set. When the checkout's spec, suites or policies differ from the base's
(the trusted versions evidence is bound to), no run in this checkout can satisfy the gate, and the fix says so.
"""

from __future__ import annotations

from collections.abc import Callable

from guardrail.app.eval_specs import EvalSpecs, candidate_ids
from guardrail.core.evidence import EVIDENCE_KEY_ENV

# `${VAR:?msg}`: the shell stops with msg when VAR is unset or empty, so an unsigned run cannot happen by accident
KEY_PREFIX = f'{EVIDENCE_KEY_ENV}="${{{EVIDENCE_KEY_ENV}:?set it to the evidence key the gate checks}}" '


class FixCommands:
    def __init__(self, specs: EvalSpecs, *, signed: bool, drift: Callable[[str], list[str]] | None = None) -> None:
        self.specs, self.signed, self.drift = specs, signed, drift

    def command(self, spec_path: str, model: str) -> str:
        spec = self.specs.spec(spec_path) or {}
        baseline = spec.get("baseline")
        models = [baseline, model] if isinstance(baseline, str) and baseline != model else [model]
        prefix = KEY_PREFIX if self.signed else ""
        return f"{prefix}guardrail run {spec_path} --candidates {','.join(models)}"

    def __call__(self, agent: str, model: str, official: str | None, problem: str | None) -> str:
        if official is None:
            prefix = KEY_PREFIX if self.signed else ""
            return (
                f"{problem or f'{agent} has no official eval spec'}: write one under evals/ (agent: {agent}, "
                f"candidates including {model}) and land it, then: {prefix}guardrail run evals/<name>.yaml "
                f"--candidates {model}"
            )
        command = self.command(official, model)
        if model not in candidate_ids(self.specs.spec(official)):
            return (
                f"add {model} to the candidates of the official spec {official} and land that on its own, "
                f"then: {command}"
            )
        drift = self.drift(official) if self.drift else []
        if drift:
            return (
                f"this checkout's {', '.join(drift)} differ from the base's, and evidence counts only when made on "
                f"the base's versions: rebase, or land your edits to them on their own first, then: {command}"
            )
        return command


__all__ = ["KEY_PREFIX", "FixCommands"]
