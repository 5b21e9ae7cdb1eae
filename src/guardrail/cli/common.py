"""Options and helpers shared by command modules."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TypeVar

import typer

from guardrail.errors import ConfigError
from guardrail.project import Project
from guardrail.report.formats import Format, Renderers

T = TypeVar("T")
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def project_of(near: Path | None = None) -> Project:
    """The project a command works in: the one holding its file argument (a roster, a run folder), as `run` and
    `gate` find it from their spec and roster, else the working directory's."""
    return Project.find(near if near is not None and near.exists() else None)


def policies_dir(value: Path | None, near: Path | None = None) -> Path:
    return value if value is not None else project_of(near).policies


def emit(text: str, output: Path | None) -> None:
    """Write a rendered report to a file, or to stdout."""
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", path=str(output), field="--output") from None


def emit_report(renderers: Renderers[T], fmt: Format, subject: T, output: Path | None) -> None:
    """Render `subject` in `fmt` to a file or stdout. In a GitHub Actions job, `github` annotations also leave the
    markdown rendering in the job summary (`$GITHUB_STEP_SUMMARY`), whichever command made them."""
    emit(renderers.render(fmt, subject), output)
    summary_file = os.environ.get(STEP_SUMMARY_ENV)
    if fmt == Format.GITHUB and summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(renderers.render(Format.MARKDOWN, subject) + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot append the job summary: {exc.strerror}", path=summary_file) from None


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within this block SIGTERM (`kill PID`, a CI job cancelled, a container stopped) is Ctrl-C: whatever SIGINT
    does now runs (asyncio's cancellation of the replay, or KeyboardInterrupt), so a run ends `interrupted`, its
    journal closed and run.json marked for `--resume`, instead of dying with run.json left `running`."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):  # SIGINT ignored or default for a moment: the termination still stops the command
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding application's): leave its signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{value!r} is not one of {', '.join(allowed)}", field=option)
    return value


POLICY_TIMEOUT = typer.Option(
    10.0, "--policy-timeout", min=0.1, help="Seconds one policy evaluation may take before it is killed."
)
FORMAT = typer.Option(Format.TEXT, "--format", "-f", help="Output format.", case_sensitive=False)
OUTPUT = typer.Option(None, "--output", "-o", help="Write the report to this file instead of stdout.")
OPA_URL = typer.Option(
    None, "--opa-url", metavar="URL", help="Evaluate the policies on this OPA server instead of the embedded engine."
)
