"""Records of an audit of production traces: one normalised event per tool or model call, the findings the
policies raise over them, and the scorecard per agent and office.

Every trace format (OTLP `gen_ai.*`, OpenInference, Claude Code events and hook payloads, guardrail's decision
log) is read into the same `TraceEvent`, so the policies judge one shape whatever the runtime was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core.findings import Finding
from guardrail.core.stats import Interval

EventKind = Literal["tool_call", "model_call"]
UNNAMED_AGENT = "(unnamed)"  # the subject of calls whose trace names no agent

# Traces name a model bare ("gpt-4o-mini") with its provider beside it (gen_ai.provider.name, or the legacy
# gen_ai.system); rosters name litellm ids ("openai/gpt-4o-mini"). This table is the one mapping between them: the
# litellm prefix of each provider name. AUD-002 compares roster ids with `litellm_id(...)`; prices are looked up by it.
PROVIDER_PREFIXES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gcp.gemini": "gemini",
    "gemini": "gemini",
    "gcp.gen_ai": "gemini",
    "gcp.vertex_ai": "vertex_ai",
    "vertex_ai": "vertex_ai",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure_ai",
    "az.ai.inference": "azure_ai",
    "aws.bedrock": "bedrock",
    "cohere": "cohere",
    "mistral_ai": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "x_ai": "xai",
    "perplexity": "perplexity",
    "ibm.watsonx.ai": "watsonx",
    "moonshot_ai": "moonshot",
    "sim": "sim",
}


def litellm_id(provider: str | None, model: str) -> str:
    """The litellm id a trace's (provider, model) names: `openai` + `gpt-4o-mini` -> `openai/gpt-4o-mini`. A model
    that already carries a prefix, or whose provider is not in the table, is returned as recorded."""
    if "/" in model or provider is None:
        return model
    prefix = PROVIDER_PREFIXES.get(provider.lower())
    return f"{prefix}/{model}" if prefix else model


class TraceEvent(BaseModel):
    """One call an agent made in production, as the trace recorded it."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    source: str  # otlp, openinference, claude-code, claude-code-hook, decision-log
    time: datetime
    agent: str | None = None  # the roster agent (None: the trace names none)
    model: str | None = None  # as the trace names it: often bare (gpt-4o-mini), sometimes dated
    provider: str | None = None
    tool: str | None = None  # the catalog name (runtime names are mapped through catalog aliases)
    runtime_tool: str | None = None
    args: dict[str, Any] | None = None  # None: the trace did not record the arguments
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None  # as recorded; None when the trace carries no cost
    trace_id: str | None = None
    span_id: str | None = None
    session_id: str | None = None
    approvals: tuple[str, ...] = ()  # tools a person approved in this trace before the call (or on the call itself)
    approvers: tuple[str, ...] = ()
    executed: bool = True  # False: the runtime refused the call (a hook or permission deny), so it never ran
    error: bool = False
    file: str = ""
    line: int = 0
    result: Any = None  # a tool call's recorded result (kept for `suite from-traces`; never reported)
    messages: Any = None  # a model call's recorded input messages (likewise)


_EVENT_FIELDS = set(TraceEvent.model_fields)  # shared by every trusted event: a frozen model never changes it


def trusted_event(fields: dict[str, Any]) -> TraceEvent:
    """A TraceEvent from every field's value, already of the field's type, without validation: what
    `model_construct` does, at a tenth of its cost (validating cost 2.3 us per event, a tenth of an audit's budget).

    Only for values the trace readers typed themselves (adapters/traces*: ids and names are str, tokens int, ...);
    the dict becomes the event's own. A test holds it equal to the validated event."""
    event = TraceEvent.__new__(TraceEvent)
    _set = object.__setattr__
    _set(event, "__dict__", fields)
    _set(event, "__pydantic_fields_set__", _EVENT_FIELDS)
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


class AuditFinding(Finding):
    """A finding with the trace an auditor opens to see it."""

    trace_id: str | None = None
    span_id: str | None = None
    time: datetime | None = None
    tool: str | None = None


class RuleRate(BaseModel):
    rule: str
    calls: int  # tool calls that broke the rule
    rate: Interval | None = None  # share of the agent's executed tool calls


class DayCost(BaseModel):
    day: str  # YYYY-MM-DD (UTC)
    cost_usd: float
    calls: int
    unpriced_calls: int = 0  # model calls with neither a recorded cost nor a known price
    tool_calls: int = 0
    violating_calls: int = 0
    budget_usd: float | None = None


class AgentCard(BaseModel):
    agent: str
    office: str | None = None
    on_roster: bool
    roster_model: str | None = None
    tool_calls: int = 0
    blocked_calls: int = 0  # refused by the runtime: never ran
    model_calls: int = 0
    errors: int = 0
    error_rate: Interval | None = None
    tools_granted: list[str] = Field(default_factory=list)
    tools_used: dict[str, int] = Field(default_factory=dict)
    tools_unused: list[str] = Field(default_factory=list)
    violating_calls: int = 0
    violation_rate: Interval | None = None
    violations: list[RuleRate] = Field(default_factory=list)
    models: dict[str, int] = Field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    budget_usd_per_day: float | None = None
    days: list[DayCost] = Field(default_factory=list)


class OfficeCard(BaseModel):
    office: str
    agents: list[str]
    tool_calls: int = 0
    model_calls: int = 0
    errors: int = 0
    error_rate: Interval | None = None
    violating_calls: int = 0
    violation_rate: Interval | None = None
    cost_usd: float = 0.0
    budget_usd_per_day: float | None = None
    days: list[DayCost] = Field(default_factory=list)


class Scorecard(BaseModel):
    since: datetime | None = None
    until: datetime | None = None
    first_event: datetime | None = None
    last_event: datetime | None = None
    events: int = 0
    tool_calls: int = 0
    model_calls: int = 0
    records_by_source: dict[str, int] = Field(default_factory=dict)
    outside_window: int = 0
    days: list[str] = Field(default_factory=list)
    agents: list[AgentCard] = Field(default_factory=list)
    offices: list[OfficeCard] = Field(default_factory=list)


class AuditReport(BaseModel):
    """What every audit output renders; the exit code is derived from it alone."""

    schema_version: Literal["guardrail.audit/v1"] = "guardrail.audit/v1"
    id: str
    created: datetime
    inputs: list[str]
    roster: str
    policies: str
    policy_hash: str
    guardrail_version: str
    engine: str
    findings: list[AuditFinding] = Field(default_factory=list)
    not_listed: dict[str, int] = Field(default_factory=dict)  # "<agent> <rule>" -> findings counted, not listed
    rules: list[dict[str, Any]] = Field(default_factory=list)
    scorecard: Scorecard = Field(default_factory=Scorecard)
    tracking: dict[str, str] = Field(default_factory=dict)

    @property
    def blocking(self) -> int:
        listed = sum(f.blocking for f in self.findings)
        return listed + sum(self.not_listed.values())

    @property
    def passed(self) -> bool:
        return self.blocking == 0


__all__ = [
    "PROVIDER_PREFIXES",
    "UNNAMED_AGENT",
    "AgentCard",
    "AuditFinding",
    "AuditReport",
    "DayCost",
    "EventKind",
    "OfficeCard",
    "RuleRate",
    "Scorecard",
    "TraceEvent",
    "litellm_id",
    "trusted_event",
]
