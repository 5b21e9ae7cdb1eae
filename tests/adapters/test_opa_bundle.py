"""The OPA bundle: built from the project's policies, read back the way OPA reads it, and deciding the same.

It is loaded into the embedded engine and into the OPA-server backend's loopback fake (tests/support/opa_fake.py;
no OPA binary can be installed here), and both must give the project's own decisions.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import run_cli
from tests.support.opa_fake import FakeOpa

from guardrail.adapters.loading import load_yaml, validate
from guardrail.adapters.opa_bundle import read_bundle
from guardrail.adapters.opa_server import OpaServerEngine
from guardrail.adapters.rego import PolicyBundle, RegoEngine, load_bundle
from guardrail.core.action import ACTION_QUERY, action_input
from guardrail.core.hashing import policies_hash
from guardrail.core.roster import Roster
from guardrail.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "bundle.tar.gz"
    result = run_cli("policy", "bundle", str(REPO / "policies"), "-o", str(out))
    assert result.code == 0, result.err
    assert f"revision sha256:{policies_hash(REPO / 'policies')}" in result.out
    return out


def _questions() -> list[tuple[str, Any]]:
    """Action decisions for every demo agent and tool, and the roster policies on both demo rosters."""
    questions: list[tuple[str, Any]] = []
    for name in ("roster.yaml", "unsafe-roster.yaml"):
        roster = validate(Roster, load_yaml(REPO / "examples" / name))
        questions.append(("data.roster", roster.policy_input()))
        dump = roster.model_dump(mode="json")
        for agent in roster.agents:
            for tool in sorted(roster.tools):
                args = {"to": "ann@example.com"} if tool == "email.send" else {"order": "1234"}
                asked = action_input(
                    agent=agent.model_dump(mode="json"),
                    tools=dump["tools"],
                    data_classes=dump["data_classes"],
                    call=tool,
                    args=args,
                )
                questions.append((ACTION_QUERY, asked))
    return questions


def _answers(engine: Any, questions: list[tuple[str, Any]]) -> list[str]:
    return [json.dumps(engine.query(query, value), sort_keys=True) for query, value in questions]


def test_the_bundle_decides_as_the_project_does_embedded_and_on_an_opa_server(built: Path) -> None:
    bundle, manifest = read_bundle(built)
    project = load_bundle(REPO / "policies", include_tests=False, display_root=REPO / "policies")
    assert [path for path, _ in bundle.modules] == sorted(path for path, _ in project.modules)
    assert not any(path.endswith("_test.rego") for path, _ in bundle.modules)
    assert json.loads(json.dumps(bundle.data)) == json.loads(json.dumps(project.data, default=str))
    assert manifest["revision"] == f"sha256:{policies_hash(REPO / 'policies')}" and manifest["rego_version"] == 1
    assert {"action", "lib", "roster", "gate", "catalog", "models"} <= set(manifest["roots"])

    questions = _questions()
    expected = _answers(RegoEngine(project), questions)
    assert len(questions) > 100 and any('"rule": "ACT-003"' in a for a in expected)  # refusals among them
    assert _answers(RegoEngine(bundle), questions) == expected
    with FakeOpa() as fake, OpaServerEngine(fake.url, bundle, timeout_s=10) as opa:
        assert _answers(opa, questions) == expected


def test_the_same_policies_give_the_same_bytes(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.tar.gz"
    assert run_cli("policy", "bundle", str(REPO / "policies"), "-o", str(again)).code == 0
    assert again.read_bytes() == built.read_bytes()


def test_policies_that_do_not_compile_make_no_bundle(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.rego").write_text("package x\n\nimport rego.v1\n\nallow if {\n")
    result = run_cli("policy", "bundle", str(tmp_path / "p"), "-o", str(tmp_path / "b.tar.gz"))
    assert result.code == 2 and "x.rego:" in result.err
    assert not (tmp_path / "b.tar.gz").exists()


def _tar(tmp_path: Path, members: dict[str, str]) -> Path:
    out = tmp_path / "hand.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return out


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({".manifest": '{"revision": "1", "roots": ["a", "a/b"]}'}, "roots 'a' and 'a/b' overlap"),
        ({".manifest": '{"roots": ["a"]}', "b/x.rego": "package b\n"}, "package b is outside the bundle's roots"),
        ({".manifest": '{"roots": ["a"]}', "data.json": '{"z": 1}'}, "data 'z' is outside the bundle's roots"),
        ({"../evil.rego": "package a\n"}, "escapes the bundle"),
    ],
    ids=["overlapping-roots", "package-outside", "data-outside", "traversal"],
)
def test_bundles_opa_would_refuse_are_refused(tmp_path: Path, members: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_bundle(_tar(tmp_path, members))


def test_data_files_mount_at_their_folder(tmp_path: Path) -> None:
    bundle, _ = read_bundle(_tar(tmp_path, {"data.json": '{"a": 1}', "roles/bindings/data.json": '{"x": [1]}'}))
    assert bundle.data == {"a": 1, "roles": {"bindings": {"x": [1]}}}
    assert isinstance(bundle, PolicyBundle)
