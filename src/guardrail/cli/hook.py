"""`guardrail hook claude-code`: the live hook Claude Code runs before every tool call.

A cold process per tool call, so this command skips typer (its import alone is a good part of the budget): the
`guardrail` script sends `hook ...` here before the typer app loads (cli/launch.py), and the typer app only
registers the name so `guardrail --help` lists it. Usage errors exit 2, which Claude Code treats as a block.
"""

# no `from __future__ import annotations`: typer reads the nested command's annotation at run time, and typer is
# imported inside register() only
import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from guardrail.adapters.claude_code import SOURCE
from guardrail.app.hook import DEFAULT_TIMEOUT_S, HookSettings, claude_code_hook, project_dir_from_env

HELP = "Live enforcement: decide a runtime's tool calls with the action policy, logged, fail closed."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guardrail hook", description=HELP)
    runtimes = parser.add_subparsers(dest="runtime", required=True, metavar="RUNTIME")
    claude = runtimes.add_parser(
        "claude-code",
        help="Claude Code PreToolUse hook: reads the payload on stdin, answers allow, ask or deny.",
        description=(
            "Reads a PreToolUse payload on stdin and answers allow, ask or deny from the action policy. "
            "Exit 0 (allow, ask) or 2 (deny: Claude Code blocks the call). Relative paths and the defaults are "
            "resolved in $CLAUDE_PROJECT_DIR when set. See docs/claude-code.md."
        ),
    )
    claude.add_argument("--roster", type=Path, help="roster.yaml, a .claude/agents folder or a project (default: .)")
    claude.add_argument("--agent", help="the roster agent the main conversation runs as (subagents map by name)")
    claude.add_argument("--log", type=Path, help="decision log (default: .guardrail/decisions.jsonl)")
    claude.add_argument("--policies", type=Path, help="policy directory (default: policies/)")
    claude.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to decide before answering deny (default {DEFAULT_TIMEOUT_S:g}); keep it below the "
        "hook's timeout in settings.json, since Claude Code lets a timed-out hook's call through",
    )
    return parser


def _positive(text: str) -> float:
    """A deadline of 0 would mean none, and a hook Claude Code times out lets the call through: refused."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def main(argv: Sequence[str]) -> int:
    try:
        options = _parser().parse_args(list(argv))
    except SystemExit as exc:  # --help (0) or a usage error (2, which Claude Code treats as a block)
        return int(exc.code or 0)
    project = project_dir_from_env()
    settings = HookSettings(
        source=SOURCE,
        roster=_within(project, options.roster),
        policies=_within(project, options.policies),
        log=_within(project, options.log),
        default_agent=options.agent,
        timeout_s=options.timeout,
        project_dir=project,
    )
    out, err, code = claude_code_hook(sys.stdin.buffer.read, settings)
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
    if err:
        sys.stderr.write(err + "\n")
    return code


def _within(project: Path | None, path: Path | None) -> Path | None:
    return project / path if project is not None and path is not None and not path.is_absolute() else path


def register(app: Any) -> None:
    """List `hook` in the typer app; the arguments go to this module's own parser."""
    import typer

    hook_app = typer.Typer(help=HELP, no_args_is_help=True)

    @hook_app.command(
        "claude-code",
        help="Claude Code PreToolUse hook (see `guardrail hook claude-code --help`).",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )
    def claude_code(ctx: typer.Context) -> None:
        raise typer.Exit(main(["claude-code", *ctx.args]))

    app.add_typer(hook_app, name="hook")
