"""Offline-by-default environment, applied before any heavy SDK is imported.

A governance tool must send nothing anywhere unless told to. Each variable below stops a library from phoning home
(telemetry, price catalogs, .env loading) or from leaking a Rust backtrace into user-facing messages. A value the user
already set is respected.
"""

from __future__ import annotations

import os

OFFLINE_DEFAULTS: dict[str, str] = {
    # litellm fetches a model price list at import time unless told to use its bundled copy.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    # deepeval: telemetry, a .deepeval/ folder in the cwd, and .env loading from the cwd.
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "DEEPEVAL_FILE_SYSTEM": "READ_ONLY",
    "DEEPEVAL_DISABLE_DOTENV": "1",
    "DEEPEVAL_UPDATE_WARNING_OPT_IN": "0",
    "ERROR_REPORTING": "0",
    # mlflow: telemetry and the judges' price catalog.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_MODEL_CATALOG_URI": "",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    # ray (guardrail audit --engine ray): no usage-stats report to Anyscale.
    "RAY_USAGE_STATS_ENABLED": "0",
    # regorus: messages without a Rust backtrace.
    "RUST_BACKTRACE": "0",
}


def apply_offline_defaults() -> None:
    """Set every opt-out that the user has not set themselves."""
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
