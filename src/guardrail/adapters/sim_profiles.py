"""The simulated candidate models' planted behaviour: one Profile per `sim/<name>`, and the draws behind it.

Every number a harness test relies on lives here, so a test can ask a profile for its true rate on a task
(`Profile.p_correct`) and check that the runner measured it. Draws come from a keyed hash (BLAKE2b), never
from Python's `hash()` or a global RNG, so a (seed, profile, task, repeat) behaves the same in any process.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from guardrail.core.llm import SIM_PREFIX

DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
# Tools through which data leaves the company (as in examples/roster.yaml).
EXTERNAL_TOOLS: frozenset[str] = frozenset({"email.send", "web.search", "cms.publish"})
# Tools that move money or change records irreversibly: a human must approve them (examples/roster.yaml).
HIGH_RISK_TOOLS: frozenset[str] = frozenset({"payments.refund"})


class BiasPlant(BaseModel):
    """A planted counterfactual bias: in `rate` of the groups on `attribute`, every variant whose value is not
    `reference` gets the opposite decision of the reference variant (consistently within the group)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attribute: str
    reference: str
    rate: float = Field(ge=0, le=1)


class Profile(BaseModel):
    """One simulated model: accuracy per difficulty and slice, recklessness, bias, latency and price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    summary: str
    accuracy: dict[str, float]  # P(correct) per difficulty; tasks without a difficulty count as "medium"
    slice_penalty: dict[str, float] = Field(default_factory=dict)  # "language=de" -> points off accuracy
    # P(a forbidden, unapproved or data-leaking call) per task that offers such a tool
    violation_rate: float = Field(default=0.0, ge=0, le=1)
    bias: BiasPlant | None = None
    latency_s: float = Field(gt=0)  # median seconds per call at latency scale 1.0
    latency_sigma: float = Field(default=0.25, ge=0)  # log-normal spread of per-call latency
    input_cost_per_token: float = Field(ge=0)
    output_cost_per_token: float = Field(ge=0)
    # Share of correctness draws taken from a task-level latent common to every profile: models tend to
    # fail on the same hard tasks, which makes paired comparisons tighter than unpaired ones. The marginal
    # rate stays exact.
    shared_difficulty: float = Field(default=0.95, ge=0, le=1)

    @property
    def model(self) -> str:
        return f"{SIM_PREFIX}{self.name}"

    def p_correct(self, task: Mapping[str, Any]) -> float:
        """The planted probability that this profile handles `task` (a Task dump) correctly."""
        difficulty = task.get("difficulty") or "medium"
        p = self.accuracy.get(difficulty, self.accuracy.get("medium", 1.0))
        for key, value in (task.get("slice") or {}).items():
            p -= self.slice_penalty.get(f"{key}={value}", 0.0)
        return min(1.0, max(0.0, p))

    def with_overrides(self, params: Mapping[str, Any]) -> Profile:
        """Per-call planted rates from a candidate's params (`sim_accuracy`, `sim_violation_rate`,
        `sim_flip_rate`), so validity tests can plant a candidate N points worse without a new profile."""
        update: dict[str, Any] = {}
        accuracy = params.get("sim_accuracy")
        if isinstance(accuracy, int | float):
            update["accuracy"] = dict.fromkeys(DIFFICULTIES, float(accuracy))
            update["slice_penalty"] = {}
        elif isinstance(accuracy, Mapping):
            update["accuracy"] = {**self.accuracy, **{str(k): float(v) for k, v in accuracy.items()}}
        if isinstance(params.get("sim_violation_rate"), int | float):
            update["violation_rate"] = float(params["sim_violation_rate"])
        flip = params.get("sim_flip_rate")
        if isinstance(flip, int | float):
            bias = self.bias or BiasPlant(attribute="gender", reference="male", rate=0.0)
            update["bias"] = bias.model_copy(update={"rate": float(flip)})
        return self.model_copy(update=update) if update else self


_M = 1e-6  # prices are quoted per million tokens

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="frontier",
            summary="accurate, slow, expensive (a frontier-class model)",
            accuracy={"easy": 0.97, "medium": 0.97, "hard": 0.93},
            latency_s=1.2,
            input_cost_per_token=2.5 * _M,
            output_cost_per_token=10.0 * _M,
        ),
        Profile(
            name="balanced",
            summary="nearly as accurate as frontier at a fraction of the price (a mid-size model)",
            accuracy={"easy": 0.96, "medium": 0.96, "hard": 0.92},
            latency_s=0.6,
            input_cost_per_token=0.4 * _M,
            output_cost_per_token=1.6 * _M,
        ),
        Profile(
            name="budget",
            summary="cheap and fast, noticeably worse on hard tasks and non-English tickets (a small model)",
            accuracy={"easy": 0.92, "medium": 0.86, "hard": 0.75},
            slice_penalty={"language=de": 0.03, "language=es": 0.03},
            latency_s=0.25,
            input_cost_per_token=0.15 * _M,
            output_cost_per_token=0.6 * _M,
        ),
        Profile(
            name="reckless",
            summary="accurate and cheap, but in 30% of tasks calls a forbidden or unapproved tool, or sends "
            "customer data to an external tool",
            accuracy={"easy": 0.96, "medium": 0.96, "hard": 0.92},
            violation_rate=0.30,
            latency_s=0.4,
            input_cost_per_token=0.3 * _M,
            output_cost_per_token=1.2 * _M,
        ),
        Profile(
            name="skewed",
            summary="accurate and cheap, but its decision flips for the non-reference gender in 10% of "
            "counterfactual groups",
            accuracy={"easy": 0.96, "medium": 0.96, "hard": 0.92},
            bias=BiasPlant(attribute="gender", reference="male", rate=0.10),
            latency_s=0.5,
            input_cost_per_token=0.3 * _M,
            output_cost_per_token=1.2 * _M,
        ),
    )
}


def profile_names() -> list[str]:
    """The offered profiles, as `sim/<name>` takes them."""
    return sorted(PROFILES)


def uniform(*parts: object) -> float:
    """A uniform draw in [0, 1) determined only by `parts` (stable across processes and Python versions)."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


_NORMAL = NormalDist()


def latency_s(profile: Profile, scale: float, *parts: object) -> float:
    """Seconds this call takes: the profile's median with log-normal spread, times the global scale."""
    if scale <= 0:
        return 0.0
    u = min(max(uniform("latency", profile.name, *parts), 1e-9), 1 - 1e-9)
    return scale * profile.latency_s * math.exp(profile.latency_sigma * _NORMAL.inv_cdf(u))


__all__ = [
    "DIFFICULTIES",
    "EXTERNAL_TOOLS",
    "HIGH_RISK_TOOLS",
    "PROFILES",
    "BiasPlant",
    "Profile",
    "latency_s",
    "profile_names",
    "uniform",
]
