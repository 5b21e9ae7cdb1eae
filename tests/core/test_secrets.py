"""The one answer to "is this a credential?": secret-named keys, credential shapes, environment references and their
resolution at send time. Fake credentials are assembled from parts so that no key-shaped literal is committed."""

from __future__ import annotations

import re

import pytest

from guardrail.core import secrets

OPENAI = "sk-" + "proj-" + "Z3x9Q2w8E7r6T5y4U3i2O1p0"


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "x-api-key",
        "Authorization",
        "client_secret",
        "aws_secret_access_key",
        "session_token",
        "access_token",
        "password",
        "vertex_credentials",
        "Cookie",
        "key",
        "private_key",
    ],
)
def test_secret_names(name: str) -> None:
    assert secrets.is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "max_completion_tokens",
        "extra_headers",
        "api_base",
        "base_url",
        "temperature",
        "tokenizer",
        "budget_tokens",
        "input_cost_per_token",
        "output_cost_per_token",
        "keyword",
        "monkey",
        "author",
        "seed",
        "X-Team",
        3,
        None,
    ],
)
def test_ordinary_names(name: object) -> None:
    assert not secrets.is_secret_name(name)


def test_a_credential_by_name_or_by_shape() -> None:
    values = {
        "api_key": "anything-at-all",
        "description": f"prefix {OPENAI}",
        "api_base": "http://user:pw123@host.example/v1",
        "token": "os.environ/OPENAI_API_KEY",  # a reference
        "x-api-key": "EMPTY",  # vLLM's "no key needed"
        "url": "http://127.0.0.1:8000/v1",
        "password": 1234,  # not a string: no text to leak
    }
    assert {path[0] for path, _ in secrets.literal_secrets(values)} == {"api_key", "description", "api_base"}


def test_literal_secrets_names_each_path() -> None:
    spec = {
        "candidates": [
            {"id": "openai/x", "params": {"api_key": "real-looking-value", "api_base": "http://u:p4ss@h.example"}},
            {"id": "openai/y", "params": {"api_key": "os.environ/KEY_Y", "extra_headers": {"X-Api-Key": "none"}}},
        ],
        "description": f"made with {OPENAI}",
    }
    found = dict(secrets.literal_secrets(spec))
    assert set(found) == {
        ("candidates", 0, "params", "api_key"),
        ("candidates", 0, "params", "api_base"),
        ("description",),
    }
    assert found[("candidates", 0, "params", "api_key")] == "a credential under a secret-named key"
    assert "URL" in found[("candidates", 0, "params", "api_base")]
    assert "sk-..." in found[("description",)]


def test_environment_references_resolve_only_when_asked() -> None:
    params = {"api_key": "os.environ/MY_KEY", "extra_headers": {"X-Org": "os.environ/MY_ORG"}, "n": 1, "s": ["a"]}
    env = {"MY_KEY": "k-123", "MY_ORG": ""}
    assert list(secrets.env_references(params)) == [(("api_key",), "MY_KEY"), (("extra_headers", "X-Org"), "MY_ORG")]
    assert secrets.missing_env(params, env) == [(("extra_headers", "X-Org"), "MY_ORG")]
    resolved = secrets.resolve_env(params, env)
    assert resolved == {"api_key": "k-123", "extra_headers": {"X-Org": "os.environ/MY_ORG"}, "n": 1, "s": ["a"]}
    assert params["api_key"] == "os.environ/MY_KEY"  # the record keeps the reference
    assert secrets.env_name("os.environ/1BAD") is None and secrets.env_name("${KEY}") is None


def test_every_pattern_reads_alike_in_python_and_rust_regex() -> None:
    """No look-around or back-references: the embedded Rego engine (Rust regex) must accept each one."""
    data = secrets.policy_data()
    names = ("prefilter", "secret_name", "not_secret_name", "env_reference")
    for pattern in [*data["shapes"].values(), *(data[name] for name in names)]:
        re.compile(pattern)
        assert not re.search(r"\(\?<?[=!]|\\[1-9]", pattern), pattern


def test_the_prefilter_passes_every_shape() -> None:
    samples = [
        "-----BEGIN " + "EC PRIVATE KEY-----",
        "https://u:p4ss@h.example",
        OPENAI,
        "AK" + "IA" + "Q4Z7X2C9V1B8N3M6",
        "gh" + "p_" + "a" * 36,
        "xo" + "xp-" + "1234567890-abc",
        "AI" + "za" + "b" * 35,
        "sk" + "_live_" + "c" * 24,
        "hf" + "_" + "d" * 34,
        "ey" + "J" + "e" * 10 + ".ey" + "J" + "f" * 10 + ".sig",
        "Bearer " + "g" * 20,
        "pwd=abc123",
    ]
    prefilter = re.compile(secrets.prefilter())
    assert all(re.fullmatch(r"[a-z0-9_:/ -]+", marker) for marker in secrets.MARKERS)  # literals, lower-case
    for sample in samples:
        assert secrets.shapes_in(sample), sample
        assert prefilter.search(sample), sample
        shapes = secrets.shapes_in(sample)
        assert all(any(m in sample.lower() for m in shape.markers) for shape in shapes), sample
    assert len({s.name for sample in samples for s in secrets.shapes_in(sample)}) == len(secrets.CREDENTIAL_SHAPES)
