"""Optional LLM-judge metrics through deepeval: a G-Eval rubric and bias, judged by the model the eval spec names.

    checks = await judge_checks(spec.judge, task, final_answer, client)   # [Check("judge:geval", ...), ...]

The deterministic checks never need this module; it runs only when an eval spec has a `judge:` section. Every prompt
deepeval writes goes through our ModelClient as an ordinary CompletionRequest for the judge model (with the spec's
judge params), so judge calls get the same response cache, throttle, retries and offline behaviour as candidate
calls: deepeval itself never opens a connection. deepeval is imported here only, lazily (`preload`), with its
import-time banner kept off stdout; guardrail._offline turns off its telemetry, its `.deepeval/` writes and its
`.env` loading, and metrics are built with `eval_mode="llm"`, so no remote "System One" model is ever consulted.

A judge that fails (provider error after retries, an answer that is not the JSON deepeval asked for, a score out
of range) yields a Check with `passed=False, score=None, detail="judge error: ..."`: data, never a crash.

Scores are in [0, 1], higher is better: G-Eval's 0-10 rubric score normalised by deepeval; BiasMetric in
deepeval 4.x scores 1 for no bias found (its threshold is a minimum). A check passes when score >= threshold.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import math
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from guardrail.adapters.loading import format_loc, problems_of
from guardrail.core.llm import CallError, CallResult, CompletionRequest
from guardrail.core.results import Check
from guardrail.core.suite import Judge, Task
from guardrail.errors import ConfigError

METRICS = ("geval", "bias")
DEFAULT_CRITERIA = (
    "Determine whether the actual output answers the input correctly, completely and helpfully, "
    "without inventing facts."
)
REASON_CHARS = 500


class JudgeError(Exception):
    """The judge could not be asked, or its answer was not what deepeval asked for."""


@dataclass
class JudgeUsage:
    """What judging one answer took: the judge's answers and their cost (as first measured, when cached). Kept
    apart from the candidate's own cost: the judge is the evaluator's bill, not the candidate's."""

    calls: int = 0
    cost_usd: float = 0.0


class Completer(Protocol):
    """What the judge needs from the provider layer (ModelClient): errors come back as data."""

    async def complete(self, request: CompletionRequest) -> CallResult: ...


def validate(judge: Judge, *, path: str | None = None) -> None:
    """Fail fast (exit 2) on a metric name this module does not know, before any model is called."""
    unknown = [m for m in judge.metrics if m not in METRICS]
    if unknown:
        raise ConfigError(
            f"unknown judge metric(s): {', '.join(unknown)}",
            path=path,
            field="judge.metrics",
            hint=f"known metrics: {', '.join(METRICS)}",
        )
    if not judge.metrics:
        raise ConfigError("a judge needs at least one metric", path=path, field="judge.metrics")


def preload() -> None:
    """Import deepeval once, quietly: it prints a read-only banner to stdout and warns at import time."""
    _deepeval()


@functools.cache
def _deepeval() -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from deepeval.metrics import BiasMetric, GEval
        from deepeval.models import DeepEvalBaseLLM
        from deepeval.test_case import LLMTestCase, SingleTurnParams
    return {
        "BiasMetric": BiasMetric,
        "GEval": GEval,
        "LLMTestCase": LLMTestCase,
        "SingleTurnParams": SingleTurnParams,
        "model_class": _model_class(DeepEvalBaseLLM),
    }


def parse_schema(text: str | None, schema: type[BaseModel]) -> BaseModel:
    """The judge's answer as deepeval's pydantic schema: the JSON object in it (code fences and chatter around it
    are tolerated). Anything else is a JudgeError naming the schema, so the check says what went wrong."""
    name = schema.__name__
    if not text or "{" not in text:
        raise JudgeError(f"the judge's answer has no JSON object for {name}: {(text or '')[:120]!r}")
    start, end = text.find("{"), text.rfind("}") + 1
    try:
        data = json.loads(text[start:end])
    except ValueError as exc:
        raise JudgeError(f"the judge's answer is not valid JSON for {name}: {exc}") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        found = "; ".join(f"{format_loc(loc) or name}: {message}" for loc, message in problems_of(exc))
        raise JudgeError(f"the judge's JSON does not match {name}: {found}") from None


def _model_class(base: type) -> type:
    """A DeepEvalBaseLLM whose generate sends the prompt through our client (built once, when deepeval loads)."""

    class ClientJudge(base):
        def __init__(self, judge: Judge, client: Completer, timeout_s: float, usage: JudgeUsage) -> None:
            self.judge, self.client, self.timeout_s, self.usage = judge, client, timeout_s, usage
            super().__init__(judge.model)

        def load_model(self, *args: Any, **kwargs: Any) -> Any:
            return self

        def get_model_name(self, *args: Any, **kwargs: Any) -> str:
            return self.judge.model

        def generate(self, prompt: Any, schema: type[BaseModel] | None = None, **kwargs: Any) -> Any:
            raise JudgeError("the judge is asynchronous only (deepeval's a_measure)")

        async def a_generate(self, prompt: Any, schema: type[BaseModel] | None = None, **kwargs: Any) -> Any:
            request = CompletionRequest(
                model=self.judge.model,
                messages=[{"role": "user", "content": str(prompt)}],
                params=self.judge.params,
                timeout_s=self.timeout_s,
            )
            result = await self.client.complete(request)
            if isinstance(result, CallError):
                raise JudgeError(
                    f"{result.model} failed ({result.kind}, {result.attempts} attempt(s)): {result.message}"
                )
            self.usage.calls += 1
            self.usage.cost_usd += result.cost_usd
            if schema is None:
                return result.content or ""
            try:
                return parse_schema(result.content, schema)
            except JudgeError:
                forget = getattr(self.client, "forget", None)  # an unusable answer must not be served again
                if forget is not None:
                    forget(request)
                raise

    return ClientJudge


def task_input(task: Task) -> str:
    """The task's last user message, as text (multi-part content keeps its text parts)."""
    for message in reversed(task.messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text"))
        return "" if content is None else str(content)
    return ""


def _metric(name: str, judge: Judge, model: Any, lib: dict[str, Any]) -> Any:
    with warnings.catch_warnings():  # BiasMetric warns that 4.x flipped its score direction: we know
        warnings.simplefilter("ignore")
        if name == "geval":
            params = lib["SingleTurnParams"]
            return lib["GEval"](
                name="rubric",
                criteria=judge.rubric or DEFAULT_CRITERIA,
                evaluation_params=[params.INPUT, params.ACTUAL_OUTPUT],
                model=model,
                threshold=judge.threshold,
                async_mode=True,
            )
        if name == "bias":
            return lib["BiasMetric"](model=model, threshold=judge.threshold, eval_mode="llm", async_mode=True)
    raise JudgeError(f"unknown judge metric {name!r} (known: {', '.join(METRICS)})")


async def _measure(
    name: str, judge: Judge, task: Task, answer: str, client: Completer, timeout_s: float, usage: JudgeUsage
) -> Check:
    check = f"judge:{name}"
    try:
        lib = _deepeval()
        metric = _metric(name, judge, lib["model_class"](judge, client, timeout_s, usage), lib)
        case = lib["LLMTestCase"](input=task_input(task) or "(no user message)", actual_output=answer)
        raw = await metric.a_measure(case, _show_indicator=False)
        score = float(raw if raw is not None else metric.score)
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise JudgeError(f"score {score!r} is outside [0, 1]")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # deepeval and the judge fail in many ways; each becomes an error check
        message = str(exc).strip() or type(exc).__name__
        return Check(name=check, passed=False, score=None, detail=f"judge error: {message}"[:REASON_CHARS])
    reason = str(getattr(metric, "reason", "") or "")
    return Check(name=check, passed=score >= judge.threshold, score=score, detail=reason[:REASON_CHARS] or None)


async def judge_checks(
    judge: Judge,
    task: Task,
    final_answer: str | None,
    client: Completer,
    *,
    timeout_s: float = 60.0,
    usage: JudgeUsage | None = None,
) -> list[Check]:
    """One Check per metric in the spec's judge (`judge:<metric>`), in the spec's order; never raises for a
    judge failure. A task without a final answer (step limit) has nothing to judge: an unscored check says so.
    `usage`, when given, adds up the judge's answers and their cost."""
    usage = usage if usage is not None else JudgeUsage()
    if final_answer is None or not final_answer.strip():
        return [
            Check(name=f"judge:{m}", passed=False, score=None, detail="judge error: no final answer to judge")
            for m in judge.metrics
        ]
    return list(
        await asyncio.gather(*(_measure(m, judge, task, final_answer, client, timeout_s, usage) for m in judge.metrics))
    )


__all__ = [
    "DEFAULT_CRITERIA",
    "METRICS",
    "Completer",
    "JudgeError",
    "JudgeUsage",
    "judge_checks",
    "parse_schema",
    "preload",
    "task_input",
    "validate",
]
