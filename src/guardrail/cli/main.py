"""The `guardrail` command. Every GuardrailError becomes a one-line message and its exit code; no tracebacks.

Command groups live one per module and are imported here; each keeps heavy SDK imports inside its function bodies
so `guardrail policy test` and `guardrail gate` start fast.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

import typer

import guardrail
from guardrail.collector import collecting_rarely
from guardrail.errors import ExitCode, GuardrailError

app = typer.Typer(
    name="guardrail",
    help="Governance of an AI agent roster as code: policies, replayable evals, model comparisons, a CI gate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


# Command modules, each exposing `register(app)`. Add a name here when adding a command group.
COMMAND_MODULES: tuple[str, ...] = (
    "init",
    "policy",
    "policy_bundle",
    "roster",
    "roster_import",
    "run",
    "gate",
    "report",
    "audit",
    "hook",
    "suite",
    "plan",
)


# The modules a command's name needs; any other first argument (help, --version, a typo) registers them all.
# Importing every module cost each command ~40 ms of start-up it does not use (bench/bench_cli.py).
COMMAND_NAMES: dict[str, tuple[str, ...]] = {
    "policy": ("policy", "policy_bundle"),
    "roster": ("roster", "roster_import"),
    **{name: (name,) for name in COMMAND_MODULES if name not in ("policy", "policy_bundle", "roster", "roster_import")},
}
_registered: set[str] = set()
# Commands that read a bounded set of files and end run with the cyclic collector rarely (guardrail.collector); a
# run, an audit or a report keeps the default, since they may work for long.
BOUNDED_COMMANDS = frozenset({"roster", "gate", "policy"})


def _command(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _register(argv: Sequence[str]) -> None:
    import importlib

    first = _command(argv)
    names = COMMAND_NAMES.get(first, COMMAND_MODULES) if first is not None else COMMAND_MODULES
    for name in names:
        if name not in _registered:
            importlib.import_module(f"guardrail.cli.{name}").register(app)
            _registered.add(name)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"guardrail {guardrail.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_version
    ),
) -> None:
    """Exit codes: 0 passed, 1 policy or gate failed, 2 bad input, 3 could not finish, 130 interrupted."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the app, map our errors to the exit-code table."""
    args = list(argv) if argv is not None else sys.argv[1:]
    collecting = collecting_rarely() if _command(args) in BOUNDED_COMMANDS else contextlib.nullcontext()
    try:
        with collecting:
            _register(args)
            code = app(args=args, prog_name="guardrail", standalone_mode=False)
    except GuardrailError as exc:
        if exc.exit_code != ExitCode.FAILED or str(exc):
            label = {ExitCode.FAILED: "failed", ExitCode.BAD_INPUT: "error"}.get(exc.exit_code, "could not finish")
            typer.echo(f"guardrail: {label}: {exc}", err=True)
        return int(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        code = ExitCode.INTERRUPTED
    except OSError as exc:  # the last line of defence: an OS error no adapter translated (a full disk, a lost mount)
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"guardrail: could not finish: {where}{exc.strerror or exc}", err=True)
        return int(ExitCode.COULD_NOT_FINISH)
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:
        # usage errors from typer's bundled click: they know how to show themselves; exit 2 like any bad input
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(ExitCode.BAD_INPUT)
        raise
    if code == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
        typer.echo("guardrail: interrupted", err=True)
    return int(code) if isinstance(code, int) else int(ExitCode.OK)


def entry() -> None:
    finish(main())


def finish(code: int) -> NoReturn:
    """Exit with `code`. While a daemon thread still runs, skip the interpreter's shutdown: it freezes that thread
    wherever it is, perhaps holding an import lock, and a finalizer that imports (litellm's HTTP handler does) then
    waits for it forever; Ctrl-C of a run hung that way 3 times in 7 while MLflow's import warmed up in a thread.
    Everything a command writes is written and fsynced before it returns."""
    others = [thread for thread in threading.enumerate() if thread is not threading.main_thread()]
    if any(thread.daemon and thread.is_alive() for thread in others):
        _flush_output()
        os._exit(code)
    if not any(thread.is_alive() for thread in others):
        # Nothing left to wait for: run the exit handlers (child processes reaped, MLflow's logging process told to
        # end, temporary folders removed), then leave without the interpreter's teardown of every module and object
        # (60 ms after a run), which only frees memory the OS takes back anyway.
        _flush_output()
        atexit._run_exitfuncs()
        _flush_output()
        os._exit(code)
    # Leave without the interpreter's final garbage collection: it walks every object the SDKs created (seconds
    # after a run that imported litellm or mlflow) only to free memory the OS takes back at exit anyway.
    gc.freeze()
    sys.exit(code)


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


if __name__ == "__main__":
    entry()
