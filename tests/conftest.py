"""Shared fixtures. Every test runs offline: servers bind 127.0.0.1, and the package's offline defaults apply."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.openai_server import Serve, ServerPool

import guardrail  # noqa: F401  (offline defaults before any SDK import)

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("GUARDRAIL_SIM_LATENCY_SCALE", "0")

# A suite started in the background by a shell without job control (`cmd &` in a script) inherits SIGINT ignored,
# and so would every process it starts: the Ctrl-C tests need it delivered, as at a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """write("policies/roster/x.rego", text) -> Path, creating folders under tmp_path."""

    def _write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def serve() -> Iterator[Serve]:
    """serve(**ServerConfig fields) -> a running OpenAI-compatible server on 127.0.0.1, stopped at teardown."""
    with ServerPool() as pool:
        yield pool.start
