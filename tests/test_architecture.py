"""The import rules hold: cli -> app -> core, app -> adapters; report renders core records and imports no app,
adapter or cli module; core is pure; heavy SDKs stay inside adapters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "guardrail"
HEAVY = {"litellm", "mlflow", "deepeval", "pandas", "numpy", "scipy", "opa_client", "regorus", "ray"}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level) for every import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "guardrail" and len(parts) > 1 else None


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_layering(path: Path) -> None:
    layer = path.relative_to(SRC).parts[0]
    for module, _ in _imports(path):
        target = _layer(module)
        if layer == "core":
            assert target not in {"adapters", "app", "cli", "report"}, f"core must stay pure: {module}"
            assert module.split(".")[0] not in HEAVY - {"numpy", "scipy"}, f"core imports {module}"
        if layer in {"adapters", "report"}:
            assert target not in {"app", "cli"}, f"{layer} must not import {target}: {module}"
        if layer == "report":  # renderers read records from core; they call nothing that does I/O
            assert target != "adapters", f"report renders records from core: {module}"
        if layer == "app":
            assert target != "cli", f"app must not import cli: {module}"


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_heavy_sdks_are_imported_lazily(path: Path) -> None:
    for module, top_level in _imports(path):
        if module.split(".")[0] in HEAVY:
            assert not top_level, f"{module} imported at module level in {path.name}: import it inside a function"


FAST_COMMANDS = [
    ["policy", "test", "policies"],
    ["policy", "check", "policies"],
    ["roster", "check", "examples/roster.yaml"],
    ["gate", "--roster", "examples/roster.yaml", "--base", "examples/roster.yaml"],
]


@pytest.mark.integration
@pytest.mark.parametrize("argv", FAST_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_fast_commands_do_not_import_heavy_sdks(argv: list[str], repo_root: Path) -> None:
    code = (
        "import sys\nfrom guardrail.cli.main import main\n"
        f"rc = main({argv!r})\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'litellm', 'mlflow', 'deepeval', 'pandas'})\n"
        "print('HEAVY=' + ','.join(heavy)); print('RC=' + str(rc))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert "HEAVY=\n" in proc.stdout, proc.stdout + proc.stderr
    assert "RC=0" in proc.stdout, proc.stdout + proc.stderr
