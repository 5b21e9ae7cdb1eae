"""Tie a forked process's life to its parent's (Linux): when the parent dies, even by `kill -9`, the kernel kills
the child at once, so no orphaned worker keeps calling a provider or holding a pipe.

`PR_SET_PDEATHSIG` is not inherited across fork, so a worker that forks children of its own (its policy engine)
arms them too, through an at-fork hook. The signal follows the thread that forked the child: call these only in
processes whose main thread does the forking (the replay workers), never in a long-lived host such as a test
runner.
"""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1
_forking_pid = 0


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """In a freshly forked child: `sig` when `parent` dies; if it is already gone, exit now (the race between
    fork and this call)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def _remember_forking_pid() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _arm_child() -> None:
    die_with_parent(_forking_pid)


def children_die_with_me() -> None:
    """Every process this one forks from now on (with os.fork or multiprocessing) dies when this one does."""
    os.register_at_fork(before=_remember_forking_pid, after_in_child=_arm_child)


__all__ = ["children_die_with_me", "die_with_parent"]
