"""The bundled roster policies applied to the demo rosters, and the METADATA contract the engine relies on.

The Rego unit tests themselves (`*_test.rego`) run through `guardrail policy test policies`; these tests pin what a
user sees: the demo roster passes, the unsafe one fails exactly where its comments say, and every rule carries the
METADATA that maps it to a severity and regulation controls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrail.adapters.loading import load_yaml, validate
from guardrail.adapters.rego import UNDEFINED, RegoEngine, load_bundle
from guardrail.core.roster import Roster

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
SEVERITIES = {"critical", "high", "medium", "low", "info"}
RULE_HEAD = re.compile(r"^(deny|warn) contains", re.MULTILINE)


@pytest.fixture(scope="module")
def engine() -> RegoEngine:
    return RegoEngine(load_bundle(POLICIES, include_tests=False, display_root=REPO))


def _roster(name: str) -> Roster:
    return validate(Roster, load_yaml(REPO / "examples" / name))


def evaluate(engine: RegoEngine, roster_input: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, finding) for every deny/warn of every roster package."""
    out = []
    for package in engine.packages():
        if package.startswith("data.roster."):
            for kind in ("deny", "warn"):
                value = engine.query(f"{package}.{kind}", roster_input)
                out += [(kind, f) for f in ([] if value is UNDEFINED else value)]
    return out


def test_demo_roster_passes_every_deny_rule(engine: RegoEngine) -> None:
    roster = _roster("roster.yaml")
    found = evaluate(engine, roster.policy_input())
    assert [f for kind, f in found if kind == "deny"] == []
    warned = {(f["agent"], f["rule"]) for kind, f in found if kind == "warn"}
    assert warned == {(a.name, "GR-008") for a in roster.agents if not a.suites}
    assert {"support-triage", "lead-qualification", "content-writer"}.isdisjoint(a for a, _ in warned)


def test_unsafe_roster_breaks_exactly_the_intended_rules(engine: RegoEngine) -> None:
    denied = {
        (f.get("agent"), f["rule"])
        for kind, f in evaluate(engine, _roster("unsafe-roster.yaml").policy_input())
        if kind == "deny"
    }
    assert denied == {
        (None, "GR-001"),
        ("growth-hacker", "GR-001"),
        ("refunds", "GR-002"),
        ("support-triage", "GR-003"),
        ("coordinator", "GR-004"),
        ("seo", "GR-004"),
        ("growth-hacker", "GR-005"),
        ("lead-qualification", "GR-006"),
        ("lifecycle", "GR-006"),
        ("refunds", "GR-007"),
    }


def test_unsafe_roster_comments_say_which_rule_each_agent_breaks(engine: RegoEngine) -> None:
    """The file documents itself: the `# GR-00N` comments above each agent name exactly its deny findings."""
    text = (REPO / "examples" / "unsafe-roster.yaml").read_text(encoding="utf-8")
    claimed: dict[str, set[str]] = {}
    pending: set[str] = set()
    for line in text.splitlines():
        if line.strip().startswith("#"):
            pending |= set(re.findall(r"GR-\d{3}", line.split(":")[0]))
        elif match := re.match(r"\s*- name: (\S+)", line):
            claimed[match.group(1)], pending = pending, set()
        elif line.strip() and not line.startswith(" "):
            pending = set()
    found: dict[str, set[str]] = {name: set() for name in claimed}
    for kind, f in evaluate(engine, _roster("unsafe-roster.yaml").policy_input()):
        if kind == "deny" and f.get("agent"):
            found[f["agent"]].add(f["rule"])
    assert found == claimed
    assert {"GR-002", "GR-003", "GR-004", "GR-006", "GR-007"} <= set().union(*claimed.values())


def test_findings_are_readable_and_name_their_subject(engine: RegoEngine) -> None:
    roster = _roster("unsafe-roster.yaml")
    secrets = [roster.agent("lead-qualification").params["api_key"], "placeholder-not-real"]  # type: ignore[union-attr]
    for _, finding in evaluate(engine, roster.policy_input()):
        assert set(finding) <= {"rule", "agent", "msg"}
        assert re.fullmatch(r"GR-\d{3}", finding["rule"])
        if "agent" in finding:
            assert finding["agent"] in finding["msg"]
        assert not any(secret in finding["msg"] for secret in secrets), "a finding must not echo a credential"


def _metadata_blocks(source: str) -> list[tuple[dict[str, Any], str]]:
    """(METADATA, rule text up to the next rule) for every deny/warn rule head in a module."""
    lines = source.splitlines()
    out = []
    for match in RULE_HEAD.finditer(source):
        head = source.count("\n", 0, match.start())
        start = head
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1
        comment = [line[1:].removeprefix(" ") for line in lines[start:head]]
        assert comment and comment[0] == "METADATA", f"no METADATA block right above line {head + 1}"
        end = next(
            (i for i in range(head + 1, len(lines)) if lines[i] and not lines[i][0].isspace() and lines[i] != "}"),
            len(lines),
        )
        out.append((yaml.safe_load("\n".join(comment[1:])), "\n".join(lines[head:end])))
    return out


@pytest.mark.parametrize(
    "path",
    sorted(p for d in ("roster", "action") for p in (POLICIES / d).glob("*.rego") if not p.name.endswith("_test.rego")),
    ids=lambda p: p.name,
)
def test_every_rule_has_metadata_with_id_severity_and_controls(path: Path) -> None:
    for meta, rule in _metadata_blocks(path.read_text(encoding="utf-8")):
        assert meta["title"] and meta["description"]
        custom = meta["custom"]
        assert re.fullmatch(r"(GR|ACT)-\d{3}", custom["id"])
        assert custom["severity"] in SEVERITIES
        assert custom["controls"] and all(isinstance(c, str) and c for c in custom["controls"])
        assert f'"rule": "{custom["id"]}"' in rule, f"{path.name}: rule {custom['id']} must emit its own id"


def test_rule_ids_are_unique_and_complete() -> None:
    ids = [
        meta["custom"]["id"]
        for d in ("roster", "action")
        for p in sorted((POLICIES / d).glob("*.rego"))
        if not p.name.endswith("_test.rego")
        for meta, _ in _metadata_blocks(p.read_text(encoding="utf-8"))
    ]
    assert len(ids) == len(set(ids))
    assert {f"GR-00{n}" for n in range(1, 8)} <= set(ids)
    assert {f"ACT-00{n}" for n in range(1, 5)} <= set(ids)


@settings(max_examples=30, deadline=None)
@given(
    prefix=st.sampled_from(["sk-", "sk-proj-", "sk-ant-", "AKIA", "ghp_", "xoxb-"]),
    body=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=36, max_size=48),
    where=st.sampled_from(["params", "description"]),
)
def test_credential_shapes_anywhere_in_an_agent_are_found(
    engine: RegoEngine, prefix: str, body: str, where: str
) -> None:
    token = prefix + body[:16] if prefix == "AKIA" else prefix + body
    roster = _roster("roster.yaml").policy_input()
    agent = roster["agents"][1]
    if where == "params":
        agent["params"] = {"extra_body": {"note": f"use {token} here"}}
    else:
        agent["description"] = f"Routes tickets. Key: {token}"
    found = engine.query("data.roster.secrets.deny", roster)
    assert [f["agent"] for f in found] == [agent["name"]]
    assert token not in found[0]["msg"]
