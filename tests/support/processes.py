"""Watching process trees from a test (Linux /proc): which processes descend from a pid, and whether any of a
run's processes outlived it.

A killed process's children are re-parented away from it, so "did anything survive?" is asked about the test
process itself made a child subreaper: orphans of the run are re-parented to the test, where /proc still finds
them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time
from collections.abc import Iterator
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def descendants(pid: int, *, besides: str | None = None) -> set[int]:
    """Every live (not zombie) process below `pid`; `besides`: leave out processes whose command line holds it
    (and what they started)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None and found[0] != "Z":
                if besides is not None and besides.encode() in _cmdline(int(entry.name)):
                    continue
                parents[int(entry.name)] = found[1]
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def parent_of(pid: int) -> int | None:
    found = _stat(pid)
    return None if found is None else found[1]


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if (found := _stat(pid)) is not None and found[0] != "Z"}


def wait_until_gone(pids: set[int], timeout_s: float = 15.0) -> set[int]:
    """Wait (polling /proc) until none of `pids` is alive; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout_s
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


@contextlib.contextmanager
def subreaper() -> Iterator[None]:
    """This process adopts orphaned descendants while the block runs (and reaps the zombies they leave)."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        for pid in descendants(os.getpid()) | _zombie_children():
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


def _zombie_children() -> set[int]:
    me = os.getpid()
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None and found == ("Z", me):
            out.add(int(entry.name))
    return out
