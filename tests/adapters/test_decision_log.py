"""The decision log file: concurrent appends stay whole lines, and a bad line is named by file and line."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest

from guardrail.adapters.decision_log import append_line, append_record, encode_line, read_decisions
from guardrail.core.decisions import DecisionRecord
from guardrail.errors import ConfigError, CouldNotFinish

BASE = {
    "schema": "guardrail.decision/v1",
    "time": "2026-11-30T03:35:10.123456Z",
    "source": "claude-code",
    "runtime_tool": "Read",
    "decision": "allow",
    "guardrail_version": "0.1.0",
}


def _writer(path: str, worker: int, count: int) -> None:
    for i in range(count):
        # lines well above PIPE_BUF (4096): atomicity must come from O_APPEND + one write, not from size
        append_record(Path(path), {**BASE, "session_id": f"w{worker}", "tool_use_id": str(i), "args": "x" * 6000})


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "decisions.jsonl"
    ctx = mp.get_context("fork")
    workers = [ctx.Process(target=_writer, args=(str(log), w, 150)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
        assert p.exitcode == 0
    records = list(read_decisions(log))
    assert len(records) == 600
    for w in range(4):
        assert sorted(int(r.tool_use_id or -1) for r in records if r.session_id == f"w{w}") == list(range(150))


def test_a_record_model_and_a_mapping_write_the_same_line(tmp_path: Path) -> None:
    log = tmp_path / "d.jsonl"
    record = DecisionRecord.model_validate(BASE)
    append_record(log, record)
    append_record(log, json.loads(record.to_line()))
    first, second = log.read_text().splitlines()
    assert json.loads(first) == json.loads(second)
    assert list(read_decisions(log)) == [record, record]


def test_a_bad_line_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    log = tmp_path / "d.jsonl"
    append_record(log, BASE)
    append_record(log, {**BASE, "decision": "perhaps"})
    with pytest.raises(ConfigError) as caught:
        list(read_decisions(log))
    assert str(caught.value).startswith(f"{log}:2: decision: ")
    log.write_text("{not json\n")
    with pytest.raises(ConfigError, match=r":1: invalid JSON"):
        list(read_decisions(log))


def test_a_bad_line_lists_every_error_with_its_file_line_and_field(tmp_path: Path) -> None:
    log = tmp_path / "d.jsonl"
    append_record(log, BASE)
    append_record(log, {**BASE, "decision": "perhaps", "time": "yesterday", "source": 7})
    with pytest.raises(ConfigError) as caught:
        list(read_decisions(log))
    error = caught.value
    assert (error.path, error.line) == (str(log), 2)
    assert sorted([error.field, *(e.field for e in error.also)]) == ["decision", "source", "time"]
    assert all(e.line == 2 for e in error.also) and "1 more error" not in str(error)
    assert "hint: each line must be one guardrail.decision/v1 record" in str(error)


def test_a_line_still_being_written_is_skipped(tmp_path: Path) -> None:
    log = tmp_path / "d.jsonl"
    append_record(log, BASE)
    with log.open("ab") as handle:
        handle.write(encode_line(BASE)[:40])  # a writer caught mid-line (no newline yet)
    assert len(list(read_decisions(log))) == 1


def test_an_unwritable_log_cannot_finish(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")  # a path through a regular file: no permission bits involved (tests run as root)
    with pytest.raises(CouldNotFinish, match="cannot append to the decision log"):
        append_line(tmp_path / "file" / "d.jsonl", b"{}\n")
