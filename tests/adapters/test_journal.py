"""The journal: durable appends, a torn final line tolerated and cut, transcripts kept one per journaled row."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from guardrail.adapters import journal as journal_module
from guardrail.adapters.journal import Journal, read_rows, row_key, write_json_atomic
from guardrail.core.results import ResultRow
from guardrail.errors import ConfigError


def _row(task: str, candidate: str = "m", repeat: int = 0) -> ResultRow:
    return ResultRow(run_id="r", task_id=task, suite="s", candidate=candidate, repeat=repeat, status="pass")


def _transcript(row: ResultRow) -> dict[str, object]:
    return {
        "suite": row.suite,
        "task_id": row.task_id,
        "candidate": row.candidate,
        "repeat": row.repeat,
        "messages": [],
    }


def test_append_fsyncs_every_row_and_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(journal_module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with Journal(tmp_path) as journal:
        for name in ("a", "b", "c"):
            row = _row(name)
            journal.append(row, _transcript(row))
        assert len(synced) == 3  # one fsync per finished task, before the next counts as done
    rows = read_rows(tmp_path / "results.jsonl")
    assert [r.task_id for r in rows] == ["a", "b", "c"]
    assert len((tmp_path / "transcripts.jsonl").read_text().splitlines()) == 3


def test_torn_final_line_is_skipped_and_cut_before_appending(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        for name in ("a", "b"):
            journal.append(_row(name), _transcript(_row(name)))
    results = tmp_path / "results.jsonl"
    whole = _row("c").model_dump_json()
    with results.open("ab") as handle:  # a kill in the middle of writing row c
        handle.write(whole[: len(whole) // 2].encode())
    assert [r.task_id for r in read_rows(results)] == ["a", "b"]
    resumed = Journal(tmp_path)
    assert resumed.done == {row_key(_row("a")), row_key(_row("b"))}
    resumed.append(_row("c"), _transcript(_row("c")))
    resumed.close()
    assert [r.task_id for r in read_rows(results)] == ["a", "b", "c"]
    assert results.read_bytes().endswith(b"\n")


def test_transcripts_without_a_row_are_dropped_on_resume(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append(_row("a"), _transcript(_row("a")))
    transcripts = tmp_path / "transcripts.jsonl"
    with transcripts.open("a") as handle:  # b's transcript made it, its row did not; then a torn line
        handle.write(json.dumps(_transcript(_row("b"))) + "\n")
        handle.write('{"suite": "s", "task_')
    Journal(tmp_path).close()
    kept = [json.loads(line) for line in transcripts.read_text().splitlines()]
    assert [k["task_id"] for k in kept] == ["a"]


def test_damage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text("{not json}\n" + _row("a").model_dump_json() + "\n")
    with pytest.raises(ConfigError) as info:
        read_rows(results)
    assert "results.jsonl:1" in str(info.value)


def test_missing_journal_reads_empty_and_atomic_json(tmp_path: Path) -> None:
    assert read_rows(tmp_path / "nothing.jsonl") == []
    target = tmp_path / "run.json"
    write_json_atomic(target, {"status": "running"})
    write_json_atomic(target, {"status": "finished"})
    assert json.loads(target.read_text()) == {"status": "finished"}
    assert not (tmp_path / "run.json.tmp").exists()
