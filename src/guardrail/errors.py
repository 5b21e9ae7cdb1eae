"""One error tree; every error knows its exit code.

    GuardrailError                      exit 3 unless a subclass says otherwise
    ├── InputError                      exit 2: the user's files are wrong
    │   ├── ConfigError                 YAML, JSON, schema, unknown names (file, line, field)
    │   └── PolicyError                 Rego that does not compile or is unsafe (file:line:col)
    ├── CouldNotFinish                  exit 3: the tool could not decide; gates fail closed
    │   ├── EngineError                 policy evaluation failed or timed out
    │   ├── ProviderError               a model provider failed after retries
    │   └── TooManyErrors               a run crossed its error budget
    └── Failed                          exit 1: ran fine, and the answer is no (findings, failed tests, gate deny)

Failed is an error only so commands can unwind through one path; it is never shown as a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    """The one exit-code table, shared by every command."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    COULD_NOT_FINISH = 3
    INTERRUPTED = 130


class GuardrailError(Exception):
    """Base of every error guardrail raises on purpose."""

    exit_code: ExitCode = ExitCode.COULD_NOT_FINISH

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def __reduce__(self) -> tuple[object, ...]:
        # errors cross process boundaries (the policy worker); keep every attribute, not just args
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[GuardrailError], args: tuple[object, ...], state: dict[str, object]) -> GuardrailError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InputError(GuardrailError):
    """The user's input is wrong; fixing the file fixes the run."""

    exit_code = ExitCode.BAD_INPUT


class ConfigError(InputError):
    """A YAML/JSON file that does not parse or does not match its schema. `also` holds the file's other errors,
    shown one per line after the first, so a user fixes them all in one go."""

    MAX_SHOWN = 200  # errors listed; past that, a count
    MAX_PATH = 240  # characters of a path shown (a hostile 1 MB path must not become a 1 MB message)

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        also: Sequence[ConfigError] = (),
    ) -> None:
        self.path, self.line, self.field = path, line, field
        self.message_only = message
        self.also = list(also)
        text = self.where() + message
        shown = self.also[: self.MAX_SHOWN - 1]
        for other in shown:
            text += f"\n  {other.where()}{other.message_only}"
        if len(self.also) > len(shown):
            text += f"\n  ... and {len(self.also) - len(shown)} more error(s) in this file"
        super().__init__(text, hint=hint)

    def where(self) -> str:
        """`path:line: field: ` (each part only when known)."""
        where = ""
        if self.path:
            path = self.path
            if len(path) > self.MAX_PATH:
                half = self.MAX_PATH // 2
                path = f"{path[:half]}...({len(path):,} characters)...{path[-half:]}"
            where = f"{path}:{self.line}: " if self.line else f"{path}: "
        return where + (f"{self.field}: " if self.field else "")


class PolicyError(InputError):
    """A policy that does not compile, or a missing policy directory."""


class CouldNotFinish(GuardrailError):
    """The tool could not reach a decision; a gate must treat this as deny."""

    exit_code = ExitCode.COULD_NOT_FINISH


class EngineError(CouldNotFinish):
    """Policy evaluation failed at run time (a builtin error, a timeout, a crashed worker)."""


class ProviderError(CouldNotFinish):
    """A model provider failed after the retry policy gave up."""


class TooManyErrors(CouldNotFinish):
    """A run had more task errors than its spec allows."""


class Failed(GuardrailError):
    """The command ran and the answer is no: findings, failed tests, a denied gate."""

    exit_code = ExitCode.FAILED


class FieldError(ValueError):
    """Raised inside record validators: a message plus the field path it belongs to.

    pydantic reports a model-level validator's error at the model; this carries the real field so the loader can
    point at the right line.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


__all__ = [
    "ConfigError",
    "CouldNotFinish",
    "EngineError",
    "ExitCode",
    "Failed",
    "FieldError",
    "GuardrailError",
    "InputError",
    "PolicyError",
    "ProviderError",
    "TooManyErrors",
]
