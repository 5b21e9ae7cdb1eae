"""The response cache: a re-run of identical requests makes zero model calls.

Why sqlite in WAL mode: one file under the project (`.guardrail/cache/responses.sqlite`), safe for two runs
at once, and a lookup costs well under a millisecond, so it is called straight from the event loop.
Writes are batched: one transaction per `FLUSH_ENTRIES` answers or `FLUSH_S` seconds (and on close), because a
commit per answer cost about a millisecond of the event loop's time, a fifth of a fast run. A `kill -9` loses
at most that last batch; the tasks it belonged to are in the journal already or were in flight, and the
journal, not the cache, is what resume trusts.
litellm's own disk cache is not used (broken on a base install, see DEPENDENCIES.md).

The key is the sha256 of canonical JSON of everything that shapes a response: model, messages, tools, params
(minus credentials and transport knobs such as timeouts), repeat and the simulated model's `sim` labels.
Only Completions are stored: an error is never served from the cache (promptfoo's lesson), so a flaky
provider is asked again. The stored answers are the models' raw output, not redacted (a cached replay must score
as a live one): the folder is created 0700 and the database file 0600 (app/redaction.py says why).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guardrail.core import secrets
from guardrail.core.llm import CallResult, Completion, CompletionRequest
from guardrail.errors import CouldNotFinish

KEY_VERSION = 1  # bump when the key material or the stored record changes shape
_TRANSPORT = frozenset({"timeout", "stream_timeout", "max_retries", "num_retries"})


def _shaping(value: Any) -> Any:
    """`value` without credentials (at any depth) and, at the top level, without transport knobs."""
    if isinstance(value, dict):
        return {k: _shaping(v) for k, v in value.items() if not secrets.is_secret_name(k)}
    if isinstance(value, list | tuple):
        return [_shaping(v) for v in value]
    return value


def cache_key(request: CompletionRequest) -> str:
    """sha256 of the canonical JSON of what shapes the response; credentials never enter it."""
    params = {k: v for k, v in _shaping(request.params).items() if k not in _TRANSPORT}
    material = {
        "v": KEY_VERSION,
        "model": request.model,
        "messages": request.messages,
        "tools": request.tools,
        "params": params,
        "repeat": request.repeat,
        "sim": request.sim,
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """Completions by request key in one sqlite file; get/put are thread-safe and fast."""

    FLUSH_ENTRIES = 64
    FLUSH_S = 0.25

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[str, str, float]] = {}  # key -> (model, value, created), not yet written
        self._flushed_at = time.monotonic()
        try:
            # the models' raw answers may quote personal data from the suites: readable by the owner only
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, model TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise CouldNotFinish(
                f"cannot open the response cache {self.path}: {exc}",
                hint="delete the file to start a fresh cache, or run with --no-cache",
            ) from exc

    key = staticmethod(cache_key)

    def get(self, request: CompletionRequest, key: str | None = None) -> Completion | None:
        """The stored Completion for this request, marked cached; None on a miss or an unreadable entry."""
        key = key or cache_key(request)
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                value = pending[1]
            else:
                row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
                if row is None:
                    return None
                value = row[0]
        try:
            return Completion.model_validate_json(value).model_copy(update={"cached": True})
        except ValidationError:
            return None  # written by an older record shape: a miss, overwritten by the next put

    def put(self, request: CompletionRequest, result: CallResult, key: str | None = None) -> bool:
        """Store a Completion (True); errors are refused (False), so they are never served again."""
        if not isinstance(result, Completion):
            return False
        value = result.model_copy(update={"cached": False}).model_dump_json()
        with self._lock:
            self._pending[key or cache_key(request)] = (request.model, value, time.time())
            if len(self._pending) >= self.FLUSH_ENTRIES or time.monotonic() - self._flushed_at >= self.FLUSH_S:
                self._flush()
        return True

    def forget(self, request: CompletionRequest, key: str | None = None) -> None:
        """Remove the answer to `request`, pending or stored."""
        key = key or cache_key(request)
        with self._lock:
            self._pending.pop(key, None)
            self._db.execute("DELETE FROM responses WHERE key = ?", (key,))

    def flush(self) -> None:
        """Write the pending answers now."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        """One transaction for the pending batch; the caller holds the lock."""
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        rows = [(key, model, value, created) for key, (model, value, created) in self._pending.items()]
        try:
            with self._db:  # BEGIN ... COMMIT, rolled back on error
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO responses (key, model, value, created) VALUES (?, ?, ?, ?)", rows
                )
        except sqlite3.Error as exc:
            raise CouldNotFinish(
                f"cannot write the response cache {self.path}: {exc}",
                hint="check the disk, or run with --no-cache",
            ) from exc
        self._pending.clear()

    def __len__(self) -> int:
        with self._lock:
            self._flush()
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._db.execute("DELETE FROM responses")

    def close(self) -> None:
        with self._lock:
            try:
                self._flush()
            finally:
                self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["KEY_VERSION", "ResponseCache", "cache_key"]
