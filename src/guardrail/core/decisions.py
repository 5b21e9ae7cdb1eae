"""The decision log record: one live allow/ask/deny decision about one tool call (`guardrail.decision/v1`).

Written one JSON object per line by the runtime hooks (`guardrail hook claude-code`), read by `guardrail audit`.
The hook builds its lines without pydantic (`core/decision_line.py`, for its start-up budget); a test holds the
two to the same fields in the same order. `otel_attributes` maps a record to the proposed OpenTelemetry
GenAI guardrail span (`gen_ai.operation.name=apply_guardrail`), which is still a proposal and may be renamed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator

from guardrail.core.decision_line import DECISION_SCHEMA, format_time
from guardrail.core.findings import Severity

Decision = Literal["allow", "ask", "deny"]
DECISIONS: tuple[str, ...] = Decision.__args__  # type: ignore[attr-defined]


class DecisionReason(BaseModel):
    """Why: a policy rule that fired (`ACT-002`), or the hook's own reason for failing closed (`hook.*`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    msg: str
    severity: Severity | None = None


class DecisionRecord(BaseModel):
    """One decision, with the hashes of the policies and roster that made it (so an audit can replay it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["guardrail.decision/v1"] = Field("guardrail.decision/v1", alias="schema")
    time: AwareDatetime
    source: str = Field(min_length=1, description="which runtime asked, e.g. claude-code")
    agent: str | None = Field(None, description="the roster agent the call was judged as; null when unknown")
    runtime_agent: str | None = Field(None, description="the runtime's name for the agent; null for the main one")
    tool: str | None = Field(None, description="the catalog tool; null when the runtime's tool is not catalogued")
    runtime_tool: str | None = Field(None, description="the runtime's name for the tool")
    args: Any = Field(None, description="the call's arguments, redacted")
    decision: Decision
    reasons: list[DecisionReason] = Field(default_factory=list)
    session_id: str | None = None
    tool_use_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    model: str | None = Field(None, description="the model, when the runtime says which")
    policy_hash: str | None = Field(None, description="sha256:... of the policies that decided")
    roster_hash: str | None = Field(None, description="sha256:... of the roster the agent came from")
    guardrail_version: str

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_serializer("time")
    def _rfc3339(self, value: datetime) -> str:
        return format_time(value)

    def to_line(self) -> str:
        """The JSONL line (without its newline), field order as declared."""
        return self.model_dump_json(by_alias=True)

    def otel_attributes(self) -> dict[str, str]:
        """The record as attributes of an OpenTelemetry `apply_guardrail` span (GenAI conventions, proposed)."""
        attributes = {
            "gen_ai.operation.name": "apply_guardrail",
            "gen_ai.security.target.type": "tool_call",
            "gen_ai.security.decision.type": self.decision,
            "gen_ai.agent.name": self.agent or self.runtime_agent,
            "gen_ai.tool.name": self.tool or self.runtime_tool,
            "gen_ai.security.policy.version": self.policy_hash,
            "gen_ai.conversation.id": self.session_id,
            "gen_ai.tool.call.id": self.tool_use_id,
            "gen_ai.request.model": self.model,
        }
        return {key: value for key, value in attributes.items() if value is not None}


__all__ = ["DECISIONS", "DECISION_SCHEMA", "Decision", "DecisionReason", "DecisionRecord", "format_time"]
