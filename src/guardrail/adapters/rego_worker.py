"""The policy engine in a child process, with a time limit and a memory limit on everything it does.

regorus has no evaluation timeout and no memory cap, and an Engine is bound to the thread that made it: a runaway
or memory-hungry policy (a huge `numbers.range`, brackets nested deep enough to make its parser exponential) could
hang the CLI or take the machine's memory. The engine therefore runs in a forked child that the parent watches:
past the time limit, or past the memory limit (growth of the child's resident memory since it started, polled
with the time; an address-space cap in the child backs it), the child is killed and the error names the limit and
what was being evaluated. The worker restarts on the next call, so one runaway query does not poison a long run.
`run_limited` gives one function call (compiling a bundle for `policy check`) the same limits.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import multiprocessing as mp
import os
import resource
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, PolicyBundle, RegoEngine
from guardrail.errors import EngineError, GuardrailError

DEFAULT_MEMORY_MB = 1024
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HINT = "a policy may loop over a huge range; raise --policy-timeout / --policy-memory if the policy is just big"


def _resident(pid: int) -> int:
    """Resident bytes of a process (0 when it is gone or /proc is not there)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _cap_address_space(memory_mb: int) -> None:
    """In the child: refuse allocations well past the limit even between two of the parent's polls."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            size_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
        cap = size_kb * 1024 + 2 * memory_mb * 1_048_576
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.RLIM_INFINITY))
    except (OSError, ValueError, StopIteration):
        pass


def _child_start(parent_end: Connection, memory_mb: int) -> None:
    # a forked child inherits the parent's end of the pipe; holding it would hide the parent's death (no EOF),
    # and the worker would outlive a killed run
    parent_end.close()
    # what the fork inherited (a run's imported SDKs, hundreds of MB) stays shared with the parent: a collection
    # here would write to every inherited object and copy its page
    gc.freeze()
    os.environ["RUST_BACKTRACE"] = "0"
    faulthandler.disable()  # an abort at the memory cap is reported by the parent, not as a Python crash dump
    _cap_address_space(memory_mb)


def _serve(
    conn: Connection, parent_end: Connection, memory_mb: int, bundle: PolicyBundle, coverage: bool, strict: bool
) -> None:
    _child_start(parent_end, memory_mb)
    try:
        if strict and not bundle.prepared:  # checked and rewritten once per content (adapters/prepared_cache)
            from guardrail.adapters.prepared_cache import prepared

            engine = RegoEngine(bundle, coverage=coverage, prepared=prepared(bundle.modules))
        else:
            engine = RegoEngine(bundle, coverage=coverage, strict=strict)
    except GuardrailError as exc:
        conn.send(("error", exc))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if request is None:
            return
        op, args = request
        try:
            conn.send(("ok", getattr(engine, op)(*args)))
        except GuardrailError as exc:
            conn.send(("error", exc))
        except Exception as exc:  # a bug in an op must not kill the worker silently
            conn.send(("error", EngineError(f"policy engine failed: {exc}")))


def _call_once(conn: Connection, parent_end: Connection, memory_mb: int, fn: Callable[..., Any], args: tuple) -> None:
    _child_start(parent_end, memory_mb)
    try:
        conn.send(("ok", fn(*args)))
    except GuardrailError as exc:
        conn.send(("error", exc))
    except MemoryError:
        conn.send(("error", EngineError(f"the policy engine ran out of its {memory_mb} MB memory limit")))


class _Child:
    """A forked child on the end of a pipe, watched for time and memory."""

    def __init__(self, target: Callable[..., None], args: tuple, *, timeout_s: float, memory_mb: int) -> None:
        self.timeout_s, self.memory_mb = timeout_s, memory_mb
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx: Any = mp.get_context(method)
        parent, child = ctx.Pipe()
        self.proc: Any = ctx.Process(target=target, args=(child, parent, memory_mb, *args), daemon=True)
        self.proc.start()
        child.close()
        self.conn: Connection | None = parent
        self.baseline = _resident(self.proc.pid)

    def receive(self, what: str, timeout_s: float | None = None) -> tuple[str, Any]:
        assert self.conn is not None
        limit = timeout_s if timeout_s is not None else self.timeout_s
        deadline = time.monotonic() + limit
        ceiling = self.baseline + self.memory_mb * 1_048_576
        while not self.conn.poll(0.05):
            if not self.proc.is_alive():
                code = self.proc.exitcode
                self.close()
                raise self._crashed(what, code)
            if _resident(self.proc.pid) > ceiling:
                self.close()
                raise EngineError(
                    f"policy evaluation exceeded the memory limit of {self.memory_mb} MB while {what} "
                    f"(time limit {self.timeout_s:g}s)",
                    hint=_HINT,
                )
            if time.monotonic() > deadline:
                self.close()
                raise EngineError(
                    f"policy evaluation exceeded {limit:g}s while {what} (memory limit {self.memory_mb} MB)",
                    hint=_HINT,
                )
        try:
            return self.conn.recv()
        except EOFError:
            self.proc.join(1)
            code = self.proc.exitcode
            self.close()
            raise self._crashed(what, code) from None

    def _crashed(self, what: str, code: int | None) -> EngineError:
        if code == -signal.SIGABRT:  # Rust aborts when an allocation fails: the address-space cap was reached
            return EngineError(
                f"policy evaluation exceeded the memory limit of {self.memory_mb} MB while {what} "
                f"(time limit {self.timeout_s:g}s)",
                hint=_HINT,
            )
        return EngineError(f"policy engine crashed while {what} (exit {code})")

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            self.proc.join(0.2)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(1)
            self.proc = None


def run_limited(
    fn: Callable[..., Any],
    *args: Any,
    what: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> Any:
    """`fn(*args)` in a forked child under the time and memory limits; its GuardrailError is re-raised here."""
    child = _Child(_call_once, (fn, args), timeout_s=timeout_s, memory_mb=memory_mb)
    try:
        status, value = child.receive(what)
    finally:
        child.close()
    if status == "error":
        raise value
    return value


class EngineWorker:
    """A RegoEngine in a child process: every call has a time and a memory limit, and an overrun kills the child."""

    def __init__(
        self,
        bundle: PolicyBundle,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        coverage: bool = False,
        memory_mb: int = DEFAULT_MEMORY_MB,
        strict: bool = True,
        wait: bool = True,
    ) -> None:
        """`strict=False` skips the static checks when the caller has just run them (`policy test`).
        `wait=False` returns as soon as the child is forked: it loads the policies while the caller reads its
        inputs, and a load error surfaces at the first call (or `ready()`)."""
        self.bundle, self.timeout_s, self.coverage, self.memory_mb = bundle, timeout_s, coverage, memory_mb
        self.strict = strict
        self._child: _Child | None = None
        self._loading = False
        self._start()
        if wait:
            self.ready()

    @property
    def _conn(self) -> Connection | None:  # None once the child was killed (policy tests restart on it)
        return self._child.conn if self._child is not None else None

    @property
    def pid(self) -> int | None:
        return self._child.proc.pid if self._child is not None and self._child.proc is not None else None

    def _start(self) -> None:
        args = (self.bundle, self.coverage, self.strict)
        self._child = _Child(_serve, args, timeout_s=self.timeout_s, memory_mb=self.memory_mb)
        self._loading = True

    def ready(self) -> None:
        """Wait until the child has loaded the policies; raises what loading raised."""
        if self._conn is None:
            self._start()
        if not self._loading:
            return
        assert self._child is not None
        status, value = self._child.receive("loading policies", max(self.timeout_s, 30.0))
        self._loading = False
        if status == "error":
            self.close()
            raise value

    def _call(self, op: str, *args: Any, what: str) -> Any:
        self.ready()
        assert self._child is not None and self._child.conn is not None
        self._child.conn.send((op, args))
        status, value = self._child.receive(what)
        if status == "error":
            raise value
        return value

    def query(self, query: str, input: Any = None) -> Any:
        return self._call("query", query, input, what=f"evaluating {query}")

    def eval_rule_json(self, rule: str, input_json: str) -> str:
        return self._call("eval_rule_json", rule, input_json, what=f"evaluating {rule}")

    def packages(self) -> list[str]:
        return self._call("packages", what="listing packages")

    def ast(self) -> list[dict[str, Any]]:
        return self._call("ast", what="reading the policy AST")

    def coverage_report(self) -> dict[str, Any]:
        return self._call("coverage", what="collecting coverage")

    def take_prints(self) -> list[str]:
        return self._call("take_prints", what="collecting prints")

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None

    def __enter__(self) -> EngineWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT_S", "EngineWorker", "run_limited"]
