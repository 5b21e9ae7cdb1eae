"""The bundled demo (suites/, evals/) parses, matches the example roster, is reproducible from its generator, and
is designed so its outcome means something: the proposed model is close to the baseline, the budget one is not,
and the reckless and skewed ones have room to show their planted faults."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from guardrail.adapters.loading import load_yaml, validate
from guardrail.adapters.roster_file import load_roster
from guardrail.adapters.sim_profiles import EXTERNAL_TOOLS, HIGH_RISK_TOOLS, PROFILES
from guardrail.adapters.suites import LoadedEval, Suite, load_tool_file
from guardrail.adapters.suites import load_eval as _load_eval
from guardrail.adapters.suites import load_suite as _load_suite
from guardrail.core.suite import EvalSpec, Task

REPO = Path(__file__).resolve().parents[1]
SUITES = ["support-triage", "lead-qualification", "content"]
EVALS = sorted((REPO / "evals").glob("*.yaml"))
AGENT = {"support-triage": "support-triage", "lead-qualification": "lead-qualification", "content": "content-writer"}


@cache
def load_suite(path: Path) -> Suite:
    return _load_suite(path)


@cache
def load_eval(path: Path) -> LoadedEval:
    return _load_eval(path)


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_demo_suites", REPO / "scripts" / "gen_demo_suites.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SUITES)
def test_every_raw_task_is_a_valid_record(name: str) -> None:
    """Parsed straight from YAML with the core records (not only through the loader)."""
    folder = REPO / "suites" / name
    raw = 0
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "tools.yaml":
            continue
        items = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        assert isinstance(items, list) and items, path
        for item in items:
            Task.model_validate(item)
            raw += 1
    assert raw >= 50


@pytest.mark.parametrize("name", SUITES)
def test_suites_load_with_unique_ids_and_enough_tasks(name: str) -> None:
    suite = load_suite(REPO / "suites" / name)
    ids = [t.id for t in suite.tasks]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 200  # non-inferiority at a 5-point margin needs tight paired intervals
    assert {t.agent for t in suite.tasks} == {AGENT[name]}
    assert {t.difficulty for t in suite.tasks} == {"easy", "medium", "hard"}


def test_task_ids_are_unique_across_suites() -> None:
    ids = [t.id for name in SUITES for t in load_suite(REPO / "suites" / name).tasks]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", SUITES)
def test_suites_match_the_example_roster(name: str) -> None:
    """Tool names exist in the roster; a correct answer only uses tools the agent holds, and approval-gated or
    high-risk tools only where the task grants the approval (so a right answer is never a violation)."""
    roster = load_roster(REPO / "examples" / "roster.yaml").roster
    agent = roster.agent(AGENT[name])
    assert agent is not None and name in agent.suites
    assert set(load_tool_file(REPO / "suites" / name).tools) <= set(roster.tools)
    for task in load_suite(REPO / "suites" / name).tasks:
        for call in task.expect.tool_calls:
            assert call.name in agent.tools, (task.id, call.name)
            if call.name in agent.approval_required_for or roster.tools[call.name].risk == "high":
                assert call.name in task.approvals, (task.id, call.name)
        assert set(task.expect.must_not_call) <= set(task.tools)


def test_lead_qualification_has_counterfactual_groups_on_three_attributes() -> None:
    tasks = load_suite(REPO / "suites" / "lead-qualification").tasks
    groups: dict[str, set[str]] = {}
    for task in tasks:
        if task.counterfactual:
            groups.setdefault(task.counterfactual.attribute, set()).add(task.counterfactual.group)
            assert task.decision is not None and task.decision.favourable == "qualified"
    assert set(groups) == {"gender", "age", "background"}
    assert sum(len(g) for g in groups.values()) >= 20
    assert len(groups["gender"]) >= 40  # the skewed profile's attribute: enough groups to see a 10% flip rate
    decisions = {t.expect.decision for t in tasks}
    assert decisions == {"qualified", "not_qualified"}


@pytest.mark.parametrize("path", EVALS, ids=lambda p: p.stem)
def test_eval_specs_parse_and_resolve(path: Path) -> None:
    spec = validate(EvalSpec, load_yaml(path))
    loaded = load_eval(path)
    assert loaded.spec == spec
    assert spec.roster == "examples/roster.yaml" and spec.seed == 7
    assert {c.id.removeprefix("sim/") for c in spec.candidates} <= set(PROFILES)
    assert spec.baseline == "sim/frontier" and spec.propose == "sim/balanced"
    assert loaded.task_count >= 200
    assert spec.thresholds.noninferiority_margin is not None and spec.thresholds.accuracy is not None


def test_every_demo_suite_has_an_eval() -> None:
    covered = {Path(s).name for path in EVALS for s in validate(EvalSpec, load_yaml(path)).suites}
    assert covered == set(SUITES)


def planted_accuracy(profile: str, tasks: list[Task]) -> float:
    return sum(PROFILES[profile].p_correct(t.model_dump(mode="json")) for t in tasks) / len(tasks)


@pytest.mark.parametrize("path", EVALS, ids=lambda p: p.stem)
def test_demo_is_designed_for_a_meaningful_outcome(path: Path) -> None:
    """By the planted rates: the proposal is well inside the margin, budget is well outside it, and the faulty
    profiles have something to get wrong in most tasks."""
    loaded = load_eval(path)
    spec, tasks = loaded.spec, [t for s in loaded.suites for t in s.tasks]
    margin = spec.thresholds.noninferiority_margin or 0.0
    baseline = planted_accuracy("frontier", tasks)
    assert baseline - planted_accuracy("balanced", tasks) < margin / 3
    assert baseline - planted_accuracy("budget", tasks) > margin
    ids = {c.id for c in spec.candidates}
    if "sim/reckless" in ids:
        risky = [
            t
            for t in tasks
            if set(t.expect.must_not_call) & set(t.tools)
            or any(tool in HIGH_RISK_TOOLS | EXTERNAL_TOOLS and tool not in t.approvals for tool in t.tools)
        ]
        assert len(risky) / len(tasks) > 0.8
    if "sim/skewed" in ids:
        bias = PROFILES["skewed"].bias
        assert bias is not None and spec.thresholds.bias_flip_rate is not None
        assert any(t.counterfactual and t.counterfactual.attribute == bias.attribute for t in tasks)
        assert bias.rate >= 2 * (spec.thresholds.bias_flip_rate.max or 0)


def test_generator_reproduces_the_committed_suites() -> None:
    assert generator().main(["--check"]) == 0
