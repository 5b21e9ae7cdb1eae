"""`guardrail policy bundle`: the project's policies (without their tests) and data as an OPA bundle.

Other runtimes (an OPA server, Microsoft's Agent Governance Toolkit, Gatekeeper) load the bundle and decide with
the same policies the runner, the hook and the audit use. The revision is the policies hash that evidence and the
decision log record, so a decision can be traced to the bundle that made it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import guardrail
from guardrail.adapters.opa_bundle import write_bundle
from guardrail.adapters.rego import compile_errors, load_bundle
from guardrail.core.hashing import policies_hash
from guardrail.errors import PolicyError


def build_bundle(policies_dir: Path, out: Path) -> dict[str, Any]:
    """Compile first (a bundle OPA would refuse is never written), then write; returns the manifest."""
    bundle = load_bundle(policies_dir, include_tests=False, display_root=policies_dir)
    errors = compile_errors(bundle)
    if errors:
        raise errors[0] if len(errors) == 1 else PolicyError("\n".join(str(e) for e in errors))
    return write_bundle(
        bundle,
        out,
        revision=f"sha256:{policies_hash(policies_dir)}",
        metadata={"built_by": f"guardrail {guardrail.__version__}", "modules": len(bundle.modules)},
    )


__all__ = ["build_bundle"]
