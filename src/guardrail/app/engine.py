"""The one way to get a policy engine: embedded regorus in a limited worker, or an OPA server when a URL is given.

Every command that evaluates policies (policy eval, roster check, gate, run's replay, report's gate decision, and
the hook and audit) opens its engine here, so `--opa-url` reaches all of them and the embedded engine's limits
and checks apply everywhere alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, PolicyBundle, PolicyEngine, compile_errors, load_bundle
from guardrail.adapters.rego_worker import DEFAULT_MEMORY_MB, EngineWorker


def open_engine(
    bundle: PolicyBundle,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    opa_url: str | None = None,
    coverage: bool = False,
    wait: bool = True,
) -> PolicyEngine:
    """`wait=False`: the embedded engine loads in its process while the caller goes on; its first query waits."""
    if opa_url:
        from guardrail.adapters.opa_server import OpaServerEngine

        # OPA's REST API has no transactions: compile here first so a broken bundle never half-replaces the server's
        errors = compile_errors(bundle)
        if errors:
            raise errors[0]
        return OpaServerEngine(opa_url, bundle, timeout_s=timeout_s)
    return EngineWorker(bundle, timeout_s=timeout_s, memory_mb=memory_mb, coverage=coverage, wait=wait)


def load_policies(
    policies_dir: Path,
    *,
    include_tests: bool = False,
    extra_data: Iterable[Path] = (),
    display_root: Path | None = None,
) -> PolicyBundle:
    return load_bundle(policies_dir, include_tests=include_tests, extra_data=extra_data, display_root=display_root)


__all__ = ["load_policies", "open_engine"]
