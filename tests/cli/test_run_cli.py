"""`guardrail run` through the real entry point: every exit code, messages without tracebacks, simulated
labels."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.support.run_project import make_project

REPO = Path(__file__).resolve().parents[2]


def _project(root: Path, **kw: object) -> Path:
    """The runner's test project plus the bundled gate policy, which `guardrail run` consults after the replay."""
    spec = make_project(root, **kw)  # type: ignore[arg-type]
    gate = root / "policies/gate"
    gate.mkdir(parents=True, exist_ok=True)
    (gate / "eval.rego").write_text((REPO / "policies/gate/eval.rego").read_text())
    return spec


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_simulated_run_prints_counts_and_exits_0(tmp_path: Path) -> None:
    spec = _project(tmp_path, tasks=4, candidates=["sim/frontier", "sim/reckless"])
    result = run_cli("run", spec, "--quiet", "--no-track", cwd=tmp_path)
    assert result.code == 0, result.text
    assert "sim/frontier (simulated)" in result.out and "sim/reckless (simulated)" in result.out
    run_dirs = list((tmp_path / "reports").iterdir())
    assert len(run_dirs) == 1 and str(run_dirs[0].name) in result.out
    rows = [json.loads(x) for x in (run_dirs[0] / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and all(r["simulated"] for r in rows)
    # a second run is served from the cache: zero model calls
    again = run_cli("run", spec, "--quiet", "--no-track", "--candidates", "sim/frontier", cwd=tmp_path)
    assert again.code == 0, again.text
    (newest,) = set((tmp_path / "reports").iterdir()) - set(run_dirs)
    rows = [json.loads(x) for x in (newest / "results.jsonl").read_text().splitlines()]
    assert {r["candidate"] for r in rows} == {"sim/frontier"} and len(rows) == 4
    assert sum(r["model_calls"] for r in rows) == 0 and all(r["cache_hits"] > 0 for r in rows)


@pytest.mark.parametrize(
    ("target", "text", "where"),
    [
        (
            "suites/triage/bad.yaml",
            "- id: x\n  messages: [{role: user, content: hi}]\n  tools: [ghost.tool]\n",
            "bad.yaml:3",
        ),
        ("suites/triage/bad.jsonl", '{"id": "x", "messages": [}\n', "bad.jsonl:1"),
        ("evals/triage.yaml", "name: x\nagent: [unclosed\n", "triage.yaml:"),
        (
            "evals/triage.yaml",
            "name: x\nagent: triage\nsuites: [suites/triage]\ncandidates: [sim/genius]\nbaseline: sim/genius\n",
            "triage.yaml:4",
        ),
        (
            "roster.yaml",
            "version: 1\norganization: T\nagents:\n  - name: triage\n    model: m\n    tools: [nope]\n",
            "roster.yaml:6",
        ),
        (  # an infinite budget used to reach the policy engine and end in exit 3, naming nothing
            "roster.yaml",
            "version: 1\norganization: T\nagents:\n  - name: triage\n    model: m\n    budget_usd_per_day: .inf\n",
            "roster.yaml:6: agents[0].budget_usd_per_day: not a finite number",
        ),
        (  # a broken JSON Schema used to be accepted, then turn every task into an error row
            "suites/triage/tools.yaml",
            "tools:\n  crm.lookup_order:\n    parameters: {type: object, properties: 7}\n",
            "tools.yaml:3: tools.crm.lookup_order.parameters.properties: 7 is not of type 'object'",
        ),
        ("suites/triage/deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "deep.jsonl:1: nested deeper than"),
        (
            "evals/triage.yaml",
            f"name: x\nroster: {'r' * 1_000_000}\nagent: triage\nsuites: [suites/triage]\ncandidates: [sim/frontier]\n"
            "baseline: sim/frontier\n",
            "triage.yaml:2: roster: path too long",
        ),
    ],
)
def test_malformed_inputs_exit_2_with_file_and_line(tmp_path: Path, target: str, text: str, where: str) -> None:
    spec = _project(tmp_path, tasks=2)
    (tmp_path / target).write_text(text)
    result = run_cli("run", spec, "--quiet", "--no-track", cwd=tmp_path)
    assert result.code == 2, result.text
    assert where in result.err and result.err.startswith("guardrail: error:")
    assert "Traceback" not in result.text


def test_bad_options_exit_2(tmp_path: Path) -> None:
    spec = _project(tmp_path, tasks=1)
    assert run_cli("run", tmp_path / "evals/missing.yaml", cwd=tmp_path).code == 2
    unknown = run_cli("run", spec, "--candidates", "openai/ghost", "--quiet", "--no-track", cwd=tmp_path)
    assert unknown.code == 2 and "openai/ghost" in unknown.err
    resume = run_cli("run", spec, "--resume", "20990101T000000Z-0000", "--quiet", "--no-track", cwd=tmp_path)
    assert resume.code == 2 and "no run" in resume.err
    assert run_cli("run", spec, "--concurrency", "0", cwd=tmp_path).code == 2


def test_unreachable_provider_exits_3(tmp_path: Path) -> None:
    params = {"api_base": f"http://127.0.0.1:{_closed_port()}/v1", "api_key": "test"}
    spec = _project(tmp_path, tasks=2, candidates=[{"id": "openai/down", "params": params}], timeout_s=2)
    result = run_cli("run", spec, "--quiet", "--no-track", "--no-cache", cwd=tmp_path)
    assert result.code == 3, result.text
    assert "too many task errors" in result.err and "openai/down" in result.err
    assert "Traceback" not in result.text
    run_dir = next((tmp_path / "reports").iterdir())
    rows = [json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()]
    assert {r["status"] for r in rows} == {"error"} and {r["error_kind"] for r in rows} == {"connection"}
    assert "test" not in json.dumps(json.loads((run_dir / "run.json").read_text())["candidates"])  # no api_key


def test_out_option_sets_the_reports_folder(tmp_path: Path) -> None:
    spec = _project(tmp_path, tasks=1, candidates=["sim/balanced"])
    result = run_cli("run", spec, "--quiet", "--no-track", "--out", tmp_path / "elsewhere", cwd=tmp_path)
    assert result.code == 0, result.text
    assert len(list((tmp_path / "elsewhere").glob("*/results.jsonl"))) == 1
    assert not (tmp_path / "reports").exists()


def test_out_outside_the_project_reports_with_the_spec_s_project_and_keeps_evidence_there(tmp_path: Path) -> None:
    """The report step judges with the spec's project (not the run folder's, which has none), and a run placed
    outside the project leaves its evidence in its own folder, not in the project's committed evidence/."""
    spec = _project(tmp_path / "proj", tasks=1, candidates=["sim/balanced"])
    (tmp_path / "elsewhere").mkdir()
    result = run_cli("run", spec, "--quiet", "--no-track", "--out", tmp_path / "out", cwd=tmp_path / "elsewhere")
    assert result.code == 0, result.text
    (run_dir,) = (tmp_path / "out").iterdir()
    assert (run_dir / "report.html").is_file() and len(list((run_dir / "evidence").glob("*.json"))) == 1
    assert not (tmp_path / "proj/evidence").exists() and not (tmp_path / "proj/reports").exists()
    assert f"evidence: 1 record(s) in {run_dir / 'evidence'}" in result.out


def test_gate_denial_of_the_proposed_candidate_exits_1(tmp_path: Path) -> None:
    spec = _project(
        tmp_path,
        tasks=6,
        candidates=["sim/frontier", {"id": "sim/budget", "params": {"sim_accuracy": 0.0}}],
        propose="sim/budget",
        thresholds={"accuracy": {"min": 0.9}},
    )
    result = run_cli("run", spec, "--quiet", "--no-track", cwd=tmp_path)
    assert result.code == 1, result.text
    assert "the eval gate denied the proposed candidate sim/budget" in result.err
    assert "Traceback" not in result.text


@pytest.mark.integration
@pytest.mark.parametrize(
    ("sig", "workers"),
    [(signal.SIGINT, "1"), (signal.SIGTERM, "1"), (signal.SIGTERM, "2")],
    ids=["ctrl-c", "kill-term", "kill-term-split"],
)
def test_ctrl_c_or_kill_term_exits_130_and_the_run_resumes_to_one_row_per_task(
    tmp_path: Path, sig: signal.Signals, workers: str
) -> None:
    """SIGTERM to the run's process alone (`kill PID`: a cancelled CI job, a stopped container) ends it as Ctrl-C
    does: run.json marked interrupted, not left `running`, and `--resume` finishes it."""
    import os
    import subprocess
    import sys
    import time

    spec = _project(tmp_path, tasks=120, candidates=["sim/frontier"])
    env = dict(os.environ, GUARDRAIL_SIM_LATENCY_SCALE="0.05", PYTHONPATH=str(REPO / "src"))
    argv = [sys.executable, "-m", "guardrail.cli.main", "run", str(spec), "--quiet", "--no-track", "--concurrency", "2"]
    argv += ["--workers", workers]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    journal: list[Path] = []
    while time.monotonic() < deadline:
        journal = list((tmp_path / "reports").glob("*/results.jsonl")) if (tmp_path / "reports").is_dir() else []
        if journal and len(journal[0].read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    run_dir = journal[0].parent
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    done_before = len(journal[0].read_text().splitlines())
    assert 0 < done_before < 120
    resumed = run_cli("run", spec, "--quiet", "--no-track", "--resume", run_dir.name, cwd=tmp_path)
    assert resumed.code == 0, resumed.text
    keys = [json.loads(line)["task_id"] for line in journal[0].read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 120


def test_candidates_without_the_proposed_model_say_why_the_gate_cannot_judge(tmp_path: Path) -> None:
    spec = _project(tmp_path, tasks=2, candidates=["sim/frontier", "sim/budget"], propose="sim/budget")
    result = run_cli("run", spec, "--quiet", "--no-track", "--candidates", "sim/frontier", cwd=tmp_path)
    assert result.code == 1, result.text
    assert "cannot judge the proposal: the proposed model sim/budget was not among this run's candidates" in result.err
    assert "hint: run again with sim/budget in --candidates" in result.err
