"""Read a file as it was at a git ref (`git show REF:./path`), for diffing the roster against the base branch.

A ref or path git cannot resolve is an input error (exit 2: the user named something that is not there); git
missing or hanging means we could not decide (exit 3). Either way the gate fails closed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from guardrail.errors import ConfigError, CouldNotFinish

GIT_TIMEOUT_S = 30.0


def show_file(path: Path, ref: str, *, timeout_s: float = GIT_TIMEOUT_S) -> str:
    """The text of `path` at `ref`, resolved from the file's own folder so any working directory works."""
    if not ref or ref.startswith("-"):
        raise ConfigError(f"not a git ref: {ref!r}", field="--base-ref")
    git = shutil.which("git")
    if git is None:
        raise CouldNotFinish("git is not installed, so the base roster cannot be read", hint="pass --base FILE instead")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ConfigError("folder not found", path=str(folder))
    spec = f"{ref}:./{path.name}"
    try:
        proc = subprocess.run(
            [git, "show", spec],
            cwd=folder,
            capture_output=True,
            timeout=timeout_s,
            check=False,
            env=None,
        )
    except subprocess.TimeoutExpired as exc:
        raise CouldNotFinish(f"git show {spec} took longer than {timeout_s:g}s") from exc
    except OSError as exc:
        raise CouldNotFinish(f"cannot run git: {exc.strerror or exc}") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"git exited {proc.returncode}"
        raise ConfigError(
            f"cannot read the base roster at {ref}: {detail.removeprefix('fatal: ')}",
            path=str(path),
            field="--base-ref",
            hint="in CI fetch the base branch (actions/checkout with fetch-depth: 0) or pass --base FILE",
        )
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the base roster at {ref} is not UTF-8 text", path=str(path)) from exc


__all__ = ["GIT_TIMEOUT_S", "show_file"]
