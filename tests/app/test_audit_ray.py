"""`--engine ray` on a real local Ray: the same findings and scorecard as the embedded engine, and nothing sent
outside 127.0.0.1 (the project's netguard traps every outbound connection of the command and its Ray workers)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.test_offline import run_guarded

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_ray_finds_what_the_embedded_engine_finds_offline(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the guardrail[ray] extra is not installed")
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    args = ["audit", "examples/traces", "--roster", "examples/roster.yaml", "--no-track", "-f", "json"]
    embedded = run_cli(*args, "--out", "local", cwd=tmp_path)
    log = tmp_path / "net.log"
    before, homes = _ray_processes(), set(Path(tempfile.gettempdir()).glob("guardrail-ray-home-*"))
    ray = run_guarded([*args, "--engine", "ray", "--out", "ray"], tmp_path, log)
    assert ray.returncode == embedded.code == 1, ray.stderr[-3000:]
    assert _outliving(before) == {}  # no Ray process (its agents included) outlives the command
    assert set(Path(tempfile.gettempdir()).glob("guardrail-ray-home-*")) == homes  # nor its temporary HOME
    assert not log.exists() or log.read_text() == "", log.read_text()
    local, distributed = json.loads(embedded.out), json.loads(ray.stdout)

    def findings(payload: dict) -> list[tuple[str, str, str, str, str]]:  # type: ignore[type-arg]
        return sorted((f["rule"], f["agent"], f["trace_id"], f["span_id"], f["msg"]) for f in payload["findings"])

    assert findings(distributed) == findings(local)
    assert distributed["engine"] == "ray"
    for key in ("events", "tool_calls", "model_calls", "records_by_source", "agents", "offices"):
        assert distributed["scorecard"][key] == local["scorecard"][key], key


RAY_PROCESS = ("ray::", "raylet", "gcs_server", "ray/_private/workers/", "ray/dashboard/", "runtime_env/agent")


def _ray_processes() -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if any(mark in command for mark in RAY_PROCESS):
                found[int(entry.name)] = command[:120]
    return found


def _outliving(before: dict[int, str], within_s: float = 15.0) -> dict[int, str]:
    """Ray processes that were not running before and still are `within_s` after the command ended."""
    deadline = time.monotonic() + within_s
    while True:
        left = {pid: command for pid, command in _ray_processes().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)
