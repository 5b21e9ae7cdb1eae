"""The one guarded way guardrail opens a user's file: regular files only, bounded reads, OS errors as input errors.

Why: a path a user (or a hostile change under review) names can be a FIFO that blocks `open()` forever, a device
such as `/dev/zero` that never ends, a symlink loop, a path longer than the OS allows, or a multi-gigabyte file.
Each of these used to end in a hang, unbounded memory or a traceback. Here every one is a `ConfigError` (exit 2)
naming the file. `O_NONBLOCK` makes opening a FIFO return at once, so its type can be checked before any read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from guardrail.errors import ConfigError

MAX_FILE_BYTES = 64 * 2**20  # a roster, spec, tool file, policy or evidence record; a YAML file costs ~30x in memory
MAX_LINE_BYTES = 32 * 2**20  # one record of a JSONL file (a suite's task, a journal row, a trace)
MAX_LINES_FILE_BYTES = 4 * 2**30  # a whole JSONL file, read one line at a time

_WHY = {
    errno.ELOOP: "symlink loop (too many levels of symbolic links)",
    errno.ENAMETOOLONG: "path too long for the operating system",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "file not found",
}
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def why(exc: OSError) -> str:
    """An OS error as a user reads it, without the path (the message names it once)."""
    return _WHY.get(exc.errno or 0) or exc.strerror or str(exc)


def path_error(exc: OSError, path: Path | str, *, field: str | None = None) -> ConfigError:
    return ConfigError(why(exc), path=str(path), field=field)


def kind_of(mode: int) -> str | None:
    """What a non-regular file is ('a FIFO (named pipe)', ...), None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def probe(path: Path) -> os.stat_result | None:
    """stat() that follows symlinks: None when nothing is there, a ConfigError for a loop, an over-long path or a
    path the user may not look at (pathlib's `is_file()` raises or answers False for these, silently)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return None
        raise path_error(exc, path) from None
    except ValueError as exc:  # an embedded NUL byte
        raise ConfigError(f"invalid path: {exc}", path=repr(str(path))) from None


def is_file(path: Path) -> bool:
    """A regular file is there (a FIFO or a device is not a file we read)."""
    found = probe(path)
    return found is not None and stat.S_ISREG(found.st_mode)


def is_dir(path: Path) -> bool:
    found = probe(path)
    return found is not None and stat.S_ISDIR(found.st_mode)


@contextmanager
def open_regular(path: Path, *, limit: int = MAX_FILE_BYTES) -> Iterator[BinaryIO]:
    """A regular file opened for reading, refused (ConfigError) when it is anything else or larger than `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    except OSError as exc:
        raise path_error(exc, path) from None
    except ValueError as exc:
        raise ConfigError(f"invalid path: {exc}", path=repr(str(path))) from None
    try:
        info = os.fstat(fd)
        kind = kind_of(info.st_mode)
        if kind == "a directory":
            raise ConfigError("is a directory, expected a file", path=str(path))
        if kind is not None:
            raise ConfigError(f"not a regular file: {kind}", path=str(path))
        if info.st_size > limit:
            raise ConfigError(f"file too large: {info.st_size:,} bytes (the limit is {limit:,})", path=str(path))
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_bytes(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole file, at most `limit` bytes (a file that grows while read is refused too)."""
    with open_regular(path, limit=limit) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read: {why(exc)}", path=str(path)) from None
    if len(data) > limit:
        raise ConfigError(f"file too large (the limit is {limit:,} bytes)", path=str(path))
    return data


def read_text(path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    try:
        return read_bytes(path, limit=limit).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from None


def iter_lines(
    path: Path, *, line_limit: int = MAX_LINE_BYTES, limit: int = MAX_LINES_FILE_BYTES
) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) for every line, streamed; a line longer than `line_limit` is refused with its
    number, so a file that is one endless line never fills memory."""
    with open_regular(path, limit=limit) as handle:
        number = 0
        while True:
            try:
                raw = handle.readline(line_limit + 1)
            except OSError as exc:
                raise ConfigError(f"cannot read: {why(exc)}", path=str(path), line=number + 1) from None
            if not raw:
                return
            number += 1
            if len(raw) > line_limit and not raw.endswith(b"\n"):
                raise ConfigError(f"line longer than {line_limit:,} bytes", path=str(path), line=number)
            yield number, raw


__all__ = [
    "MAX_FILE_BYTES",
    "MAX_LINES_FILE_BYTES",
    "MAX_LINE_BYTES",
    "is_dir",
    "is_file",
    "iter_lines",
    "kind_of",
    "open_regular",
    "path_error",
    "probe",
    "read_bytes",
    "read_text",
    "why",
]
