"""`--opa-url` on `run`, `report` and `audit`: the replay's action policy, the report's gate policy and the audit's
policies are evaluated by an OPA server (the loopback fake of OPA's REST API, tests/support/opa_fake.py), with the
same answers as the embedded engine; an unreachable server fails closed."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.opa_fake import FakeOpa
from tests.support.run_project import make_project

REPO = Path(__file__).resolve().parents[2]


def _project(root: Path) -> Path:
    spec = make_project(root, tasks=3, candidates=["sim/frontier", "sim/reckless"], propose="sim/reckless")
    (root / "policies/gate").mkdir(parents=True)
    shutil.copy(REPO / "policies/gate/eval.rego", root / "policies/gate/eval.rego")
    return spec


def _queries(fake: FakeOpa, path: str) -> int:
    return sum(1 for method, p in fake.requests if method == "POST" and p == path)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_and_report_decide_on_the_opa_server_as_embedded(tmp_path: Path) -> None:
    embedded_root, served_root = tmp_path / "embedded", tmp_path / "served"
    embedded = run_cli("run", _project(embedded_root), "--quiet", "--no-track", cwd=embedded_root)
    with FakeOpa() as fake:
        served = run_cli("run", _project(served_root), "--quiet", "--no-track", "--opa-url", fake.url, cwd=served_root)
        assert served.code == embedded.code == 1, served.text  # the gate denies sim/reckless either way
        assert _queries(fake, "/v1/data/action/deny") > 0  # every tool call of the replay asked the server
        assert _queries(fake, "/v1/data/gate/eval/decision") == 1
        (run_dir,) = (served_root / "reports").iterdir()
        (embedded_dir,) = (embedded_root / "reports").iterdir()

        def verdict(folder: Path) -> object:
            gate = json.loads((folder / "summary.json").read_text())["gate"]
            return gate["allow"], [(v["candidate"], v["passed"], v["reasons"]) for v in gate["verdicts"]]

        def violations(folder: Path) -> list[object]:
            rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
            return sorted((r["candidate"], r["task_id"], [v["rule"] for v in r["violations"]]) for r in rows)

        assert verdict(run_dir) == verdict(embedded_dir)
        assert violations(run_dir) == violations(embedded_dir)

        again = run_cli("report", run_dir.name, "--no-track", "--opa-url", fake.url, cwd=served_root)
        assert again.code == 1, again.text
        assert _queries(fake, "/v1/data/gate/eval/decision") == 2
        assert verdict(run_dir) == verdict(embedded_dir)


def test_report_with_an_unreachable_opa_server_fails_closed(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    assert run_cli("run", spec, "--quiet", "--no-track", "--candidates", "sim/frontier", cwd=tmp_path).code == 1
    (run_dir,) = (tmp_path / "reports").iterdir()
    url = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli("report", run_dir.name, "--no-track", "--opa-url", url, cwd=tmp_path)
    assert result.code == 3, result.text
    assert url in result.err and "Traceback" not in result.text


def _audit_project(root: Path) -> Path:
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copy(REPO / "examples/roster.yaml", root / "roster.yaml")
    return root


def test_audit_finds_the_same_on_the_opa_server(tmp_path: Path) -> None:
    root = _audit_project(tmp_path)
    traces = REPO / "examples/traces"
    args = ("audit", traces, "--roster", "roster.yaml", "--no-track", "-f", "json", "--today", "2026-11-30")
    embedded = run_cli(*args, "--out", "embedded", cwd=root)
    with FakeOpa() as fake:
        served = run_cli(*args, "--out", "served", "--opa-url", fake.url, cwd=root)
        assert _queries(fake, "/v1/data/action/deny") > 0
        assert _queries(fake, "/v1/data/audit") == 1
    assert served.code == embedded.code == 1, served.err

    def findings(out: str) -> list[tuple[str, str, str]]:
        return sorted((f["rule"], f["agent"], f["span_id"]) for f in json.loads(out)["findings"])

    assert findings(served.out) == findings(embedded.out) != []


def test_audit_on_ray_refuses_an_opa_server(tmp_path: Path) -> None:
    root = _audit_project(tmp_path)
    url = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli(
        "audit", REPO / "examples/traces", "--roster", "roster.yaml", "--no-track", "--engine", "ray",
        "--opa-url", url, cwd=root,
    )  # fmt: skip
    assert result.code == 2, result.text
    assert "--opa-url" in result.err and "--engine local" in result.err
