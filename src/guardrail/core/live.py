"""Live enforcement, runtime-neutral: a tool call a runtime is about to make, and guardrail's answer to it.

The answer comes from the action policy, asked about the call twice in one query: as it stands, and as if a
person had approved this tool. A call the policy allows is `allow`; one it refuses only for want of a person's approval
(ACT-002 checkpoints, ACT-003 personal data leaving) is `ask`, the human checkpoint made live; anything else is
`deny`. Plain dataclasses, no pydantic: these live on the hook's start-up path. The decision log's record is
`guardrail.core.decisions.DecisionRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITY = "high"  # of the hook's own reasons for failing closed


@dataclass(frozen=True)
class RuntimeCall:
    """What the runtime asked about, in its own names."""

    runtime_tool: str
    args: Any = None
    runtime_agent: str | None = None  # None: the runtime's main agent
    session_id: str | None = None
    tool_use_id: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class LiveDecision:
    decision: str  # allow | ask | deny
    reasons: list[dict[str, str]] = field(default_factory=list)
    agent: str | None = None  # the roster agent judged
    tool: str | None = None  # the catalog tool judged

    @classmethod
    def refuse(cls, rule: str, msg: str, *, agent: str | None = None, tool: str | None = None) -> LiveDecision:
        """Fail closed: the hook could not decide, so the answer is no, with the reason."""
        return cls("deny", [{"rule": rule, "msg": msg, "severity": SEVERITY}], agent=agent, tool=tool)

    def explain(self) -> str:
        """One line for the runtime to show: the person (ask) or the model (deny) reads it."""
        if self.decision == "allow":
            return f"guardrail: {self.agent} may call {self.tool}"
        text = "; ".join(f"{r['rule']}: {r['msg']}" for r in self.reasons)
        prefix = "a person must approve this call" if self.decision == "ask" else "refused"
        return f"guardrail: {prefix}: {text}"


def live_decision(
    violations: list[dict[str, str]], if_approved: list[dict[str, str]], *, agent: str, tool: str
) -> LiveDecision:
    """allow / ask / deny from the action policy's violations for the call as it stands and as if approved. An
    answer that was no decision (core/action.py) holds both undecided, so it is never cured."""
    if not violations:
        return LiveDecision("allow", [], agent=agent, tool=tool)
    return LiveDecision("deny" if if_approved else "ask", violations, agent=agent, tool=tool)


__all__ = ["LiveDecision", "RuntimeCall", "live_decision"]
