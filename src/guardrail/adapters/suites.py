"""Load task suites and eval specs; every mistake is a ConfigError naming file, line and field.

A suite is a folder: `tools.yaml` holds each tool's JSON schema, every other `*.yaml`/`*.yml` (a list of tasks
or `{tasks: [...]}`) and `*.jsonl` (one task per line) holds tasks. A template task (`vary:`) expands into one
task per attribute value, so counterfactual cases are written once. The published JSON Schemas are generated
from the same pydantic records (`write_schemas`), so the files users validate against cannot drift from what
the loader accepts.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrail.adapters import files
from guardrail.adapters.loading import Document, Loc, format_loc, iter_jsonl, load_yaml, validate, validate_schema
from guardrail.adapters.roster_file import LoadedRoster, load_roster
from guardrail.core import secrets
from guardrail.core.llm import sim_profile
from guardrail.core.suite import Candidate, Counterfactual, EvalSpec, Task, ToolFile
from guardrail.errors import ConfigError
from guardrail.project import Project

TOOLS_FILE = "tools.yaml"
TASK_SUFFIXES = (".yaml", ".yml", ".jsonl")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*(/[A-Za-z0-9._:@+-]+)*$")
SCHEMA_BASE = "https://guardrail.dev/schemas/"
_METASCHEMA = {"$ref": "https://json-schema.org/draft/2020-12/schema"}  # what a tool's `parameters` must be


@dataclass
class Suite:
    """A loaded suite: its tool schemas and its (expanded) tasks, in file order."""

    name: str
    path: Path
    tools: ToolFile
    tasks: list[Task]

    def openai_tools(self, names: list[str]) -> list[dict[str, Any]]:
        """OpenAI tool schemas for the tools a task offers."""
        return [
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": self.tools.tools[name].description,
                    "parameters": self.tools.tools[name].parameters,
                },
            }
            for name in names
        ]


@dataclass
class LoadedEval:
    """An eval spec with everything it names resolved and checked."""

    spec: EvalSpec
    path: Path
    project: Project
    roster: LoadedRoster
    suites: list[Suite] = field(default_factory=list)

    @property
    def task_count(self) -> int:
        return sum(len(s.tasks) for s in self.suites)


# --- documents within a file --------------------------------------------------------------------------------


def _sub_documents(doc: Document) -> Iterator[tuple[Document, Loc]]:
    """Split a YAML tasks file into one Document per task, each keeping its own lines (one pass)."""
    data = doc.data
    prefix: Loc = ()
    items = data
    if isinstance(data, dict) and set(data) == {"tasks"}:
        items, prefix = data["tasks"], ("tasks",)
    if items is None:
        return
    if not isinstance(items, list):
        raise doc.error("a tasks file holds a list of tasks, or a mapping with a `tasks` list", prefix)
    depth = len(prefix)
    per_item: dict[int, dict[Loc, int]] = {}
    for loc, line in doc.lines.items():
        index = loc[depth] if len(loc) > depth and loc[:depth] == prefix else None
        if isinstance(index, int):
            per_item.setdefault(index, {})[loc[depth + 1 :]] = line
    for index, item in enumerate(items):
        yield (
            Document(doc.path, item, per_item.get(index, {(): doc.line_of((*prefix, index)) or 1})),
            (*prefix, index),
        )


def _task_documents(path: Path) -> Iterator[Document]:
    if path.suffix == ".jsonl":
        yield from iter_jsonl(path)
    else:
        for sub, _ in _sub_documents(load_yaml(path)):
            yield sub


def _substitute(value: Any, values: dict[str, str], doc: Document, loc: Loc) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                raise doc.error(f"placeholder {{{{{key}}}}} has no substitution in vary.values", loc)
            return values[key]

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(item, values, doc, (*loc, i)) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {k: _substitute(v, values, doc, (*loc, k)) for k, v in value.items()}
    return value


def expand_template(task: Task, doc: Document) -> list[Task]:
    """One variant per value: id `<id>~<attribute>=<value>`, message placeholders filled, one template."""
    if task.vary is None:
        return [task]
    if task.counterfactual is not None:
        raise doc.error("a template (vary) sets its counterfactual group itself; remove `counterfactual`", ("vary",))
    variants: list[Task] = []
    base = task.model_dump(exclude={"vary", "counterfactual", "template", "id", "messages"})
    for value, substitutions in task.vary.values.items():
        messages = [
            {
                **message,
                "content": _substitute(message.get("content"), substitutions, doc, ("messages", i, "content")),
            }
            if "content" in message
            else message
            for i, message in enumerate(task.messages)
        ]
        variant = {
            **base,
            "id": f"{task.id}~{task.vary.attribute}={value}",
            "messages": messages,
            "counterfactual": Counterfactual(group=task.id, attribute=task.vary.attribute, value=value),
            "template": task.id,
        }
        try:
            variants.append(Task.model_validate(variant))
        except Exception:
            raise doc.error(
                f"value {value!r} does not make a valid task id (letters, digits and ._:~=- only)",
                ("vary", "values", value),
            ) from None
    return variants


def _check_task(task: Task, doc: Document, tools: ToolFile, tools_path: Path, agents: set[str] | None) -> None:
    for index, name in enumerate(task.tools):
        if name not in tools.tools:
            raise doc.error(f"unknown tool {name!r}: define it in {tools_path}", ("tools", index))
    for name in task.tool_results:
        if name not in task.tools:
            raise doc.error(f"stubbed result for {name!r}, which the task does not offer", ("tool_results", name))
    for index, recorded in enumerate(task.recorded_results):
        if recorded.tool not in task.tools:
            raise doc.error(
                f"recorded result for {recorded.tool!r}, which the task does not offer",
                ("recorded_results", index, "tool"),
            )
    for index, call in enumerate(task.expect.tool_calls):
        if call.name not in task.tools:
            raise doc.error(
                f"expected call to {call.name!r}, which the task does not offer",
                ("expect", "tool_calls", index, "name"),
            )
    if agents is not None and task.agent is not None and task.agent not in agents:
        raise doc.error(f"unknown agent {task.agent!r}: not in the roster", ("agent",))


def load_tool_file(suite_dir: Path) -> ToolFile:
    """The suite's tools; each `parameters` must be a valid JSON Schema of an object (checked against the
    metaschema here, so a broken schema is an input error now, not an error row for every task later)."""
    path = suite_dir / TOOLS_FILE
    if files.probe(path) is None:
        alt = suite_dir / "tools.yml"
        if files.probe(alt) is None:
            raise ConfigError(f"missing {TOOLS_FILE} (each tool's description and JSON schema)", path=str(suite_dir))
        path = alt
    doc = load_yaml(path)
    if doc.data is None:
        raise doc.error("empty tool file; expected `tools: {name: {description, parameters}}`")
    tools = validate(ToolFile, doc)
    for name, tool in tools.tools.items():
        if tool.parameters.get("type", "object") != "object":
            raise doc.error("tool parameters must be a JSON schema of type object", ("tools", name, "parameters"))
        validate_schema(_METASCHEMA, doc, prefix=("tools", name, "parameters"), value=tool.parameters)
    return tools


def load_suite(suite_dir: Path, *, agents: set[str] | None = None) -> Suite:
    """Load and check one suite folder; `agents` (roster agent names) checks each task's agent."""
    if not files.is_dir(suite_dir):
        raise ConfigError("suite folder not found", path=str(suite_dir))
    tools = load_tool_file(suite_dir)
    tools_path = suite_dir / TOOLS_FILE
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    paths = sorted(
        p
        for p in suite_dir.rglob("*")
        if p.suffix in TASK_SUFFIXES
        and files.probe(p) is not None  # a FIFO or a device named *.yaml is refused when read, not skipped
        and not files.is_dir(p)
        and p.name not in (TOOLS_FILE, "tools.yml")
        and not any(part.startswith(".") for part in p.relative_to(suite_dir).parts)
    )
    for path in paths:
        for doc in _task_documents(path):
            if not isinstance(doc.data, dict):
                raise doc.error("a task must be a mapping with id, messages, ...")
            task = validate(Task, doc)
            _check_task(task, doc, tools, tools_path, agents)
            for variant in expand_template(task, doc):
                where = f"{doc.path}:{doc.line_of(())}"
                if variant.id in seen:
                    raise doc.error(f"duplicate task id {variant.id!r} (first at {seen[variant.id]})", ("id",))
                seen[variant.id] = where
                tasks.append(variant)
    if not tasks:
        raise ConfigError("suite has no tasks (*.yaml, *.yml or *.jsonl beside tools.yaml)", path=str(suite_dir))
    return Suite(name=suite_dir.name, path=suite_dir, tools=tools, tasks=tasks)


# --- eval specs ---------------------------------------------------------------------------------------------


def sim_profiles() -> set[str] | None:
    """The simulated profiles on offer, or None when the sim adapter is not installed (no check then)."""
    import importlib

    for module_name in ("guardrail.adapters.sim_profiles", "guardrail.adapters.sim"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for attr in ("profile_names", "PROFILES"):
            value = getattr(module, attr, None)
            if callable(value):
                value = value()
            if value:
                return set(value)
    return None


def check_model_id(model: str) -> str | None:
    """Why a model id is clearly malformed, or None. Unknown-but-plausible ids are left to the provider."""
    if not _MODEL_ID.match(model):
        return f"malformed model id {model!r}: expected a litellm id such as openai/gpt-4o-mini or sim/balanced"
    profile = sim_profile(model)
    if profile is not None:
        profiles = sim_profiles()
        if profiles is not None and profile not in profiles:
            return f"unknown simulated model {model!r}; profiles: {', '.join(sorted(profiles))}"
    return None


def _probe(doc: Document, path: Path, loc: Loc) -> os.stat_result | None:
    """What is at a path the spec names; a loop or an over-long path is the spec's error, at that field."""
    try:
        return files.probe(path)
    except ConfigError as exc:
        raise doc.error(f"{exc.message_only}: {exc.where()}".removesuffix(": "), loc) from None


def load_eval(path: Path) -> LoadedEval:
    """An eval spec with its roster, agent and suites resolved against the project root, all checked."""
    doc = load_yaml(path)  # first: the guarded read names a symlink loop or an over-long path as an input error
    if not isinstance(doc.data, dict):
        raise doc.error("an eval spec must be a mapping with name, agent, suites, candidates and baseline")
    spec = validate(EvalSpec, doc)
    literal = list(secrets.literal_secrets(doc.data))  # a spec is committed and copied into run records
    if literal:
        (loc, what), more = literal[0], [format_loc(loc) for loc, _ in literal[1:]]
        also = f" (also at {', '.join(more)})" if more else ""
        raise doc.error(f"the spec holds {what}{also}", loc, hint=secrets.ENV_FIX)
    project = Project.find(path.resolve())
    for index, candidate in enumerate(spec.candidates):
        problem = check_model_id(candidate.id)
        if problem:
            raise doc.error(problem, ("candidates", index))
    roster_rel = spec.roster or "roster.yaml"
    roster_path = project.root / roster_rel
    if _probe(doc, roster_path, ("roster",)) is None:
        raise doc.error(
            f"roster file {roster_rel!r} not found under the project root {project.root}",
            ("roster",) if spec.roster else (),
            hint=None if spec.roster else "set `roster:` to the roster whose agent is replayed",
        )
    roster = load_roster(roster_path)
    agents = {a.name for a in roster.roster.agents}
    if spec.agent not in agents:
        raise doc.error(f"unknown agent {spec.agent!r}: not in {roster_rel}", ("agent",))
    suites: list[Suite] = []
    names: set[str] = set()
    for index, rel in enumerate(spec.suites):
        suite_dir = project.root / rel
        found = _probe(doc, suite_dir, ("suites", index))
        if found is None or not stat.S_ISDIR(found.st_mode):
            raise doc.error(f"suite folder {rel!r} not found under the project root", ("suites", index))
        suite = load_suite(suite_dir, agents=agents)
        if suite.name in names:
            raise doc.error(f"two suites are named {suite.name!r}", ("suites", index))
        names.add(suite.name)
        suites.append(suite)
    classes = roster.roster.data_classes
    for index, name in enumerate(spec.redact.data_classes if spec.redact else []):
        if name not in classes:
            raise doc.error(f"unknown data class {name!r}: not in {roster_rel}", ("redact", "data_classes", index))
    for suite in suites:
        for index, name in enumerate(suite.tools.redact.data_classes if suite.tools.redact else []):
            if name not in classes:
                raise ConfigError(
                    f"unknown data class {name!r}: not in {roster_rel}",
                    path=str(suite.path / TOOLS_FILE),
                    field=f"redact.data_classes[{index}]",
                )
    return LoadedEval(spec=spec, path=path, project=project, roster=roster, suites=suites)


def check_environment(loaded: LoadedEval, candidates: Iterable[Candidate]) -> None:
    """Every `os.environ/NAME` the run will send names a set variable; the first that does not is an input error
    (file, line, field, variable) raised before the run starts, rather than a run of auth errors."""
    spec = loaded.spec
    wanted = {c.id for c in candidates}
    params: list[tuple[tuple[str | int, ...], dict[str, Any]]] = [
        (("candidates", index, "params"), c.params) for index, c in enumerate(spec.candidates) if c.id in wanted
    ]
    if spec.judge is not None:
        params.append((("judge", "params"), spec.judge.params))
    missing = [((*loc, *path), name) for loc, values in params for path, name in secrets.missing_env(values)]
    if missing:
        loc, name = missing[0]
        more = sorted({n for _, n in missing[1:]} - {name})
        raise load_yaml(loaded.path).error(
            f"environment variable {name} is not set (the spec reads it with os.environ/{name})",
            loc,
            hint=f"export {name} before the run" + (f"; also unset: {', '.join(more)}" if more else ""),
        )


# --- published schemas --------------------------------------------------------------------------------------


def suite_json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas shipped in guardrail/schemas/, generated from the records the loader uses."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in (("task", Task), ("tools", ToolFile), ("eval", EvalSpec)):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{SCHEMA_BASE}{name}.schema.json"
        out[f"{name}.schema.json"] = schema
    return out


def schema_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "schemas"


def render_schema(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(target: Path | None = None) -> list[Path]:
    """Regenerate the shipped schema files (`python -m guardrail.adapters.suites`)."""
    folder = target or schema_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in suite_json_schemas().items():
        path = folder / name
        path.write_text(render_schema(schema), encoding="utf-8")
        written.append(path)
    return written


__all__ = [
    "LoadedEval",
    "Suite",
    "check_environment",
    "check_model_id",
    "expand_template",
    "load_eval",
    "load_suite",
    "load_tool_file",
    "sim_profiles",
    "suite_json_schemas",
    "write_schemas",
]


if __name__ == "__main__":  # pragma: no cover
    for written_path in write_schemas():
        print(written_path)
