"""A governance tool sends nothing anywhere: the main commands run with outbound connections trapped."""

from __future__ import annotations

import os
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
    code = "import sys\nfrom guardrail.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
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
    log = tmp_path / "net.log"
    reports = tmp_path / "reports"
    commands = [
        ["policy", "test", "policies", "--coverage"],
        ["roster", "check", "examples/roster.yaml"],
        ["roster", "check", "examples/unsafe-roster.yaml"],
    ]
    for argv in commands:
        proc = run_guarded(argv, repo_root, log)
        assert proc.returncode in (0, 1), proc.stderr
    assert not log.exists() or log.read_text() == "", log.read_text()
    del reports
