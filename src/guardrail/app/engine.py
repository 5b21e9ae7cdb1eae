"""One way to get a policy engine: embedded regorus in a kill-able worker, or an OPA server when a URL is given."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from guardrail.adapters.rego import (
    DEFAULT_TIMEOUT_S,
    EngineWorker,
    PolicyBundle,
    PolicyEngine,
    compile_errors,
    load_bundle,
)


def open_engine(
    bundle: PolicyBundle,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    opa_url: str | None = None,
    coverage: bool = False,
) -> PolicyEngine:
    if opa_url:
        from guardrail.adapters.opa_server import OpaServerEngine

        # OPA's REST API has no transactions: compile here first so a broken bundle never half-replaces the server's
        errors = compile_errors(bundle)
        if errors:
            raise errors[0]
        return OpaServerEngine(opa_url, bundle, timeout_s=timeout_s)
    return EngineWorker(bundle, timeout_s=timeout_s, coverage=coverage)


def load_policies(policies_dir: Path, *, include_tests: bool = False, extra_data: Iterable[Path] = ()) -> PolicyBundle:
    return load_bundle(policies_dir, include_tests=include_tests, extra_data=extra_data)
