"""adapters.files: whatever a path names (a FIFO, a device, a loop, a path too long, a huge file), reading it ends
at once in a ConfigError (exit 2) that names it; nothing blocks, nothing fills memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guardrail.adapters import files
from guardrail.errors import ConfigError, ExitCode


def _refused(path: Path | str, match: str) -> ConfigError:
    with pytest.raises(ConfigError, match=match) as info:
        files.read_text(Path(path))
    assert info.value.exit_code == ExitCode.BAD_INPUT
    return info.value


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "roster.yaml"
    os.mkfifo(fifo)
    assert "roster.yaml: not a regular file: a FIFO" in str(_refused(fifo, "FIFO"))


def test_devices_are_refused(tmp_path: Path) -> None:
    _refused("/dev/zero", "character device")
    link = tmp_path / "spec.yaml"
    link.symlink_to("/dev/zero")  # a symlink is followed, and what it points at is judged
    assert "spec.yaml" in str(_refused(link, "character device"))


def test_a_symlink_loop_and_a_directory_are_named(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    _refused(loop, "symlink loop")
    with pytest.raises(ConfigError, match="symlink loop"):
        files.probe(loop)
    _refused(tmp_path, "is a directory")


def test_an_over_long_path_is_an_input_error_with_a_short_message(tmp_path: Path) -> None:
    path = tmp_path / ("a" * 1_000_000)
    error = _refused(path, "path too long")
    assert len(str(error)) < 1000 and "1,0" in str(error)  # the path is cut, its length said
    with pytest.raises(ConfigError, match="path too long"):
        files.is_file(path)


def test_missing_files_and_bad_paths(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.yaml", "file not found")
    _refused(tmp_path / "x\0y", "invalid path")
    (tmp_path / "file").write_text("x")
    _refused(tmp_path / "file" / "below.yaml", "not a directory")
    assert files.probe(tmp_path / "nope") is None and files.probe(tmp_path / "file" / "below") is None


def test_size_limits(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(files.MAX_FILE_BYTES + 1)  # sparse: no disk used
    _refused(big, "file too large")
    (tmp_path / "bad.yaml").write_bytes(b"a: \xff\n")
    _refused(tmp_path / "bad.yaml", "not UTF-8")


def test_lines_stream_and_an_endless_line_is_refused_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"{}\n" + b"x" * 100 + b"\n{}")
    assert [n for n, _ in files.iter_lines(path, line_limit=200)] == [1, 2, 3]
    with pytest.raises(ConfigError, match="line longer than 50 bytes") as info:
        list(files.iter_lines(path, line_limit=50))
    assert info.value.line == 2
