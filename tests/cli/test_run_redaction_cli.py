"""No secret or personal data planted in a suite or a spec reaches any file a run writes: `guardrail run` end to end
on simulated candidates, tracking on to a real local MLflow store, then `guardrail report RUN_ID` rebuilding from the
journal. Literal keys in a spec, and unset `os.environ/NAME` variables, stop the run before it starts (exit 2).
Fake credentials are assembled from parts so that no key-shaped literal is committed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml
from tests.support.cli import run_cli
from tests.support.run_project import make_project

REPO = Path(__file__).resolve().parents[2]

NAME = "Marguerite Okonkwo-Byrne"  # only a marked field finds a name
EMAIL = "marguerite.okonkwo@example.org"
PHONE = "+44 20 7946 0958"
US_PHONE = "(415) 555-2671"
CARD = "4111 1111 1111 1111"
CUSTOMER_ID = "CUST-482913"  # found by the roster data class's own pattern
MEMBER_ID = "MEM-771204"  # found by the suite's own pattern
TOOL_KEY = "AK" + "IA" + "Q4Z7X2C9V1B8N3M6"
SENT_KEY = "sk-" + "proj-" + "Z3x9Q2w8E7r6T5y4U3i2O1p0"  # resolved from the environment at send time only
SENT_BASE_PASSWORD = "hunter2-" + "pw9"
PLANTED = [NAME, EMAIL, PHONE, US_PHONE, CARD, CARD.replace(" ", ""), CUSTOMER_ID, MEMBER_ID, TOOL_KEY, SENT_KEY]


def _project(root: Path, **kw: object) -> Path:
    """The runner's test project plus the bundled gate policy, which `guardrail run` consults after the replay."""
    spec = make_project(root, **kw)  # type: ignore[arg-type]
    gate = root / "policies/gate"
    gate.mkdir(parents=True, exist_ok=True)
    (gate / "eval.rego").write_text((REPO / "policies/gate/eval.rego").read_text())
    return spec


def _plant(root: Path) -> Path:
    """The runner's test project with personal data and keys in the tasks, tool results and spec params; marked
    sensitive by a roster data class (a field and a pattern), the suite (a pattern) and the spec (a field)."""
    spec_path = _project(root, tasks=4, candidates=["sim/frontier", "sim/budget"])
    tools = root / "suites/triage/tools.yaml"
    tools.write_text(tools.read_text() + 'redact: {patterns: {member: "MEM-\\\\d{6}"}}\n')
    roster = root / "roster.yaml"
    roster.write_text(
        roster.read_text().replace(
            "data_classes: {customer_pii: {sensitivity: high}}",
            'data_classes: {customer_pii: {sensitivity: high, fields: [customer_name], patterns: ["CUST-\\\\d{6}"]}}',
        )
    )
    tasks = root / "suites/triage/tasks.jsonl"
    planted = []
    for line in tasks.read_text().splitlines():
        task = json.loads(line)
        task["messages"][0]["content"] += f" - {NAME} <{EMAIL}>, {MEMBER_ID}, call {PHONE} or {US_PHONE}, card {CARD}"
        task["tool_results"]["crm.lookup_order"] |= {
            "customer_name": NAME,
            "customer": CUSTOMER_ID,
            "contact": {"email": EMAIL, "phone": PHONE, "name": "Marguerite"},
            "note": f"billing system key {TOOL_KEY}",
        }
        # the sims call what a task expects: so the planted tool result reaches the transcripts
        task["expect"]["tool_calls"].insert(0, {"name": "crm.lookup_order", "args": {"order": "1"}})
        planted.append(json.dumps(task))
    tasks.write_text("\n".join(planted) + "\n")
    spec = yaml.safe_load(spec_path.read_text())
    spec["description"] = f"asked for by {EMAIL}"
    spec["redact"] = {"fields": ["contact"]}
    spec["candidates"] = [
        {
            "id": "sim/frontier",
            "params": {
                "api_key": "os.environ/GR_PLANTED_KEY",
                "api_base": "os.environ/GR_PLANTED_BASE",
                "user": EMAIL,
                "max_tokens": 256,
                "extra_headers": {"X-Customer-Phone": PHONE},
            },
        },
        "sim/budget",
    ]
    spec_path.write_text(yaml.safe_dump(spec))
    return spec_path


def _leaks(root: Path, text: str) -> list[str]:
    """Every (file, planted value) found in the run's outputs, the MLflow store included, or in `text`."""
    found = [f"console: {value}" for value in PLANTED if value in text]
    cache = root / ".guardrail" / "cache"
    for folder in ("reports", "evidence", ".guardrail"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and cache not in path.parents:
                data = path.read_bytes()
                found += [f"{path.relative_to(root)}: {v}" for v in PLANTED if v.encode() in data]
    return found


@pytest.mark.slow
def test_planted_personal_data_and_keys_reach_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _plant(tmp_path)
    monkeypatch.setenv("GR_PLANTED_KEY", SENT_KEY)
    monkeypatch.setenv("GR_PLANTED_BASE", f"http://svc:{SENT_BASE_PASSWORD}@127.0.0.1:9/v1")
    PLANTED.append(SENT_BASE_PASSWORD)
    try:
        result = run_cli("run", spec, "--quiet", cwd=tmp_path)
        assert result.code in (0, 1), result.text
        run_dir = next((tmp_path / "reports").iterdir())
        assert (tmp_path / ".guardrail" / "mlflow.db").is_file() and any((tmp_path / ".guardrail").rglob("*.html"))
        assert any((tmp_path / "evidence").iterdir())
        assert _leaks(tmp_path, result.text) == []

        # what was redacted is still there as a mark, and the run's records keep what is no secret
        transcript = (run_dir / "transcripts.jsonl").read_text()
        for kind in ("sensitive", "customer_pii", "member", "email", "phone", "card", "credential"):
            assert f"[REDACTED:{kind}]" in transcript, kind
        params = json.loads((run_dir / "run.json").read_text())["candidates"][0]["params"]
        assert params == {
            "api_key": "os.environ/GR_PLANTED_KEY",
            "api_base": "os.environ/GR_PLANTED_BASE",
            "user": "[REDACTED:email]",
            "max_tokens": 256,
            "extra_headers": {"X-Customer-Phone": "[REDACTED:phone]"},
        }

        # the journal rebuilds every report, and the rebuild holds nothing either
        rebuilt = run_cli("report", run_dir.name, "--no-track", cwd=tmp_path)
        assert rebuilt.code in (0, 1), rebuilt.text
        assert _leaks(tmp_path, rebuilt.text) == []

        # the response cache keeps the models' raw answers (a cached replay must score as a live one): owner only
        cache = tmp_path / ".guardrail" / "cache"
        assert stat.S_IMODE(cache.stat().st_mode) == 0o700
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in cache.iterdir())
    finally:
        PLANTED.remove(SENT_BASE_PASSWORD)


@pytest.mark.parametrize(
    ("params", "field", "what"),
    [
        ({"api_key": "literal-value-123"}, "candidates[0].params.api_key", "secret-named key"),
        ({"api_base": "http://svc:" + "pw9x@127.0.0.1:9/v1"}, "candidates[0].params.api_base", "credentials in a URL"),
        ({"extra_headers": {"Authorization": "Bearer " + "abcdefghijklmnop1234"}}, "Authorization", "bearer token"),
    ],
)
def test_a_literal_key_in_the_spec_exits_2_with_the_fix(
    tmp_path: Path, params: dict[str, object], field: str, what: str
) -> None:
    spec = make_project(tmp_path, tasks=1, candidates=[{"id": "sim/frontier", "params": params}])
    result = run_cli("run", spec, "--quiet", "--no-track", cwd=tmp_path)
    assert result.code == 2, result.text
    assert "triage.yaml:" in result.err and field in result.err and what in result.err
    assert "os.environ/NAME" in result.err and "Traceback" not in result.text
    assert not (tmp_path / "reports").exists()
    secret = json.dumps(params).split('"')[-2].split(" ")[-1].split(":")[-1]
    assert secret not in result.text


def test_an_unset_environment_variable_exits_2_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GR_UNSET_KEY", raising=False)
    monkeypatch.setenv("GR_EMPTY_KEY", "")
    params = {"api_key": "os.environ/GR_UNSET_KEY", "extra_headers": {"X-Key": "os.environ/GR_EMPTY_KEY"}}
    candidates = ["sim/frontier", {"id": "sim/budget", "params": params}]
    spec = _project(tmp_path, tasks=1, candidates=candidates)
    result = run_cli("run", spec, "--quiet", "--no-track", cwd=tmp_path)
    assert result.code == 2, result.text
    assert "triage.yaml:" in result.err and "candidates[1].params.api_key" in result.err
    assert "GR_UNSET_KEY is not set" in result.err and "also unset: GR_EMPTY_KEY" in result.err
    assert not (tmp_path / "reports").exists()
    # a candidate the run does not replay needs no key
    ok = run_cli("run", spec, "--quiet", "--no-track", "--candidates", "sim/frontier", cwd=tmp_path)
    assert ok.code in (0, 1), ok.text
