"""Two runs starting together on a fresh project both create the local MLflow store: the second must wait for
the first (it used to fail with `table _alembic_tmp_experiments already exists`, exit 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPEN_STORE = """
import sys
from pathlib import Path
from guardrail.adapters import mlflow_store
import mlflow  # imported before the start: what races is creating the store, not importing mlflow
print("ready", flush=True)
sys.stdin.readline()
print(mlflow_store.TrackingClient(sys.argv[1]).experiment("guardrail/x", Path(sys.argv[2])))
"""


@pytest.mark.slow
@pytest.mark.integration
def test_three_processes_creating_one_store_at_once_all_succeed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / '.guardrail' / 'mlflow.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    argv = [sys.executable, "-c", OPEN_STORE, uri, str(tmp_path / "artifacts")]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    procs = [subprocess.Popen(argv, env=env, text=True, **pipes) for _ in "abc"]  # type: ignore[call-overload]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:  # all three start at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], [err[-2000:] for _, err in results]
    assert len({out.strip() for out, _ in results}) == 1  # one experiment, found by all three
