"""The embedded Rego engine (regorus) behind a small interface.

`RegoEngine` is regorus in this process, loaded the way every command loads policies: the static checks of
`rego_check` first (so a rule the engine would reject only when it runs is an input error at load), then the
sources as `rego_rewrite` makes them give OPA's answers, with the built-ins of `rego_builtins`. `EngineWorker`
(`rego_worker`) runs one in a child process under a time and a memory limit.

Data files under `policies/data/` mount under `data.<file stem>`; `--data FILE` merges at the root, as `opa -d` does.
Compile errors surface at load: regorus compiles lazily, so loading evaluates a constant to force it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from guardrail.adapters.rego_ast import ParsedModule, add_module, new_engine, parse
from guardrail.adapters.rego_rewrite import Rewritten, is_internal, rewrite
from guardrail.errors import ConfigError, EngineError, GuardrailError, PolicyError

if TYPE_CHECKING:
    from guardrail.adapters.rego_worker import EngineWorker

DEFAULT_TIMEOUT_S = 10.0
START_HINT = "to start a project with the bundled policies, run `guardrail init`"
_ERROR_AT = re.compile(r"-->\s*(?P<path>.+?):(?P<line>\d+):(?P<col>\d+)")
_ERROR_MSG = re.compile(r"^error:\s*(?P<msg>.+)$", re.MULTILINE)
_INTERPOLATION = re.compile(r'^\s*\d+ \|.*\$"', re.MULTILINE)  # the located source line regorus quotes


def _engine_failure(exc: BaseException) -> BaseException:
    """What regorus raises: RuntimeError with a located message, or, when it panics (`strings.count(s, "")`), pyo3's
    PanicException, a BaseException that escaped `except Exception` (a traceback, a worker dead mid-query).
    Anything else (Ctrl-C, exit) is raised again."""
    if isinstance(exc, Exception) or type(exc).__name__ == "PanicException":
        return exc
    raise exc


class Undefined:
    """A query with no result (OPA's `undefined`), distinct from `null`/`false`."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED = Undefined()


@dataclass
class PolicyBundle:
    """Everything an engine needs, as plain data: it crosses into the worker process and to an OPA server."""

    modules: list[tuple[str, str]] = field(default_factory=list)  # (path as shown to users, source)
    data: dict[str, Any] = field(default_factory=dict)
    root: str = ""
    prepared: bool = False  # modules already checked and rewritten (`prepare`): load them as they are

    def packages_of_tests(self) -> list[str]:
        return [path for path, _ in self.modules if path.endswith("_test.rego")]


def _merge(into: dict[str, Any], value: dict[str, Any]) -> None:
    for key, item in value.items():
        if isinstance(item, dict) and isinstance(into.get(key), dict):
            _merge(into[key], item)
        else:
            into[key] = item


def to_json(value: Any) -> str:
    """JSON for the engine; YAML dates and datetimes become ISO strings, as they would in a JSON data file."""
    return json.dumps(value, default=_iso)


def _iso(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _load_data_file(path: Path) -> Any:
    from guardrail.adapters.loading import load_yaml

    return json.loads(to_json(load_yaml(path).data))


def load_bundle(
    policy_dir: Path,
    *,
    include_tests: bool = True,
    extra_data: Iterable[Path] = (),
    display_root: Path | None = None,
) -> PolicyBundle:
    """Read every `.rego` under policy_dir and the data files under its `data/` folder."""
    if not policy_dir.exists():
        raise PolicyError(f"{policy_dir}: policy directory not found", hint=f"pass --policies DIR; {START_HINT}")
    if not policy_dir.is_dir():
        raise PolicyError(f"{policy_dir}: not a directory")
    from guardrail.adapters.loading import read_text

    shown = display_root or Path.cwd()
    bundle = PolicyBundle(root=str(policy_dir))
    for path in sorted(policy_dir.rglob("*.rego")):
        if not include_tests and path.name.endswith("_test.rego"):
            continue
        rel = _display(path, shown)
        try:
            bundle.modules.append((rel, read_text(path)))
        except ConfigError as exc:  # a FIFO, a device, a symlink loop, too large, not UTF-8
            raise PolicyError(f"{rel}: cannot read: {exc.message_only}") from exc
    if not bundle.modules:
        raise PolicyError(f"{policy_dir}: no .rego files found", hint=START_HINT)
    data_dir = policy_dir / "data"
    if data_dir.is_dir():
        for path in sorted(data_dir.iterdir()):
            if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
                value = _load_data_file(path)
                _merge(bundle.data, {path.stem: value})
    add_data_files(bundle, extra_data)
    return bundle


def load_paths(
    paths: list[Path],
    *,
    include_tests: bool = True,
    extra_data: Iterable[Path] = (),
    display_root: Path | None = None,
) -> PolicyBundle:
    """Several paths, as `opa test PATH...` takes them: policy folders, single .rego files, JSON/YAML data files."""
    from guardrail.adapters.loading import read_text

    bundle = PolicyBundle(root=str(paths[0]) if paths else "")
    seen: set[str] = set()
    for path in paths:
        if not path.exists():
            hint = f"pass policy folders or .rego files; {START_HINT}"
            raise PolicyError(f"{path}: policy directory not found", hint=hint)
        if path.is_dir():
            part = load_bundle(path, include_tests=include_tests, display_root=display_root)
            modules = part.modules
            _merge(bundle.data, part.data)
        elif path.suffix == ".rego":
            try:
                modules = [(_display(path, display_root), read_text(path))]
            except ConfigError as exc:
                raise PolicyError(f"{path}: cannot read: {exc.message_only}") from exc
        elif path.suffix in (".json", ".yaml", ".yml"):
            add_data_files(bundle, [path])
            continue
        else:
            raise PolicyError(f"{path}: not a policy folder, a .rego file or a JSON/YAML data file")
        for module in modules:
            if module[0] not in seen:  # overlapping paths name a file once
                seen.add(module[0])
                bundle.modules.append(module)
    if not bundle.modules:
        raise PolicyError(f"{', '.join(str(p) for p in paths)}: no .rego files found", hint=START_HINT)
    add_data_files(bundle, extra_data)
    return bundle


def _display(path: Path, root: Path | None) -> str:
    try:
        return path.resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return str(path)


def add_data_files(bundle: PolicyBundle, paths: Iterable[Path]) -> None:
    """Merge data files at the root of `data`, as `opa eval -d FILE` does."""
    for path in paths:
        value = _load_data_file(path)
        if not isinstance(value, dict):
            raise ConfigError("a data file must hold an object at its top level", path=str(path), line=1)
        _merge(bundle.data, value)


def rego_error(
    exc: BaseException, *, query: str | None = None, columns: Callable[[str, int, int], int] | None = None
) -> GuardrailError:
    """Turn a regorus message into `path:line:col: message`; compile-time problems are input errors.

    `columns` maps a column of the source the engine loaded back to the file as written (see rego_rewrite).
    """
    text = str(exc).split("\nStack backtrace:")[0]  # a backtrace (RUST_BACKTRACE set before we could unset it)
    at, msg = _ERROR_AT.search(text), _ERROR_MSG.search(text)
    message = msg.group("msg").strip() if msg else text.strip().splitlines()[-1] if text.strip() else repr(exc)
    where = ""
    interpolation = bool(at and message == "invalid character" and _INTERPOLATION.search(text))
    if interpolation:
        message = 'string interpolation ($"...") is not supported by the embedded engine; build the string with sprintf'
    if at:
        line, col = int(at["line"]), int(at["col"])
        where = f"{at['path']}:{line}:{columns(at['path'], line, col) if columns else col}: "
    compile_like = interpolation or any(
        marker in message
        for marker in ("unsafe", "expecting", "unexpected", "conflicts with", "undefined", "invalid", "not a valid")
    )
    if at and compile_like:
        return PolicyError(f"{where}{message}")
    suffix = f" (while evaluating {query})" if query else ""
    return EngineError(f"{where}{message}{suffix}")


class RegoEngine:
    """regorus in this process and this thread. Use `EngineWorker` when a time limit matters."""

    def __init__(
        self, bundle: PolicyBundle, *, coverage: bool = False, strict: bool = True, prepared: Rewritten | None = None
    ) -> None:
        """`strict`: refuse what `rego_check` finds (every caller but `compile_errors`, which lists it itself).
        `prepared`: what `check_and_rewrite` made of these very modules (adapters/prepared_cache), loaded as is."""
        self.bundle = bundle
        self._parsed_cache: list[ParsedModule] | None = None
        if bundle.prepared:  # checked and rewritten once, ahead (the hook's cached snapshot): no parse here
            self._fixed = Rewritten(modules=list(bundle.modules))
        elif prepared is not None:
            self._fixed = prepared
        else:
            self._parsed_cache = _parse(bundle.modules)
            if strict:
                _refuse_problems(self._parsed_cache)
            self._fixed = rewrite(self._parsed_cache)
        self._coverage = coverage
        self._engine = self._load()

    def _load(self) -> Any:
        engine = new_engine()
        for path, source in self._fixed.modules:
            try:
                engine.add_policy(path, source)
            except BaseException as exc:
                raise self._error(_engine_failure(exc)) from None
        if self.bundle.data:
            engine.add_data_json(to_json(self.bundle.data))
        if self._coverage:
            engine.set_enable_coverage(True)
        engine.set_gather_prints(True)
        try:
            engine.eval_query_as_json("true")  # forces compilation: errors surface now, not mid-run
        except BaseException as exc:
            raise self._error(_engine_failure(exc)) from None
        return engine

    @property
    def _parsed(self) -> list[ParsedModule]:
        if self._parsed_cache is None:  # prepared ahead: the sources as written, or for a prepared bundle as loaded
            loaded = [m for m in self._fixed.modules if not is_internal(m[0])]
            self._parsed_cache = _parse(loaded if self.bundle.prepared else self.bundle.modules)
        return self._parsed_cache

    def _error(self, exc: BaseException, query: str | None = None) -> GuardrailError:
        error = rego_error(exc, query=query, columns=self._fixed.original_col)
        if query and not _ERROR_AT.search("--> " + error.message) and (where := self._defined_at(query)):
            error.message = f"{where}: {error.message}"  # some built-in errors carry no location at all
        return error

    def _defined_at(self, query: str) -> str | None:
        """`path:line` of the first rule a data-path query names (`data.p.x` -> where `x` of package p is)."""
        parts = query.strip().split(".")
        if parts[0] != "data" or not all(p.isidentifier() for p in parts[1:]):
            return None
        for module in self._parsed:
            depth = len(module.package)
            if tuple(parts[1 : 1 + depth]) != module.package:
                continue
            rest = parts[1 + depth :]
            for rule in module.rules():
                path = rule.static_path()
                if path[: len(rest)] == rest or rest[: len(path)] == path:
                    return f"{module.path}:{rule.span.line}"
        return None

    def packages(self) -> list[str]:
        return list(self._engine.get_packages())

    def ast(self) -> list[dict[str, Any]]:
        """The modules as written (not as rewritten for the engine), in regorus's AST JSON shape."""
        return [{"source": {"file": m.path, "contents": m.source}, "ast": m.ast} for m in self._parsed]

    def query(self, query: str, input: Any = None) -> Any:
        """The value of a single-expression query, or UNDEFINED."""
        results = self.results(query, input)
        if not results:
            return UNDEFINED
        expressions = results[0].get("expressions") or []
        return expressions[0]["value"] if expressions else UNDEFINED

    def results(self, query: str, input: Any = None) -> list[dict[str, Any]]:
        """Every result of a query, as regorus gives them: `{"expressions": [...], "bindings": {...}}`."""
        if input is not None:
            self._engine.set_input_json(to_json(input))
        answer = self._evaluate(lambda: self._engine.eval_query_as_json(query), query)
        return list(json.loads(answer).get("result") or [])

    def eval_rule_json(self, rule: str, input_json: str) -> str:
        """A rule's value as JSON text, for input given as JSON text: no Python object is built on the way in or
        out (the audit's batches cross a process boundary as text). Undefined is the JSON string `"<undefined>"`."""
        self._engine.set_input_json(input_json)
        return str(self._evaluate(lambda: self._engine.eval_rule_as_json(rule), rule))

    def _evaluate(self, call: Callable[[], Any], what: str) -> Any:
        """One evaluation; its failure as our error naming `what`. A panic leaves regorus's evaluation state
        behind, so the engine is loaded afresh for the next one."""
        try:
            return call()
        except BaseException as exc:
            # no local holds the failure: its traceback holds this frame, and so this engine, in a cycle that only
            # the collector frees, on whichever thread it runs (a regorus Engine may only be dropped on its own)
            if not isinstance(_engine_failure(exc), Exception):
                self._engine = self._load()
            raise self._error(_engine_failure(exc), what) from None

    def coverage(self) -> dict[str, Any]:
        report = json.loads(self._engine.get_coverage_report_as_json())
        report["files"] = [f for f in report.get("files", []) if not is_internal(str(f.get("path", "")))]
        return report

    def take_prints(self) -> list[str]:
        return list(self._engine.take_prints())


class PolicyEngine(Protocol):
    """What the app layer needs from any engine (embedded worker or OPA server)."""

    def query(self, query: str, input: Any = None) -> Any: ...

    def packages(self) -> list[str]: ...

    def close(self) -> None: ...


def _refuse_problems(parsed: list[ParsedModule]) -> None:
    """Every problem `rego_check` finds, refused at once (one message, a line each)."""
    if problems := _check(parsed):
        raise PolicyError("\n".join(p.message for p in problems))


def _check(parsed: list[ParsedModule]) -> list[PolicyError]:
    """`rego_check`, imported where modules are checked: a process that loads checked modules skips it."""
    from guardrail.adapters.rego_check import check

    return check(parsed)


def _parse(modules: list[tuple[str, str]]) -> list[ParsedModule]:
    try:
        return parse(modules)
    except GuardrailError:
        raise
    except BaseException as exc:
        raise rego_error(_engine_failure(exc)) from None


def check_and_rewrite(modules: list[tuple[str, str]]) -> Rewritten:
    """What a strict `RegoEngine` loads: the modules through `rego_check` (refused with every problem) and
    `rego_rewrite`. adapters/prepared_cache keeps the result per content."""
    parsed = _parse(modules)
    _refuse_problems(parsed)
    return rewrite(parsed)


def prepare(bundle: PolicyBundle) -> PolicyBundle:
    """The bundle checked and rewritten once, for a caller that loads it many times from a cache (the hook):
    `RegoEngine` then loads its modules as they are. Raises what loading it would raise."""
    from guardrail.adapters.prepared_cache import prepared

    return PolicyBundle(modules=prepared(bundle.modules).modules, data=bundle.data, root=bundle.root, prepared=True)


def compile_errors(bundle: PolicyBundle) -> list[PolicyError]:
    """Every compile error in a bundle, not just the first.

    regorus stops at the first error, so broken files are set aside one at a time and the rest compiled again.
    Syntax errors are found file by file at parse time.
    """
    errors: list[PolicyError] = []
    good: list[tuple[str, str]] = []
    for path, source in bundle.modules:
        try:
            add_module(new_engine(), path, source)
            good.append((path, source))
        except GuardrailError as exc:
            errors.append(_as_policy_error(exc))
        except Exception as exc:
            errors.append(_as_policy_error(rego_error(exc)))
    static = _check(parse(good)) if good else []
    while good:
        try:
            RegoEngine(PolicyBundle(modules=good, data=bundle.data, root=bundle.root), strict=False)
            break
        except GuardrailError as exc:
            errors.append(_as_policy_error(exc))
            at = _ERROR_AT.search("--> " + exc.message)
            remaining = [m for m in good if not at or m[0] != at["path"]]
            if len(remaining) == len(good):
                break
            good = remaining
    located = {e.message.split(": ", 1)[0] for e in static}  # where both found a spot, the static check says why
    return sorted(static + [e for e in errors if e.message.split(": ", 1)[0] not in located], key=_by_location)


def _by_location(error: GuardrailError) -> tuple[str, int, int]:
    path, line, col = [*error.message.split(":", 3), "0", "0"][:3]
    return path, int(line) if line.isdigit() else 0, int(col) if col.isdigit() else 0


def _as_policy_error(error: GuardrailError) -> PolicyError:
    return error if isinstance(error, PolicyError) else PolicyError(error.message)


def __getattr__(name: str) -> Any:
    """`EngineWorker` on first use: importing it (multiprocessing) costs the hook's in-process path ~12 ms."""
    if name == "EngineWorker":
        from guardrail.adapters.rego_worker import EngineWorker

        return EngineWorker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "UNDEFINED",
    "EngineWorker",
    "PolicyBundle",
    "PolicyEngine",
    "RegoEngine",
    "Undefined",
    "add_data_files",
    "check_and_rewrite",
    "compile_errors",
    "load_bundle",
    "load_paths",
    "prepare",
]
