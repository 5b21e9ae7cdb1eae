"""Governance records in policy data: approvals (`policies/data/approvals.yaml`) and waivers (`waivers.yaml`).

Both are human decisions with an approver and an expiry, and both are checked here, by one validator, so a typo is
an input error naming the file and line (exit 2) rather than a policy evaluation error (exit 3) or a silent no-op.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from guardrail.adapters.loading import load_yaml, schema_error
from guardrail.adapters.rego import PolicyBundle
from guardrail.core.findings import Waiver
from guardrail.errors import ConfigError

R = TypeVar("R", bound=BaseModel)
DATA_SUFFIXES = (".yaml", ".yml", ".json")
LAST_YEAR = 2261  # the last whole year Rego's nanosecond clock can hold


class Approval(BaseModel):
    """A live approval lets the CI gate pass a change it would not pass on its own (`change` as the gate prints it:
    `tool_added:payments.refund`, `policy_change:sha256:...`). `agent` is `*` for a change to the policies."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1)
    change: str = Field(pattern=r"^[a-z_]+:.+$")
    approver: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    approved_at: str
    expires: str

    @field_validator("approved_at", "expires", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> str:
        """`YYYY-MM-DD` or an RFC3339 time with a zone, as the policy's time functions read them; YAML's own
        dates and timestamps (unquoted) are accepted and written back that way. Rego counts time in nanoseconds
        since 1970, which ends in 2262: a later date would stop the gate (exit 3), so it is refused here."""
        moment = cls._normalised(value)
        if not "1970" <= moment[:4] < str(LAST_YEAR + 1):
            raise ValueError(f"expected a time between 1970 and {LAST_YEAR} (the policy engine's clock range)")
        return moment

    @staticmethod
    def _normalised(value: Any) -> str:
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                if len(value) == 10:
                    return date.fromisoformat(value).isoformat()
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise ValueError("expected a date (YYYY-MM-DD) or an RFC3339 time with a zone (2026-06-01T09:00:00Z)")


def governance_records(bundle: PolicyBundle, policies_dir: Path, name: str, model: type[R]) -> list[R]:
    """The records under `data.<name>.<name>` (a top-level `<name>: [...]` in `policies/data/<name>.yaml`; a bare
    list is accepted too), validated; every error is listed with its file, line and field."""
    raw = bundle.data.get(name)
    if raw is None:
        return []
    items = raw.get(name) if isinstance(raw, dict) else raw
    source = next((p for p in sorted((policies_dir / "data").glob(f"{name}.*")) if p.suffix in DATA_SUFFIXES), None)
    prefix: tuple[str | int, ...] = (name,) if isinstance(raw, dict) else ()

    def error(message: str, loc: tuple[str | int, ...]) -> ConfigError:
        if source is None:
            return ConfigError(message, field=".".join(map(str, (f"data.{name}", *loc))))
        return load_yaml(source).error(message, loc)

    if not isinstance(items, list | None):
        raise error(f"expected `{name}: [...]` at the top level", prefix)
    try:
        return TypeAdapter(list[model]).validate_python(items or [])  # type: ignore[valid-type]
    except ValidationError as exc:
        doc = load_yaml(source) if source is not None else None
        raise schema_error(exc, doc, prefix=prefix if doc else ("data", name, *prefix)) from None


def load_approvals(bundle: PolicyBundle, policies_dir: Path) -> list[Approval]:
    """Validate the approvals and hand them to the policy with dates as strings it can parse."""
    approvals = governance_records(bundle, policies_dir, "approvals", Approval)
    if "approvals" in bundle.data:
        raw = bundle.data["approvals"]
        bundle.data["approvals"] = {
            **(raw if isinstance(raw, dict) else {}),
            "approvals": [a.model_dump() for a in approvals],
        }
    return approvals


def load_waivers(bundle: PolicyBundle, policies_dir: Path) -> list[Waiver]:
    """Waivers: reason, approver and expiry are required."""
    return governance_records(bundle, policies_dir, "waivers", Waiver)


__all__ = ["Approval", "governance_records", "load_approvals", "load_waivers"]
