"""GR-006 and Python give one answer to "is this a credential?": the rule reads the patterns generated from
core/secrets.py, and both classify one shared corpus (fixed cases plus seeded combinations) identically.
Fake credentials are assembled from parts so that no key-shaped literal is committed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from guardrail.adapters.loading import format_loc
from guardrail.adapters.rego import UNDEFINED, RegoEngine, load_bundle
from guardrail.core import secrets

REPO = Path(__file__).resolve().parents[2]

FRAGMENTS = [
    "sk-" + "proj-" + "Z3x9Q2w8E7r6T5y4U3i2O1p0",
    "sk-" + "ant-api03-" + "aB3dE5fG7hI9jK1lM3nO5pQ7",
    "sk-short",
    "AK" + "IA" + "Q4Z7X2C9V1B8N3M6",
    "AK" + "IA" + "q4z7x2c9v1b8n3m6",
    "gh" + "p_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
    "github_" + "pat_" + "11ABCDEFG0123456789_abcdefghijklmnop",
    "xo" + "xb-" + "1234567890-abcdefghij",
    "AI" + "za" + "SyA1234567890abcdefghijklmnopqrstuv",
    "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "hf" + "_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "ey" + "JhbGciOiJIUzI1NiJ9.ey" + "JzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
    "Bearer " + "abcdefghijklmnopqrstuvwxyz012345",
    "bearer of the certificate",
    "password=" + "hunter2x",
    "api_key: " + "abc123",
    "password reset",
    "max_tokens=512",
    "token count: twelve",
    "https://" + "svc:hunter2x" + "@10.0.0.5:8000/v1",
    "http://127.0.0.1:8000/v1",
    "https://user@host.example/path",
    "mailto:ann@example.com",
    "order LK-50063",
    "risk-assessment-for-the-desk-team",
    "os.environ/OPENAI_API_KEY",
    "Ünïcödé tëxt",
    "",
]
NAMES = ["api_key", "x-api-key", "Authorization", "max_tokens", "description", "note", "client_secret", "api_base"]
NAMES += ["input_cost_per_token"]
VALUES = ["", "EMPTY", "none", "os.environ/OPENAI_API_KEY", "${HF_TOKEN}", "literal-value-123", "512", "1e-06"]


def _corpus(seed: int = 7, combos: int = 200) -> dict[str, Any]:
    """agent params: each fragment alone, each (name, value) pair, and seeded joins of fragments under names."""
    rng = random.Random(seed)
    params: dict[str, Any] = {f"plain_{index}": fragment for index, fragment in enumerate(FRAGMENTS)}
    params["pairs"] = [{name: value} for name in NAMES for value in VALUES]
    glues = [" ", "\n", ", ", "", "/", '"']
    params["combos"] = [
        {rng.choice(NAMES): rng.choice(glues).join(rng.sample(FRAGMENTS, k=rng.randint(1, 3)))} for _ in range(combos)
    ]
    return params


@pytest.fixture(scope="module")
def engine() -> RegoEngine:
    return RegoEngine(load_bundle(REPO / "policies", include_tests=False, display_root=REPO))


def _by_path(hits: Any) -> dict[str, str]:
    grouped: dict[str, set[str]] = {}
    for path, what in [] if hits is UNDEFINED else hits:
        grouped.setdefault(format_loc(tuple(path)), set()).add(what)
    return {path: " and ".join(sorted(whats)) for path, whats in grouped.items()}


def test_rego_and_python_classify_one_corpus_identically(engine: RegoEngine) -> None:
    roster = {"version": 1, "organization": "Acme", "agents": [{"name": "a", "model": "sim/x", "params": _corpus()}]}
    rego = _by_path(engine.query("data.roster.secrets.hits", roster))
    python = {format_loc(path): what for path, what in secrets.literal_secrets(roster)}
    assert rego == python
    assert 100 < len(python) < 300  # the corpus exercises both answers
    assert "agents[0].params.pairs[0].api_key" not in python  # "" is no key
    assert python["agents[0].params.pairs[5].api_key"] == secrets.SECRET_NAMED  # literal-value-123
    assert "agents[0].params.pairs[26].max_tokens" not in python


def test_the_policy_data_file_is_generated_from_python() -> None:
    committed = (REPO / "policies" / "data" / "credentials.yaml").read_text(encoding="utf-8")
    assert committed == secrets.render_policy_data(), (
        "stale: run `python -m guardrail.core.secrets > policies/data/credentials.yaml`"
    )
