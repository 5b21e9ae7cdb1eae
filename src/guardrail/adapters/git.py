"""Read files as they were at a git ref: the base roster (`git show REF:./path`) and the trusted inputs of the CI
gate (policies, eval specs, suites: `git archive`), always resolved from a folder so any working directory works.

A ref or path git cannot resolve is an input error (exit 2: the user named something that is not there); git
missing or hanging means we could not decide (exit 3). Either way the gate fails closed.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

from guardrail.errors import ConfigError, CouldNotFinish

GIT_TIMEOUT_S = 30.0
FETCH_HINT = "in CI fetch the base branch (actions/checkout with fetch-depth: 0) or pass --base FILE"


def _git(args: list[str], folder: Path, timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise CouldNotFinish("git is not installed, so the base cannot be read", hint="pass --base FILE instead")
    if not folder.is_dir():
        raise ConfigError("folder not found", path=str(folder))
    try:
        return subprocess.run([git, *args], cwd=folder, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CouldNotFinish(f"git {' '.join(args)} took longer than {timeout_s:g}s") from exc
    except OSError as exc:
        raise CouldNotFinish(f"cannot run git: {exc.strerror or exc}") from exc


def _check_ref(ref: str) -> None:
    if not ref or ref.startswith("-"):
        raise ConfigError(f"not a git ref: {ref!r}", field="--base-ref")


def _failure(proc: subprocess.CompletedProcess[bytes], what: str, path: Path) -> ConfigError:
    message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    detail = message[-1] if message else f"git exited {proc.returncode}"
    return ConfigError(f"{what}: {detail.removeprefix('fatal: ')}", path=str(path), field="--base-ref", hint=FETCH_HINT)


def list_files(folder: Path, ref: str, *, suffix: str = "", timeout_s: float = GIT_TIMEOUT_S) -> list[str]:
    """Names of the files directly in `folder` at `ref` (none when the folder did not exist then)."""
    _check_ref(ref)
    proc = _git(["ls-tree", "--name-only", ref, "./"], folder.resolve(), timeout_s)
    if proc.returncode != 0:
        raise _failure(proc, f"cannot read the base roster at {ref}", folder)
    names = proc.stdout.decode("utf-8", "replace").splitlines()
    return sorted(Path(name).name for name in names if name.endswith(suffix))


def show_file(path: Path, ref: str, *, timeout_s: float = GIT_TIMEOUT_S) -> str:
    """The text of `path` at `ref`, resolved from the file's own folder so any working directory works."""
    _check_ref(ref)
    proc = _git(["show", f"{ref}:./{path.name}"], path.resolve().parent, timeout_s)
    if proc.returncode != 0:
        raise _failure(proc, f"cannot read the base roster at {ref}", path)
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the base roster at {ref} is not UTF-8 text", path=str(path)) from exc


def export_tree(
    ref: str, folder: Path, paths: Sequence[str], dest: Path, *, timeout_s: float = GIT_TIMEOUT_S
) -> list[str]:
    """Write `paths` (files or folders, relative to `folder`) as they are at `ref` under `dest`, keeping their
    relative paths; returns those that exist at `ref` (a path absent there is simply not written).

    Two git processes whatever the number of files: `ls-tree` says which paths exist, `archive` streams them.
    """
    _check_ref(ref)
    folder = folder.resolve()
    listed = _git(["ls-tree", "-z", "--name-only", ref, "--", *paths], folder, timeout_s)
    if listed.returncode != 0:
        raise _failure(listed, f"cannot read the base at {ref}", folder)
    present = [p for p in listed.stdout.decode("utf-8", "replace").split("\0") if p]
    if not present:
        return []
    archive = _git(["archive", "--format=tar", ref, "--", *present], folder, timeout_s)
    if archive.returncode != 0:
        raise _failure(archive, f"cannot read the base at {ref}", folder)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout), mode="r:") as tar:
        tar.extractall(dest, filter="data")
    return present


__all__ = ["GIT_TIMEOUT_S", "export_tree", "list_files", "show_file"]
