"""One call in a forked child under a deadline: results and errors come back, a runaway is killed and reported."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from guardrail.adapters.forked import DeadlineExceeded, Forked, deadline
from guardrail.errors import EngineError, PolicyError

T = TypeVar("T")


def call_forked(fn: Callable[[], T], what: str) -> T:
    """`fn()` in a child, as the hook asks its policy."""
    with Forked(fn, what) as child:
        return child.result()


def test_the_value_and_the_guardrail_error_come_back() -> None:
    assert call_forked(lambda: {"pid": os.getpid()}, "x")["pid"] != os.getpid()

    def broken() -> None:
        raise PolicyError("a.rego:1:1: bad")

    with pytest.raises(PolicyError, match="a.rego:1:1: bad"):
        call_forked(broken, "x")


def test_a_child_that_dies_without_answering_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="the worker process died without an answer"):
        call_forked(lambda: os._exit(3), "the action policy")


def test_the_deadline_kills_a_runaway_child_and_still_answers() -> None:
    started = time.monotonic()
    asking = Forked(lambda: time.sleep(60), "sleeper")
    with pytest.raises(DeadlineExceeded, match="deciding took longer than 0.3s"), deadline(0.3, "deciding"), asking:
        asking.result()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):  # killed and reaped: nothing left running
        os.waitpid(asking._pid, os.WNOHANG)


def test_leaving_early_kills_the_child() -> None:
    with pytest.raises(RuntimeError), Forked(lambda: time.sleep(60), "sleeper") as child:
        raise RuntimeError("the parent's own work failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(child._pid, os.WNOHANG)


def test_work_done_while_the_child_computes() -> None:
    with deadline(30, "deciding"), Forked(lambda: sum(range(1000)), "sum") as asking:
        here = sum(range(10))
        assert (asking.result(), here) == (499500, 45)


def test_a_child_that_allocates_without_bound_dies_instead_of_filling_the_machine() -> None:
    with pytest.raises(EngineError, match="hog failed"):
        call_forked(lambda: len(bytearray(2 << 30)), "hog")  # 2 GiB: past the 1 GiB the child may add
