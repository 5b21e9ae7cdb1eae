"""The entry point's exit: a daemon thread still running (an SDK warming up beside a run that stopped early) must
not hang the process after its message is printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# A daemon thread is inside an import that never ends (it holds that module's import lock); an object whose
# finalizer imports the same module is alive at exit. A normal interpreter shutdown freezes the thread and then
# runs the finalizer, which waits for the lock forever: the hang Ctrl-C of a split run used to end in.
HANG_AT_EXIT = """
import sys, threading, time
sys.path.insert(0, sys.argv[1])
from guardrail.cli.main import finish
started = threading.Event()
def slow_import():
    started.set()
    import never_done
threading.Thread(target=slow_import, daemon=True).start()
started.wait()
time.sleep(0.2)
class Finalizer:
    def __del__(self):
        import never_done
cycle = Finalizer()
cycle.me = cycle  # garbage the interpreter's last collection finalizes
del cycle
print("leaving", flush=True)
finish(7)
"""


def test_exit_does_not_wait_for_a_daemon_thread_stuck_in_an_import(tmp_path: Path) -> None:
    (tmp_path / "never_done.py").write_text("import time\nwhile True:\n    time.sleep(1)\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{tmp_path}"}
    proc = subprocess.run(
        [sys.executable, "-c", HANG_AT_EXIT, str(tmp_path)], env=env, capture_output=True, text=True, timeout=20
    )
    assert (proc.returncode, proc.stdout) == (7, "leaving\n"), proc.stderr


def test_a_command_imports_only_its_own_command_modules_and_help_lists_them_all() -> None:
    code = (
        "import sys\nfrom guardrail.cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "print(sorted(m for m in sys.modules if m.startswith('guardrail.cli.') and m != 'guardrail.cli.main'))\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    one = subprocess.run(
        [sys.executable, "-c", code, "roster", "check", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert one.returncode == 0, one.stderr
    assert "Evaluate the roster policies" in one.stdout
    assert one.stdout.strip().splitlines()[-1] == str(
        ["guardrail.cli.common", "guardrail.cli.roster", "guardrail.cli.roster_import"]
    )
    every = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert every.returncode == 0, every.stderr
    for command in ("init", "policy", "roster", "run", "gate", "report", "audit", "hook", "suite", "plan"):
        assert f" {command} " in every.stdout, command


EXIT_HANDLERS = """
import atexit, sys, threading, time
sys.path.insert(0, sys.argv[1])
from guardrail.cli.main import finish
atexit.register(lambda: open(sys.argv[2], "w").write("handlers ran"))
if sys.argv[3] == "thread":  # a non-daemon thread still working: the exit waits for it, as Python's does
    threading.Thread(target=lambda: (time.sleep(0.3), open(sys.argv[2] + ".thread", "w").write("done"))).start()
sys.stdout.write("buffered, no newline")
finish(5)
"""


def test_exit_runs_the_exit_handlers_flushes_output_and_waits_for_working_threads(tmp_path: Path) -> None:
    """The exit skips the interpreter's teardown (tens of ms after a run), never what atexit promises."""
    for mode in ("plain", "thread"):
        marker = tmp_path / f"{mode}.txt"
        proc = subprocess.run(
            [sys.executable, "-c", EXIT_HANDLERS, str(REPO / "src"), str(marker), mode],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 5, proc.stderr
        assert proc.stdout == "buffered, no newline"
        assert marker.read_text() == "handlers ran"
        if mode == "thread":
            assert Path(f"{marker}.thread").read_text() == "done"


def test_a_bounded_command_collects_rarely_and_leaves_the_collector_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from guardrail.cli import main as cli_main
    from guardrail.collector import RARE

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(type(cli_main.app), "__call__", lambda *_, **__: seen.append(gc.get_threshold()) or 0)
    before = gc.get_threshold()
    assert cli_main.main(["roster", "check", str(tmp_path / "roster.yaml")]) == 0
    assert cli_main.main(["run", str(tmp_path / "eval.yaml")]) == 0
    assert seen == [RARE, before]  # a run may work for long: the default collector
    assert gc.get_threshold() == before
