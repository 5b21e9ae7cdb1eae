"""The `guardrail` command. Every GuardrailError becomes a one-line message and its exit code; no tracebacks.

Command groups live one per module and are imported here; each keeps heavy SDK imports inside its function bodies
so `guardrail policy test` and `guardrail gate` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

import guardrail  # noqa: F401  (applies offline defaults before anything else imports)
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
COMMAND_MODULES: tuple[str, ...] = ("policy", "roster")


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"guardrail.cli.{name}").register(app)


_register()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        typer.echo(f"guardrail {guardrail.__version__}")
        raise typer.Exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the app, map our errors to the exit-code table."""
    try:
        code = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except GuardrailError as exc:
        if exc.exit_code != ExitCode.FAILED or str(exc):
            label = {ExitCode.FAILED: "failed", ExitCode.BAD_INPUT: "error"}.get(exc.exit_code, "could not finish")
            typer.echo(f"guardrail: {label}: {exc}", err=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("guardrail: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        typer.echo("guardrail: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # click usage errors come through here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return int(ExitCode.BAD_INPUT)
        raise
    return code if isinstance(code, int) else int(ExitCode.OK)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
