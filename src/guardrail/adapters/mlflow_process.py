"""MLflow in a process of its own, started as soon as a command knows it will log, so that importing mlflow and
opening the store (seconds) overlap the replay instead of following it.

    start()                             # start the process; it imports mlflow (no store touched yet)
    warm(tracking_uri, create=True)     # and opens (or creates) the store (starting the process if need be)
    tracking = log(job)                 # the runs logged by that process (started now if neither was called)

Why a process and not a thread: a thread importing mlflow holds the GIL against the replay's event loop (the import
is pure Python), while a process runs on another core. Why mlflow without pandas and numpy here: this process only
logs runs through `MlflowClient`, which mlflow-skinny provides without either, and importing them is about 60% of
`import mlflow` (0.9 s of 2.9 s measured on a loaded 2-core machine; opening the store drops from 1.7 s to 0.7 s).
Nor pyarrow, which only HDFS artifact stores use and which mlflow imports for them up front: 27 MB of this process's
memory, at the moment a run's peak is measured; a job for a tracking server (whose artifacts may be on HDFS) gets
mlflow's HDFS support back first.

The process lives until its parent closes the pipe (at exit), serving one job after another; it ignores Ctrl-C,
which is the parent's to handle. Failures come back as a message the parent turns into CouldNotFinish.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from guardrail.core.summary import Summary, Tracking
from guardrail.errors import CouldNotFinish

_UNNEEDED = frozenset({"pandas", "numpy", "pyarrow"})  # not needed to log runs (mlflow-skinny works without them)
_HDFS = "mlflow.store.artifact.hdfs_artifact_repo"  # imports pyarrow if it can, once


@dataclass(frozen=True)
class LogJob:
    """Everything the process needs to log one comparison; the files are written by the caller beforehand."""

    summary: Summary
    tracking_uri: str
    artifact_root: Path | None
    artifacts: list[Path]  # attached to the parent run (and report.html to each child)
    tables: dict[str, list[Path]]  # per candidate: its own results table and record
    env: dict[str, str] = field(default_factory=dict)  # the caller's MLFLOW_* settings, as they are now


class _Process:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", __name__],  # -P: not a module from the working directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )

    def ask(self, message: tuple[Any, ...], *, reply: bool) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        pickle.dump(message, self.proc.stdin)
        self.proc.stdin.flush()
        return pickle.load(self.proc.stdout) if reply else None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Let the process end on its own (it exits when its input closes); nobody waits for it."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()


_process: _Process | None = None


def _running() -> _Process:
    global _process
    if _process is None or not _process.alive():
        _process = _Process()
        atexit.register(_process.close)
    return _process


def start() -> None:
    """Start the process and have it import mlflow; returns at once, and touches no store."""
    with contextlib.suppress(OSError):  # a process that cannot start is reported when it is really needed
        _running().ask(("import",), reply=False)


def warm(tracking_uri: str, *, create: bool) -> None:
    """Start the process and have it import mlflow and open the store; returns at once. A sqlite store is created
    only when `create` (the project's own store); a server is not contacted."""
    with contextlib.suppress(OSError):  # a process that cannot start is reported when it is really needed
        _running().ask(("warm", tracking_uri, create), reply=False)


def log(job: LogJob) -> Tracking:
    """Log `job` in the process; waits for the run ids. Raises CouldNotFinish with the cause when it fails."""
    global _process
    process = _running()
    try:
        answer = process.ask(("log", job), reply=True)
    except (OSError, EOFError, pickle.UnpicklingError):
        code = process.proc.poll()
        _process = None
        raise CouldNotFinish(f"the MLflow logging process ended unexpectedly (exit code {code})") from None
    except BaseException:  # Ctrl-C while waiting: the process may be mid-write; do not leave it behind
        process.kill()
        _process = None
        raise
    kind, value = answer
    if kind == "error":
        raise CouldNotFinish(value)
    return Tracking.model_validate(value)


# ---- the process's side -------------------------------------------------------------------------------------------


class _Unneeded:
    """Refuses the modules logging never needs while mlflow is imported, so mlflow takes its no-pandas paths (see
    the docstring); removed afterwards, so a tracking plugin that does need one can still import it."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in _UNNEEDED:
            raise ModuleNotFoundError(f"No module named {name!r} (not needed to log to MLflow)", name=name)


def _import_mlflow() -> Any:
    """mlflow.tracking, imported without the modules it does not need here."""
    if "mlflow.tracking" in sys.modules:
        return sys.modules["mlflow.tracking"]
    blocker = _Unneeded()
    sys.meta_path.insert(0, blocker)
    try:
        return importlib.import_module("mlflow.tracking")
    finally:
        sys.meta_path.remove(blocker)


def _with_hdfs() -> None:
    """mlflow's HDFS artifact repository as a plain import makes it: with pyarrow, when it is installed."""
    module = sys.modules.get(_HDFS)
    if module is not None and not hasattr(module, "HadoopFileSystem"):
        with contextlib.suppress(ImportError):
            importlib.reload(module)  # in place: the class mlflow registered reads the module's new globals


def _warm(tracking_uri: str, create: bool) -> None:
    from guardrail.adapters.mlflow_store import quiet_logs, store_creation

    tracking = _import_mlflow()
    quiet_logs()
    local = tracking_uri.removeprefix("sqlite:///") if tracking_uri.startswith("sqlite:///") else ""
    if local and (create or Path(local).is_file()):
        Path(local).parent.mkdir(parents=True, exist_ok=True)
        with store_creation(tracking_uri):  # two runs starting together: one creates the store, the other waits
            if not Path(local).exists():
                with contextlib.suppress(OSError):  # no cache to write to: mlflow creates the store itself, slower
                    _copy_empty_store(Path(local))
            tracking.MlflowClient(tracking_uri=tracking_uri).search_experiments(max_results=1)


def _copy_empty_store(db: Path) -> None:
    """A new sqlite store as a copy of an empty one at this mlflow's schema. mlflow builds a new store by running
    every one of its schema migrations (1.7 s of CPU here); a copy takes milliseconds. The empty store is made by
    mlflow itself, once per mlflow version, in the user's cache folder."""
    mlflow = sys.modules["mlflow"]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "guardrail"
    template = cache / f"mlflow-{mlflow.__version__}-empty.db"
    if not template.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        scratch = cache / f".{template.name}.{os.getpid()}"
        mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{scratch}").search_experiments(max_results=1)
        os.replace(scratch, template)
    copy = db.with_name(f".{db.name}.{os.getpid()}")
    shutil.copyfile(template, copy)
    try:
        os.link(copy, db)  # never over a store another run has just created
    except FileExistsError:
        pass
    finally:
        copy.unlink()


def _log(job: LogJob) -> tuple[str, Any]:
    from guardrail.adapters.mlflow_store import log_runs

    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:
        if key not in job.env:
            del os.environ[key]
    os.environ.update(job.env)
    try:
        _warm(job.tracking_uri, create=True)  # logging creates a missing store in any case
        if job.artifact_root is None:  # a tracking server: its artifact store may be HDFS
            _with_hdfs()
        tracking = log_runs(job)
    except Exception as exc:  # mlflow raises MlflowException, requests/urllib3 and sqlalchemy errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return "error", f"could not log to MLflow at {job.tracking_uri}: {first}"
    return "ok", tracking.model_dump(mode="json")


def _serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    while True:
        try:
            message = pickle.load(requests)
        except EOFError:
            return  # the parent is done (or gone)
        if message[0] == "import":
            with contextlib.suppress(Exception):
                _import_mlflow()
        elif message[0] == "warm":
            with contextlib.suppress(Exception):  # a broken install or store surfaces when a job is logged
                _warm(message[1], message[2])
        elif message[0] == "log":
            pickle.dump(_log(message[1]), replies)
            replies.flush()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything mlflow prints goes where stderr goes, never into the replies
    _serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()


__all__ = ["LogJob", "log", "start", "warm"]
