"""Suite tasks and eval specs: the files a Chief AI Officer writes to compare models.

A task is replayed *as* a roster agent: its tools and limits apply. Counterfactual variants of one case share a
`group`; a template task (`vary:`) expands into one variant per attribute value, so bias cases are written once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from guardrail.core.llm import TransportMode
from guardrail.core.metrics import Thresholds
from guardrail.core.redaction_rules import RedactionRules
from guardrail.errors import FieldError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedCall(_Strict):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)  # a subset: listed args must match, others may be present


class AnswerExpect(_Strict):
    equals: str | None = None
    contains: list[str] = Field(default_factory=list)  # every item must appear
    regex: str | None = None
    one_of: list[str] = Field(default_factory=list)  # the answer (stripped) must be one of these choices
    case_sensitive: bool = False


class Expect(_Strict):
    tool_calls: list[ExpectedCall] = Field(default_factory=list)
    ordered: bool = False  # expected calls must appear in this order
    answer: AnswerExpect | None = None
    must_not_call: list[str] = Field(default_factory=list)
    max_steps: int | None = Field(default=None, ge=1)
    decision: str | None = None  # the expected decision label, when the task has one


class DecisionSpec(_Strict):
    """Where a task's decision is read from: an argument of a tool call, or a choice in the answer."""

    tool: str | None = None
    arg: str | None = None
    choices: list[str] = Field(default_factory=list)
    favourable: str | None = None  # the outcome a person wants (qualified, approved): drives parity metrics

    @model_validator(mode="after")
    def _one_source(self) -> DecisionSpec:
        if not (self.tool and self.arg) and not self.choices:
            raise FieldError((), "decision needs either tool+arg or choices")
        return self


class Counterfactual(_Strict):
    group: str
    attribute: str
    value: str


class Vary(_Strict):
    """A template: one variant per value; `{{key}}` placeholders in messages take that value's substitutions."""

    attribute: str
    values: dict[str, dict[str, str]] = Field(min_length=2)


class RecordedResult(_Strict):
    """What a tool answered in production to one call (`guardrail suite from-traces`): replay gives the same answer
    to a call with the same tool and arguments."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: Any = None


class Task(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:~=-]*$")
    agent: str | None = None
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[str] = Field(default_factory=list)
    tool_results: dict[str, Any] = Field(default_factory=dict)
    recorded_results: list[RecordedResult] = Field(default_factory=list)  # matched by tool and arguments first
    approvals: list[str] = Field(default_factory=list)  # tools a human approved in this scenario
    expect: Expect = Field(default_factory=Expect)
    decision: DecisionSpec | None = None
    slice: dict[str, str] = Field(default_factory=dict)
    counterfactual: Counterfactual | None = None
    vary: Vary | None = None
    template: str | None = None  # set on variants expanded from a template (a cluster key)
    difficulty: Literal["easy", "medium", "hard"] | None = None

    def result_for(self, tool: str, args: dict[str, Any]) -> Any:
        """What a call gets in replay: the recorded result for this tool and these arguments, else the tool's stub;
        a tool answered only for other arguments says so; anything else is a plain success."""
        for recorded in self.recorded_results:
            if recorded.tool == tool and recorded.args == args:
                return recorded.result
        if tool in self.tool_results:
            return self.tool_results[tool]
        if any(recorded.tool == tool for recorded in self.recorded_results):
            return {"error": f"no recorded result of {tool} for these arguments"}
        return {"ok": True}


class ToolDef(_Strict):
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolFile(_Strict):
    tools: dict[str, ToolDef]
    redact: RedactionRules | None = None  # what in this suite's tasks is sensitive, beyond the built-in patterns


class Candidate(_Strict):
    id: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)


class RateLimit(_Strict):
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    concurrency: int | None = Field(default=None, ge=1)


class Judge(_Strict):
    model: str
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: list[str] = Field(default_factory=lambda: ["geval"])  # "geval", "bias"
    rubric: str | None = None
    threshold: float = 0.5


class EvalSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str | None = None
    roster: str | None = None  # path, relative to the project root
    agent: str
    suites: list[str] = Field(min_length=1)
    candidates: list[Candidate] = Field(min_length=1)
    baseline: str
    propose: str | None = None  # the candidate this change proposes; the gate decides on it
    thresholds: Thresholds = Field(default_factory=Thresholds)
    repeats: int = Field(default=1, ge=1, le=100)
    judge: Judge | None = None
    concurrency: int = Field(default=64, ge=1, le=1024)
    # "auto": `openai/<name>` candidates with an api_base go straight to that OpenAI-compatible server (no litellm
    # overhead per call); "litellm": every call through litellm
    transport: TransportMode = "auto"
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)  # provider prefix -> limits
    max_steps: int = Field(default=8, ge=1, le=100)
    timeout_s: float = Field(default=60.0, gt=0)
    max_error_rate: float = Field(default=0.2, ge=0, le=1)
    seed: int = 0
    redact: RedactionRules | None = None  # sensitive fields, patterns and roster data classes, beyond the defaults

    @model_validator(mode="before")
    @classmethod
    def _candidate_strings(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("candidates"), list):
            value = dict(value)
            value["candidates"] = [{"id": c} if isinstance(c, str) else c for c in value["candidates"]]
        return value

    @model_validator(mode="after")
    def _names_resolve(self) -> EvalSpec:
        ids = [c.id for c in self.candidates]
        if len(set(ids)) != len(ids):
            raise FieldError(("candidates",), "duplicate candidate ids")
        if self.baseline not in ids:
            raise FieldError(("baseline",), f"baseline {self.baseline!r} is not one of the candidates")
        if self.propose is not None and self.propose not in ids:
            raise FieldError(("propose",), f"proposed model {self.propose!r} is not one of the candidates")
        if self.thresholds.noninferiority_margin is None and any(i != self.baseline for i in ids):
            raise FieldError(
                ("thresholds", "noninferiority_margin"),
                f"required to compare candidates with the baseline {self.baseline}: how many points of pass rate a "
                "candidate may lose against it, e.g. 0.05",
            )
        return self
