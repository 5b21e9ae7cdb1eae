"""Inter-process locks on files: one writer per run folder, one creator of a local MLflow store.

`flock` locks belong to an open file description, so the kernel drops them when the holder dies (even by
`kill -9`): a lock is never left stale. Forked children would inherit the description and keep the lock alive
after their parent's death, so every held lock's descriptor is closed in a child right after `fork`. The lock file
holds who took the lock (pid, host, start time), so a refused writer can name the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from guardrail.errors import CouldNotFinish

_HELD: set[int] = set()  # descriptors of the locks this process holds


def _close_held_in_child() -> None:
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


class Busy(Exception):
    """The lock is held elsewhere; `holder` says by whom, as the holder wrote it."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is locked by {holder}")
        self.path, self.holder = path, holder


class FileLock:
    """An exclusive lock on `path` (created if needed), taken at once or after waiting up to `wait_s`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, wait_s: float = 0.0, poll_s: float = 0.05) -> FileLock:
        """Raises Busy when another process holds it past `wait_s`; OSError when the file cannot be made."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        deadline = time.monotonic() + wait_s
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise Busy(self.path, _holder(fd)) from None
                    time.sleep(poll_s)
            os.ftruncate(fd, 0)
            os.pwrite(fd, _me().encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        _HELD.add(fd)
        return self

    def release(self) -> None:
        """Drop the lock (the file stays: removing it would let two processes lock two different files)."""
        if self._fd is not None:
            _HELD.discard(self._fd)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _me() -> str:
    return json.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
    )


def _holder(fd: int) -> str:
    """'pid 123 on host h since 2026-...' from the lock file, as well as it can be read."""
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on host {info['host']} since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not written who it is yet)"


@contextlib.contextmanager
def creating(path: Path, what: str, *, wait_s: float = 120.0) -> Iterator[None]:
    """Serialise the creation of a shared resource (a local MLflow store) across processes: the second waits
    until the first has finished, then finds it made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(wait_s=wait_s)
    except Busy as exc:
        raise CouldNotFinish(f"{what}: still being created by {exc.holder} after {wait_s:g} s") from None
    try:
        yield
    finally:
        lock.release()


__all__ = ["Busy", "FileLock", "creating"]
