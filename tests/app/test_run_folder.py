"""The run folder: one writer at a time (a second run or resume is refused, exit 2, naming the holder), `--resume`
takes a run id of this project only, and an OS error while writing (a full disk) ends the run with exit 3 naming
the path, run.json marked, and a resume that finishes the run.

The full disk is real where the machine allows a mount namespace (a 96 KiB tmpfs under `reports/`); the injected
one (ENOSPC from fsync, the journal's write seam) runs everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support.cli import run_cli
from tests.support.run_project import ScriptedClient, make_project

from guardrail.adapters import journal as journal_module
from guardrail.adapters.journal import read_rows
from guardrail.adapters.locks import Busy, FileLock
from guardrail.app.run_eval import RunOptions, run_eval
from guardrail.app.run_folder import LOCK_FILE
from guardrail.errors import ConfigError, CouldNotFinish, ExitCode

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "GUARDRAIL_SIM_LATENCY_SCALE": "0"}


def _keys(run_dir: Path) -> list[tuple[str, str, str, int]]:
    return [(r.suite, r.task_id, r.candidate, r.repeat) for r in read_rows(run_dir / "results.jsonl")]


def _status(run_dir: Path) -> str:
    return str(json.loads((run_dir / "run.json").read_text())["status"])


@pytest.mark.parametrize("given", ["", "../elsewhere", "/tmp", "reports/20260101T000000Z-abcd", "latest"])
def test_resume_takes_a_run_id_of_this_project_only(tmp_path: Path, given: str) -> None:
    spec = make_project(tmp_path, tasks=1)
    with pytest.raises(ConfigError, match="not a run id") as info:
        run_eval(spec, RunOptions(quiet=True, resume=given), client=ScriptedClient())
    assert info.value.field == "--resume" and info.value.exit_code == ExitCode.BAD_INPUT
    assert not (tmp_path / "reports").exists()  # and no new run was started instead


def test_a_second_writer_is_refused_naming_the_holder_and_a_killed_holder_holds_nothing(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=2)
    first = run_eval(spec, RunOptions(quiet=True, keep_lock=True), client=ScriptedClient())
    with pytest.raises(ConfigError, match=rf"is being written by pid {os.getpid()} on host \S+ since 20") as info:
        run_eval(spec, RunOptions(quiet=True, resume=first.manifest.run_id), client=ScriptedClient())
    assert info.value.exit_code == ExitCode.BAD_INPUT
    first.release()
    holder = subprocess.Popen(  # another process holds it, then dies by kill -9: the kernel drops the lock
        [sys.executable, "-c", "import sys, time; from guardrail.adapters.locks import FileLock; "
         "FileLock(__import__('pathlib').Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)",
         str(first.run_dir / LOCK_FILE)],
        env=ENV, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(ConfigError, match=f"pid {holder.pid} on host"):
        run_eval(spec, RunOptions(quiet=True, resume=first.manifest.run_id), client=ScriptedClient())
    holder.kill()
    holder.wait()
    resumed = run_eval(spec, RunOptions(quiet=True, resume=first.manifest.run_id), client=ScriptedClient())
    assert resumed.manifest.status == "finished" and len(_keys(resumed.run_dir)) == 4


def test_a_forked_child_does_not_keep_the_lock(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "x.lock").acquire()
    ready, tell = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child says it runs (its at-fork hooks have run), then only sleeps
        os.write(tell, b"x")
        time.sleep(5)
        os._exit(0)
    os.read(ready, 1)
    try:
        with pytest.raises(Busy):
            FileLock(tmp_path / "x.lock").acquire()
        lock.release()  # the child still runs, and holds nothing
        FileLock(tmp_path / "x.lock").acquire().release()
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)


def test_a_failed_start_leaves_no_folder_and_out_that_cannot_be_made_is_an_input_error(tmp_path: Path) -> None:
    spec = make_project(tmp_path, tasks=1)
    with pytest.raises(ConfigError, match="not a candidate"):
        run_eval(spec, RunOptions(quiet=True, candidates=["openai/ghost"]), client=ScriptedClient())
    assert not (tmp_path / "reports").exists()
    (tmp_path / "reports").mkdir()
    with pytest.raises(ConfigError, match="not a candidate"):
        run_eval(spec, RunOptions(quiet=True, candidates=["openai/ghost"]), client=ScriptedClient())
    assert list((tmp_path / "reports").iterdir()) == []  # a reports folder that was there stays
    with pytest.raises(ConfigError, match="cannot make the run folder: a part of the path is not a directory") as info:
        run_eval(spec, RunOptions(quiet=True, out=Path("/dev/null/x")), client=ScriptedClient())
    assert info.value.field == "--out" and "/dev/null/x/" in str(info.value)


def _failed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **spec: object) -> tuple[Path, Path]:
    """A run stopped part-way by a full disk (injected at the journal's fsync): (spec, run folder)."""
    spec_path = make_project(tmp_path, **spec)  # type: ignore[arg-type]
    (tmp_path / "policies/gate").mkdir()  # the eval gate `guardrail run` consults after the replay
    (tmp_path / "policies/gate/eval.rego").write_text((REPO / "policies/gate/eval.rego").read_text())
    real_fsync, calls = os.fsync, 0

    def fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls > 10:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(journal_module.os, "fsync", fsync)
        with pytest.raises(CouldNotFinish, match=r"results\.jsonl: cannot write: No space left on device") as info:
            run_eval(spec_path, RunOptions(quiet=True, concurrency=2), client=ScriptedClient())
    assert info.value.exit_code == ExitCode.COULD_NOT_FINISH and "--resume" in str(info.value)
    (run_dir,) = (tmp_path / "reports").iterdir()
    return spec_path, run_dir


def test_a_full_disk_at_the_write_seam_ends_in_exit_3_marked_and_resumable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, run_dir = _failed_run(tmp_path, monkeypatch, tasks=30)
    assert _status(run_dir) == "failed"
    resumed = run_eval(spec, RunOptions(quiet=True, resume=run_dir.name), client=ScriptedClient())
    keys = _keys(resumed.run_dir)
    assert len(keys) == len(set(keys)) == 60 and _status(run_dir) == "finished"
    assert len((run_dir / "transcripts.jsonl").read_text().splitlines()) == 60


@pytest.mark.slow
@pytest.mark.integration
def test_two_resumes_of_one_run_at_once_the_second_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, run_dir = _failed_run(tmp_path, monkeypatch, tasks=30, candidates=["sim/frontier", "sim/budget"])
    argv = [
        sys.executable,
        "-m",
        "guardrail.cli.main",
        "run",
        str(spec),
        "--quiet",
        "--no-track",
        "--resume",
        run_dir.name,
    ]
    first = subprocess.Popen(argv, cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while f'"pid": {first.pid}' not in (run_dir / LOCK_FILE).read_text():  # it holds the folder...
            assert first.poll() is None and time.monotonic() < deadline, "the first resume never took the lock"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGSTOP)  # ...and stays right there while the second one starts
        second = subprocess.run(argv, cwd=tmp_path, env=ENV, capture_output=True, text=True)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, first_err = first.communicate(timeout=300)
    assert second.returncode == 2 and f"is being written by pid {first.pid} on host" in second.stderr, second.stderr
    assert first.returncode in (0, 1), first_err
    keys = _keys(run_dir)
    assert len(keys) == len(set(keys)) == 60 and _status(run_dir) == "finished"


@pytest.mark.integration
def test_a_report_while_a_resume_writes_the_run_is_refused_naming_its_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, run_dir = _failed_run(tmp_path, monkeypatch, tasks=20, candidates=["sim/frontier", "sim/budget"])
    argv = [sys.executable, "-m", "guardrail.cli.main", "run", str(spec), "--quiet", "--no-track", "--resume"]
    writer = subprocess.Popen([*argv, run_dir.name], cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while f'"pid": {writer.pid}' not in (run_dir / LOCK_FILE).read_text():  # it holds the folder...
            assert writer.poll() is None and time.monotonic() < deadline, "the resume never took the lock"
            time.sleep(0.02)
        os.kill(writer.pid, signal.SIGSTOP)  # ...and stays right there while the report is asked for
        refused = run_cli("report", run_dir.name, "--no-track", cwd=tmp_path)
    finally:
        os.kill(writer.pid, signal.SIGCONT)
    _, writer_err = writer.communicate(timeout=300)
    assert refused.code == 2, refused.text
    assert f"run {run_dir.name} is being written by pid {writer.pid} on host" in refused.err
    assert "then report it" in refused.err and "Traceback" not in refused.text
    assert writer.returncode in (0, 1), writer_err
    assert len(_keys(run_dir)) == 40 and _status(run_dir) == "finished"
    assert run_cli("report", run_dir.name, "--no-track", cwd=tmp_path).code in (0, 1)  # once the writer is done


FULL_DISK = """
set -u
mount -t tmpfs -o size=96k tmpfs "$REPORTS" || exit 99
G="$PY -m guardrail.cli.main run $SPEC --quiet --no-track"
$G --workers 1 2> "$OUT/first.err"; echo $? > "$OUT/first.rc"
mkdir "$OUT/full" && cp -a "$REPORTS"/. "$OUT/full/"
mount -o remount,size=16m "$REPORTS"
RUN=$(ls "$REPORTS")
$G --resume "$RUN" 2> "$OUT/second.err"; echo $? > "$OUT/second.rc"
mkdir "$OUT/resumed" && cp -a "$REPORTS"/. "$OUT/resumed/"
"""


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) for a private mount namespace")
def test_a_really_full_disk_ends_in_exit_3_with_the_path_and_the_run_resumes(tmp_path: Path) -> None:
    root, out = tmp_path / "project", tmp_path / "out"
    spec = make_project(root, tasks=80, candidates=["sim/frontier", "sim/budget"])
    (root / "policies/gate").mkdir(parents=True)
    (root / "policies/gate/eval.rego").write_text((REPO / "policies/gate/eval.rego").read_text())
    (root / "reports").mkdir()
    out.mkdir()
    env = {**ENV, "REPORTS": str(root / "reports"), "SPEC": str(spec), "OUT": str(out), "PY": sys.executable}
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", FULL_DISK], cwd=root, env=env, timeout=300)
    if proc.returncode in (1, 99) and not (out / "first.rc").exists():
        pytest.skip("this machine allows no mount namespace (unshare -rm, then mount tmpfs)")
    first_err = (out / "first.err").read_text()
    assert (out / "first.rc").read_text().strip() == "3", first_err
    assert "could not finish:" in first_err and "No space left on device" in first_err and "Traceback" not in first_err
    (full,) = (out / "full").iterdir()
    assert str(root / "reports" / full.name) in first_err  # the path, as the user knows it
    assert _status(full) == "failed"
    assert (out / "second.rc").read_text().strip() in ("0", "1"), (out / "second.err").read_text()
    resumed = out / "resumed" / full.name
    keys = _keys(resumed)
    assert len(keys) == len(set(keys)) == 160 and _status(resumed) == "finished"
