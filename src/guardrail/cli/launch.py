"""The `guardrail` script: `guardrail hook ...` starts without the typer app, everything else runs it.

A hook is a fresh process per tool call, so its start-up is the budget; see cli/hook.py.
"""

from __future__ import annotations

import sys


def entry() -> None:
    if sys.argv[1:2] == ["hook"]:
        from guardrail.cli.hook import main

        sys.exit(main(sys.argv[2:]))
    from guardrail.cli.main import entry as run_app

    run_app()


if __name__ == "__main__":
    entry()
