"""The one answer to "is this a credential?", used by the runner, the cache, the redactor and (as generated policy
data) the roster rule GR-006.

Two ways a value is a credential:
- its *shape*: the formats providers issue (sk-..., sk-ant-..., AKIA..., ghp_..., xox..., JWTs, PEM private keys,
  `Bearer ...`, `password=...`, `scheme://user:pass@host`); see CREDENTIAL_SHAPES;
- its *name*: the value of a key such as `api_key`, `Authorization` or `client_secret` is a credential whatever it
  looks like (`is_secret_name`), unless it is a reference to the environment (`os.environ/NAME`, the litellm form)
  or one of the well-known "no key needed" placeholders local servers take (`placeholder`). `literal_secrets`
  applies both to a file (a spec, a roster); records are stricter and drop even a placeholder (core/redact.py).

Every pattern here is written in the subset of regex syntax that Python's `re` and Rust's `regex` (the embedded
Rego engine) read alike: no look-around, no back-references. `policy_data()` hands them to Rego, so GR-006 and
Python classify every string the same way (tests/policies/test_secrets_policy.py checks both on one corpus).

`os.environ/NAME` references are resolved only when a request is sent (`resolve_env`): the resolved key never
enters a record, a cache key or a log.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Shape:
    """A credential format: `what` names it in messages; the `secret` group (when present) is the part to hide."""

    name: str
    what: str
    pattern: str
    markers: tuple[str, ...]  # lower-case literals, one of which every match contains: a cheap screen

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern)


_KEYED = ("api", "access", "private")  # api_key, access-key, privatekey...
_KEYWORD = rf"(?:password|passwd|pwd|secret|token|(?:{'|'.join(_KEYED)})[_-]?key)"
_VALUE = r"[^\s\"',;}&]"

CREDENTIAL_SHAPES: tuple[Shape, ...] = (
    Shape(
        "private_key",
        "a private key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s]*)",
        ("private key",),
    ),
    Shape(
        "url_credentials",
        "credentials in a URL (user:password@host)",
        r"\b[A-Za-z][A-Za-z0-9+.-]*://(?P<secret>[^\s/:@?#\"'<>]+:[^\s/@?#\"'<>]+)@",
        ("://",),
    ),
    Shape("openai_key", "an OpenAI/Anthropic-style API key (sk-...)", r"\bsk-[A-Za-z0-9_-]{20,}", ("sk-",)),
    Shape("aws_key", "an AWS access key id (AKIA...)", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", ("akia", "asia")),
    Shape(
        "github_token",
        "a GitHub token (ghp_...)",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Shape("slack_token", "a Slack token (xox...)", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", ("xox",)),
    Shape("google_key", "a Google API key (AIza...)", r"\bAIza[0-9A-Za-z_-]{35}", ("aiza",)),
    Shape(
        "stripe_key", "a Stripe key (sk_live_...)", r"\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}", ("k_live_", "k_test_")
    ),
    Shape("huggingface_token", "a Hugging Face token (hf_...)", r"\bhf_[A-Za-z0-9]{30,}", ("hf_",)),
    Shape(
        "jwt", "a JSON Web Token (eyJ...)", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", ("eyj",)
    ),
    Shape("bearer", "a bearer token", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{16,})", ("bearer",)),
    Shape(
        "assignment",
        "a password assignment (password=...)",
        rf"(?i)\b(?:[a-z0-9]+[_-])*{_KEYWORD}[\"']?\s*"
        rf"(?:=\s*[\"']?(?P<secret>{_VALUE}{{3,}})|:\s*[\"']?(?P<secret2>{_VALUE}*[0-9]{_VALUE}*|{_VALUE}{{12,}}))",
        ("passw", "pwd", "secret", "token", *(f"{w}{sep}key" for w in _KEYED for sep in ("", "_", "-"))),
    ),
)

MARKERS: tuple[str, ...] = tuple(dict.fromkeys(m for shape in CREDENTIAL_SHAPES for m in shape.markers))

# Names whose value is a credential whatever it looks like (lower-cased, "-" read as "_"): `api_key`, `x-api-key`,
# `Authorization`, `aws_secret_access_key`, `session_token`; not `max_tokens` or `extra_headers`.
SECRET_NAME = (
    r"^(?:[a-z0-9]+_)*(?:api_?key|key|secret|secret_access_key|token|password|passwd|pwd|credentials?|"
    r"authorization|auth|cookie|access_key_id|private_key)$"
)
# Names that look secret to SECRET_NAME but hold figures: litellm's prices (`input_cost_per_token`).
NOT_SECRET_NAME = r"(?:^|_)per_token$"
# The one way to point at the environment instead of writing a key: litellm's `os.environ/NAME`.
ENV_REFERENCE = r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$"
# Values local OpenAI-compatible servers take when they need no key (vLLM's EMPTY, llama.cpp's sk-no-key-required,
# Ollama's ollama, test servers' test): not credentials, so a spec may hold them.
PLACEHOLDERS = frozenset(
    {
        "",
        "none",
        "null",
        "empty",
        "test",
        "dummy",
        "fake",
        "fake-key",
        "no-key",
        "not-needed",
        "sk-no-key-required",
        "ollama",
        "x",
    }
)
ENV_FIX = "write os.environ/NAME and export the key as NAME in the environment of the run"


def _compiled(pattern: str, cache: dict[str, re.Pattern[str]] = {}) -> re.Pattern[str]:  # noqa: B006 (a memo)
    found = cache.get(pattern)
    if found is None:
        found = cache[pattern] = re.compile(pattern)
    return found


def _normal(name: str) -> str:
    return name.lower().replace("-", "_")


def is_secret_name(name: object) -> bool:
    """Whether a key's value is a credential whatever it looks like (`api_key`, `Authorization`...)."""
    if not isinstance(name, str):
        return False
    normal = _normal(name)
    return _compiled(SECRET_NAME).match(normal) is not None and _compiled(NOT_SECRET_NAME).search(normal) is None


def env_name(value: object) -> str | None:
    """NAME when `value` is exactly `os.environ/NAME`, else None."""
    if not isinstance(value, str):
        return None
    match = _compiled(ENV_REFERENCE).match(value)
    return match.group(1) if match else None


def placeholder(value: object) -> bool:
    """A value that stands for "no key" or for a key held elsewhere: empty, a known placeholder, os.environ/NAME."""
    return isinstance(value, str) and (value.strip().lower() in PLACEHOLDERS or env_name(value) is not None)


def shapes_in(text: str) -> list[Shape]:
    """The credential formats `text` contains (empty for ordinary text)."""
    return [shape for shape in CREDENTIAL_SHAPES if shape.regex.search(text)]


SECRET_NAMED = "a credential under a secret-named key"


def literal_secrets(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, what) for every credential written literally in a JSON-like value: a string with a credential's
    shape, or a real value under a secret-named key (what: each reason, sorted and joined by " and ", as GR-006
    words it)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = (*path, key)
            if isinstance(item, str):
                whats = {shape.what for shape in shapes_in(item)}
                if is_secret_name(key) and not placeholder(item):
                    whats.add(SECRET_NAMED)
                if whats:
                    yield here, " and ".join(sorted(whats))
            else:
                yield from literal_secrets(item, here)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield from literal_secrets({index: item}, path)
            else:
                yield from literal_secrets(item, (*path, index))
    elif isinstance(value, str) and shapes_in(value):
        yield path, " and ".join(sorted({shape.what for shape in shapes_in(value)}))


# --- os.environ/NAME, resolved at send time ------------------------------------------------------------------


def env_references(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, NAME) for every `os.environ/NAME` in a JSON-like value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from env_references(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from env_references(item, (*path, index))
    else:
        name = env_name(value)
        if name is not None:
            yield path, name


def missing_env(value: Any, environ: Mapping[str, str] | None = None) -> list[tuple[Path, str]]:
    """The references whose variable is unset or empty: the run cannot send them."""
    environ = os.environ if environ is None else environ
    return [(path, name) for path, name in env_references(value) if not environ.get(name)]


def resolve_env(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """`value` with every `os.environ/NAME` replaced by the variable's value; call only on what goes on the wire.
    An unset variable stays unresolved (the run checks them all before it starts: `missing_env`)."""
    environ = os.environ if environ is None else environ
    if isinstance(value, Mapping):
        return {key: resolve_env(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_env(item, environ) for item in value]
    name = env_name(value)
    if name is None:
        return value
    return environ.get(name) or value


# --- the same facts for Rego (GR-006) ------------------------------------------------------------------------


def prefilter() -> str:
    """The markers as one case-insensitive regex (Rego's screen; Python tests `MARKERS` on lower-cased text)."""
    return "(?i)" + "|".join(MARKERS)  # plain literals: no character in them is special to a regex


def policy_data() -> dict[str, Any]:
    """What GR-006 reads as `data.credentials` (generated into policies/data/credentials.yaml)."""
    return {
        "shapes": {shape.what: shape.pattern for shape in CREDENTIAL_SHAPES},
        "prefilter": prefilter(),
        "secret_name": SECRET_NAME,
        "not_secret_name": NOT_SECRET_NAME,
        "env_reference": ENV_REFERENCE,
        "placeholders": sorted(PLACEHOLDERS),
    }


def render_policy_data() -> str:
    """policies/data/credentials.yaml, byte for byte (YAML read as JSON: every string in double quotes)."""
    data = policy_data()
    lines = [
        "# Generated from src/guardrail/core/secrets.py; edit that module, not this file, then regenerate:",
        "#   python -m guardrail.core.secrets > policies/data/credentials.yaml",
        "# Mounted as data.credentials; read by GR-006 (policies/roster/secrets.rego).",
        "shapes:",
        *(f"  {json.dumps(what)}: {json.dumps(pattern)}" for what, pattern in data["shapes"].items()),
        *(f"{key}: {json.dumps(data[key])}" for key in data if key != "shapes"),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render_policy_data(), end="")


__all__ = [
    "CREDENTIAL_SHAPES",
    "ENV_FIX",
    "ENV_REFERENCE",
    "MARKERS",
    "PLACEHOLDERS",
    "SECRET_NAME",
    "SECRET_NAMED",
    "Shape",
    "env_name",
    "env_references",
    "is_secret_name",
    "literal_secrets",
    "missing_env",
    "placeholder",
    "policy_data",
    "prefilter",
    "render_policy_data",
    "resolve_env",
    "shapes_in",
]
