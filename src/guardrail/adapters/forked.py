"""One call in a forked child, under a deadline that still lets this process answer.

regorus holds the GIL for a whole evaluation and has no timeout, so a runaway policy cannot be stopped from a
thread or a signal handler of the process running it. A one-shot child can: it runs the call and pickles the
result into a pipe, while this process waits on the pipe under `deadline()` (SIGALRM). When the alarm fires, the
wait is interrupted, the child is killed, and the caller still gets to say no. A fork costs about a millisecond;
the long-lived `EngineWorker` would cost tens (multiprocessing start-up) for a process that asks one question.

The caller can work while the child computes (`with Forked(...) as child:`, then `child.result()`; leaving the
block early kills the child). POSIX only (fork, SIGALRM);
elsewhere the call runs in this process, when its result is asked for, with no deadline.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from guardrail.errors import EngineError, GuardrailError

T = TypeVar("T")
CAN_FORK = hasattr(os, "fork") and hasattr(signal, "setitimer")
CHILD_MEMORY_HEADROOM = 1 << 30  # bytes of address space the child may add to what it inherited


class DeadlineExceeded(EngineError):
    """The deadline passed before the work finished."""


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise DeadlineExceeded in this (main) thread when `seconds` pass, interrupting blocking reads and waits."""
    if not CAN_FORK or seconds <= 0:
        yield
        return

    def _expired(signum: int, frame: Any) -> None:
        raise DeadlineExceeded(f"{what} took longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Forked:
    """A call running in a child process; `result()` waits for it (inside `deadline()`, so the wait can end)."""

    def __init__(self, fn: Callable[[], Any], what: str) -> None:
        self.what = what
        self._fn: Callable[[], Any] | None = None
        if not CAN_FORK:
            self._fn = fn
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, report, leave without running any of the parent's exit handlers
            status = 1
            try:
                os.close(read_end)
                _quiet()
                _cap_memory()
                try:
                    payload = pickle.dumps(("ok", fn()))
                except GuardrailError as exc:
                    payload = pickle.dumps(("error", exc))
                except BaseException as exc:  # a Rust panic arrives as a BaseException
                    payload = pickle.dumps(("error", EngineError(f"{what} failed: {exc}")))
                view = memoryview(payload)
                while view:
                    view = view[os.write(write_end, view) :]
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self._pid, self._read_end = pid, read_end
        self._done = False

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        """Whatever happened meanwhile (the deadline, an error), no child is left running."""
        if self._fn is None and not self._done:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.close(self._read_end)
            _reap(self._pid)
            self._done = True

    def result(self) -> Any:
        """The call's value; its GuardrailError is raised here, any other failure is an EngineError. If the wait
        is interrupted (the deadline), the child is killed before the interruption propagates."""
        if self._fn is not None:
            return self._fn()
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._read_end, 1 << 16):
                chunks.append(chunk)
        except BaseException:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            raise
        finally:
            os.close(self._read_end)
            _reap(self._pid)
            self._done = True
        try:
            kind, value = pickle.loads(b"".join(chunks))
        except Exception:
            raise EngineError(f"{self.what} failed: the worker process died without an answer") from None
        if kind == "error":
            raise value
        return value


def _quiet() -> None:
    """The child's stderr goes nowhere: an engine's dying words (a Rust panic or abort) must not reach the
    runtime, which shows a hook's stderr; the failure comes back as the missing answer."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)


def _cap_memory() -> None:
    """A runaway that allocates (a comprehension over a huge range) would fill the machine's memory before the
    deadline: cap the child's address space so the allocation fails and the child dies (an answer of no)."""
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        with open("/proc/self/statm") as statm:  # the size the child starts with
            pages = int(statm.read().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + CHILD_MEMORY_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # and no core file when an allocation aborts it


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


__all__ = ["CAN_FORK", "DeadlineExceeded", "Forked", "deadline"]
