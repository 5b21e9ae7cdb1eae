"""The roster: which agents exist, which model each runs on, and what each may touch.

Fields that policies judge (owner, budget) are optional here on purpose: a missing owner is a policy finding the
compliance officer sees with its control, not a parse error. Typos are errors: unknown keys are rejected.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from guardrail.errors import FieldError

Risk = Literal["low", "medium", "high"]
Tier = Literal["critical", "standard", "low"]


class Autonomy(StrEnum):
    AUTONOMOUS = "autonomous"
    HUMAN_APPROVAL = "human_approval"
    LOGGED = "logged"


class CatalogNames(NamedTuple):
    """The governance catalog's tool names and the file that lists them, handed to Roster validation as the
    context `{"catalog": CatalogNames(...)}`: an agent may then hold any catalog tool without the roster declaring
    it again (a tool is declared once, in the catalog)."""

    tools: frozenset[str]
    path: str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tool(_Strict):
    """A tool in the roster's catalog; risk drives approvals, external tools are where data can leave."""

    risk: Risk = "low"
    writes: bool = False
    external: bool = False
    description: str | None = None


class DataClass(_Strict):
    sensitivity: Risk = "low"
    description: str | None = None
    # how the class shows up in task data, so runs can redact it (a `high` class always is; core/redact.py)
    fields: list[str] = Field(default_factory=list, description="keys whose values belong to this class")
    patterns: list[str] = Field(default_factory=list, description="regexes that find this class in text")

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regex {pattern!r}: {exc}") from None
        return patterns


class Agent(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)
    office: str | None = None
    tier: Tier = "standard"
    model: str = Field(min_length=1, description="a litellm model id, e.g. openai/gpt-4o-mini or sim/balanced")
    description: str | None = None
    tools: list[str] = Field(default_factory=list)
    data_scopes: list[str] = Field(default_factory=list)
    autonomy: Autonomy = Autonomy.HUMAN_APPROVAL
    approval_required_for: list[str] = Field(default_factory=list)
    budget_usd_per_day: float | None = Field(default=None, ge=0)
    owner: str | None = None
    suites: list[str] = Field(default_factory=list)
    eval_spec: str | None = Field(
        default=None,
        description="the agent's official eval spec, relative to the project (evals/<name>.yaml): evidence for a "
        "model switch counts only when made with it",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="model call parameters (api_base, temperature)")


class Roster(_Strict):
    version: Literal[1]
    organization: str = Field(min_length=1)
    tools: dict[str, Tool] = Field(default_factory=dict)
    data_classes: dict[str, DataClass] = Field(default_factory=dict)
    agents: list[Agent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo) -> Roster:
        """Names that point nowhere are typos, caught at load with the field that holds them. A tool is known when
        the catalog in the validation context lists it, or the roster's own `tools:` does."""
        catalog = (info.context or {}).get("catalog")
        known = set(self.tools) | (catalog.tools if isinstance(catalog, CatalogNames) else set())
        where = f"the governance tool catalog ({catalog.path})" if isinstance(catalog, CatalogNames) else "tools:"
        seen: set[str] = set()
        for index, agent in enumerate(self.agents):
            if agent.name in seen:
                raise FieldError(("agents", index, "name"), f"duplicate agent name {agent.name!r}")
            seen.add(agent.name)
            for key in ("tools", "approval_required_for"):
                for pos, tool in enumerate(getattr(agent, key)):
                    if tool not in known:
                        raise FieldError(("agents", index, key, pos), f"unknown tool {tool!r}: add it to {where}")
            for pos, scope in enumerate(agent.data_scopes):
                if scope not in self.data_classes:
                    raise FieldError(("agents", index, "data_scopes", pos), f"unknown data class {scope!r}")
        return self

    def agent(self, name: str) -> Agent | None:
        return next((a for a in self.agents if a.name == name), None)

    def policy_input(self) -> dict[str, Any]:
        """The roster as the roster policies see it (`input`): unset optional fields are absent, so Rego's
        `not agent.owner` means what its author expects."""
        return self.model_dump(mode="json", exclude_none=True)


def roster_json_schema() -> dict[str, Any]:
    """The published JSON Schema (schemas/roster.schema.json is generated from this and checked by a test)."""
    schema = Roster.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://guardrail.dev/schemas/roster.schema.json"
    return schema
