"""The OPA-server backend against a loopback fake of OPA's REST API (tests/support/opa_fake.py).

No OPA binary can be installed here, so these tests prove the client path (push, query, error mapping) end to
end against a fake that answers in OPA's JSON shapes, with the embedded engine doing the evaluation.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from tests.support.opa_fake import FakeOpa

from guardrail.adapters.loading import load_yaml, validate
from guardrail.adapters.opa_server import POLICY_ID_PREFIX, OpaServerEngine
from guardrail.adapters.rego import UNDEFINED, PolicyBundle, RegoEngine, load_bundle
from guardrail.core.action import ACTION_QUERY, action_input, violations_of
from guardrail.core.roster import Roster
from guardrail.errors import ConfigError, EngineError, PolicyError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return load_bundle(REPO / "policies", include_tests=False, display_root=REPO)


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    with FakeOpa() as opa:
        yield opa


def _roster_input(name: str) -> dict[str, object]:
    return validate(Roster, load_yaml(REPO / "examples" / name)).policy_input()


def _findings(engine: RegoEngine | OpaServerEngine, roster: dict[str, object]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for package in engine.packages():
        if not package.startswith("data.roster."):
            continue
        for kind in ("deny", "warn"):
            value = engine.query(f"{package}.{kind}", roster)
            if value is not UNDEFINED:
                out[f"{package}.{kind}"] = sorted(json.dumps(v, sort_keys=True) for v in value)
    return out


@pytest.mark.parametrize("roster_file", ["roster.yaml", "unsafe-roster.yaml"])
def test_roster_findings_equal_the_embedded_engines(bundle: PolicyBundle, fake: FakeOpa, roster_file: str) -> None:
    roster = _roster_input(roster_file)
    embedded = _findings(RegoEngine(bundle), roster)
    with OpaServerEngine(fake.url, bundle, timeout_s=5) as opa:
        assert opa.packages() == sorted(RegoEngine(bundle).packages())
        assert _findings(opa, roster) == embedded
    assert any(json.loads(f)["rule"] == "GR-008" for f in embedded["data.roster.evidence.warn"])
    if roster_file == "unsafe-roster.yaml":
        assert {"data.roster.secrets.deny", "data.roster.autonomy.deny"} <= embedded.keys()


def test_action_decision_equals_the_embedded_engines(bundle: PolicyBundle, fake: FakeOpa) -> None:
    roster = _roster_input("roster.yaml")
    agent = next(a for a in roster["agents"] if a["name"] == "refunds")  # type: ignore[attr-defined]
    decision_input = action_input(
        agent=agent,  # type: ignore[arg-type]
        tools=roster["tools"],  # type: ignore[arg-type]
        data_classes=roster["data_classes"],  # type: ignore[arg-type]
        call="email.send",
        args={"to": "pat@example.com"},
    )
    embedded = RegoEngine(bundle).query(ACTION_QUERY, decision_input)
    with OpaServerEngine(fake.url, bundle, timeout_s=5) as opa:
        assert opa.query(ACTION_QUERY, decision_input) == embedded
    assert {v["rule"] for v in violations_of(embedded)} == {"ACT-002", "ACT-003"}


def test_push_stores_every_module_and_data_file(bundle: PolicyBundle, fake: FakeOpa) -> None:
    with OpaServerEngine(fake.url, bundle, timeout_s=5):
        pass
    assert set(fake.modules) == {POLICY_ID_PREFIX + path for path, _ in bundle.modules}
    assert set(fake.data) == set(bundle.data)
    assert isinstance(fake.data["waivers"]["waivers"][0]["expires"], str)  # YAML dates travel as ISO strings
    # action.rego imports lib.tools, which sorts after it: OPA rejects it first, the retry pass stores it
    puts = [path for method, path in fake.requests if method == "PUT" and "action/action.rego" in path]
    assert len(puts) == 2


def test_stale_modules_are_removed_and_foreign_ones_kept(fake: FakeOpa) -> None:
    fake.modules["team-x/authz.rego"] = "package authz\n"
    first = PolicyBundle(modules=[("p/a.rego", "package a\nx := 1\n"), ("p/b.rego", "package b\ny := 2\n")])
    with OpaServerEngine(fake.url, first, timeout_s=5):
        pass
    second = PolicyBundle(modules=[("p/a.rego", "package a\nx := 3\n")])
    with OpaServerEngine(fake.url, second, timeout_s=5) as opa:
        assert opa.query("data.a.x") == 3
        assert opa.query("data.b.y") is UNDEFINED
        assert opa.packages() == ["data.a"]
    assert set(fake.modules) == {"team-x/authz.rego", POLICY_ID_PREFIX + "p/a.rego"}


def test_non_object_data_is_pushed_too(fake: FakeOpa) -> None:
    bundle = PolicyBundle(
        modules=[("p/a.rego", "package a\nimport rego.v1\nn := count(data.names)\n")],
        data={"names": ["x", "y"], "limits": {"max": 3}},
    )
    with OpaServerEngine(fake.url, bundle, timeout_s=5) as opa:
        assert opa.query("data.a.n") == 2
        assert opa.query("data.limits.max") == 3
        assert opa.query("data")["names"] == ["x", "y"]


def test_undefined_result_and_input_free_queries(fake: FakeOpa) -> None:
    source = 'package a\nimport rego.v1\ndefault who := "nobody"\nwho := input.user if input.user\n'
    with OpaServerEngine(fake.url, PolicyBundle(modules=[("p/a.rego", source)]), timeout_s=5) as opa:
        assert opa.query("data.a.who", {"user": "kim"}) == "kim"
        assert opa.query("data.a.who") == "nobody"  # no input means no input, not the previous one
        assert opa.query("data.a.missing") is UNDEFINED


def test_syntax_error_is_a_policy_error_with_file_line_col(fake: FakeOpa) -> None:
    good = ("policies/roster/good.rego", "package roster.good\nimport rego.v1\nok := true\n")
    broken = (
        "policies/roster/broken.rego",
        "package roster.broken\nimport rego.v1\n\ndeny contains x if {\n  x :=\n}\n",
    )
    with pytest.raises(PolicyError) as caught:
        OpaServerEngine(fake.url, PolicyBundle(modules=[good, broken]), timeout_s=5)
    message = str(caught.value)
    assert message.startswith("policies/roster/broken.rego:")
    line, col = message.split(":")[1:3]
    assert int(line) >= 4 and int(col) >= 1
    assert POLICY_ID_PREFIX not in message


def test_dead_url_is_an_engine_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(EngineError, match=rf"127\.0\.0\.1:{port} is unreachable"):
        OpaServerEngine(f"http://127.0.0.1:{port}", PolicyBundle(modules=[("a.rego", "package a\n")]), timeout_s=2)


def test_server_errors_are_engine_errors(fake: FakeOpa) -> None:
    bundle = PolicyBundle(modules=[("p/a.rego", "package a\nx := 1\n")])
    with OpaServerEngine(fake.url, bundle, timeout_s=5, retries=0) as opa:
        fake.fail_status = 500
        with pytest.raises(EngineError, match=r"HTTP 500 internal_error: injected failure"):
            opa.query("data.a.x")
    with pytest.raises(EngineError, match="listing policies"):
        OpaServerEngine(fake.url, bundle, timeout_s=5, retries=0)


def test_slow_server_is_a_timeout(fake: FakeOpa) -> None:
    bundle = PolicyBundle(modules=[("p/a.rego", "package a\nx := 1\n")])
    with OpaServerEngine(fake.url, bundle, timeout_s=5) as opa:
        opa.timeout_s = opa._client.timeout = 0.2
        fake.delay_s = 0.6
        with pytest.raises(EngineError, match=r"did not answer within 0\.2s while evaluating data\.a\.x"):
            opa.query("data.a.x")
        fake.delay_s = 0


def test_evaluation_error_on_the_server_is_an_engine_error(fake: FakeOpa) -> None:
    source = 'package a\nimport rego.v1\nx := to_number("not a number")\n'
    bundle = PolicyBundle(modules=[("p/a.rego", source)])
    with (
        OpaServerEngine(fake.url, bundle, timeout_s=5) as opa,
        pytest.raises(EngineError, match=r"while evaluating data\.a\.x"),
    ):
        opa.query("data.a.x")


@pytest.mark.parametrize("url", ["opa:8181", "ftp://opa:21", "http://opa:8181/v1", "http://opa:notaport"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        OpaServerEngine(url, PolicyBundle(modules=[("a.rego", "package a\n")]))


def test_only_data_path_queries(fake: FakeOpa) -> None:
    with (
        OpaServerEngine(fake.url, PolicyBundle(modules=[("p/a.rego", "package a\nx := 1\n")]), timeout_s=5) as opa,
        pytest.raises(PolicyError, match="data-path queries only"),
    ):
        opa.query("count(data.a) > 0")
    with pytest.raises(EngineError, match="closed"):
        opa.query("data.a.x")
