"""A governance tool sends nothing anywhere: the main commands run with outbound connections trapped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guardrail._offline import OFFLINE_DEFAULTS

NETGUARD = Path(__file__).resolve().parent / "support" / "netguard"


def run_guarded(
    argv: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in OFFLINE_DEFAULTS}  # the package must set them
    environment.update(env or {})
    environment["PYTHONPATH"] = os.pathsep.join([str(NETGUARD), environment.get("PYTHONPATH", "")])
    environment["GUARDRAIL_NETGUARD_LOG"] = str(log)
    code = "from guardrail.cli.main import entry\nentry()\n"  # the console script's own way out (cli/main.finish)
    return subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=cwd, env=environment, capture_output=True, text=True, timeout=600
    )


def test_netguard_itself_blocks_and_records(tmp_path: Path) -> None:
    log = tmp_path / "net.log"
    environment = dict(os.environ, PYTHONPATH=str(NETGUARD), GUARDRAIL_NETGUARD_LOG=str(log))
    code = (
        "import socket\ntry:\n    socket.create_connection(('203.0.113.7', 443), timeout=1)\n"
        "except OSError:\n    pass\n"
    )
    subprocess.run([sys.executable, "-c", code], env=environment, check=True, timeout=60)
    assert "203.0.113.7" in log.read_text()


def test_offline_defaults_are_set_on_import_and_respect_the_user() -> None:
    code = (
        "import os\nos.environ['MLFLOW_DISABLE_TELEMETRY'] = 'user-choice'\nimport guardrail\n"
        "print(os.environ['MLFLOW_DISABLE_TELEMETRY'], os.environ['DEEPEVAL_TELEMETRY_OPT_OUT'],"
        " os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])\n"
    )
    environment = {k: v for k, v in os.environ.items() if k not in OFFLINE_DEFAULTS}
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["user-choice", "1", "True"]


@pytest.mark.integration
@pytest.mark.slow
def test_main_commands_make_no_outbound_connection(repo_root: Path, tmp_path: Path) -> None:
    """Policy tests, roster check, a full tracked run (litellm, deepeval, mlflow loaded), report and gate."""
    project = tmp_path / "project"
    for folder in ("policies", "suites", "evals", "examples"):
        shutil.copytree(repo_root / folder, project / folder)
    log = tmp_path / "net.log"
    base = tmp_path / "base-roster.yaml"
    shutil.copy(project / "examples" / "roster.yaml", base)
    commands: list[tuple[list[str], set[int]]] = [
        (["policy", "test", "policies", "--coverage"], {0}),
        (["roster", "check", "examples/roster.yaml"], {0}),
        (["roster", "check", "examples/unsafe-roster.yaml"], {1}),
        (["run", "evals/support-triage.yaml", "--candidates", "sim/frontier,sim/balanced", "--quiet"], {0}),
        (["gate", "--roster", "examples/roster.yaml", "--base", str(base)], {0}),
    ]
    for argv, codes in commands:
        proc = run_guarded(argv, project, log)
        assert proc.returncode in codes, f"{argv}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    run_id = next((project / "reports").iterdir()).name
    proc = run_guarded(["report", run_id], project, log)
    assert proc.returncode == 0, proc.stderr
    assert (project / ".guardrail" / "mlflow.db").is_file()
    assert not log.exists() or log.read_text() == "", log.read_text()
