from __future__ import annotations

import contextlib
import gc
import os
import pickle
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest
from tests.support.policies import make_policy_dir

from guardrail.adapters import rego_builtins
from guardrail.adapters.rego import UNDEFINED, EngineWorker, PolicyBundle, RegoEngine, compile_errors, load_bundle
from guardrail.adapters.rego_meta import parse_metadata, test_rules
from guardrail.errors import ConfigError, EngineError, ExitCode, PolicyError

RUNAWAY = (  # CPU-bound, little memory: 9 million iterations
    "package slow\nimport rego.v1\n"
    "n := count([1 | some a in numbers.range(1, 3000); some b in numbers.range(1, 3000); a == b])\n"
)
HUNGRY = "package hungry\nimport rego.v1\nn := count([x | some x in numbers.range(1, 400000000)])\n"


def test_bundle_mounts_data_files_under_their_stem(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    (policies / "data" / "catalog.yaml").write_text("tools: {a: {risk: high}}\n")
    bundle = load_bundle(policies)
    assert bundle.data == {"catalog": {"tools": {"a": {"risk": "high"}}}}
    engine = RegoEngine(bundle)
    assert engine.query("data.catalog.tools.a.risk") == "high"
    assert engine.query("data.catalog.nothing") is UNDEFINED


def test_missing_or_empty_policy_dir_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(PolicyError, match="no .rego files"):
        load_bundle(tmp_path)


def test_extra_data_must_be_an_object(tmp_path: Path) -> None:
    policies = make_policy_dir(tmp_path)
    bad = tmp_path / "d.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="object at its top level"):
        load_bundle(policies, extra_data=[bad])


def test_compile_errors_are_located_and_all_reported() -> None:
    bundle = PolicyBundle(
        modules=[
            ("p/a.rego", "package a\nimport rego.v1\nallow if {\n  x := 1\n  y == 2\n}\n"),
            ("p/b.rego", "package b\nallow if {"),
            ("p/c.rego", "package c\nimport rego.v1\nok := true\n"),
        ]
    )
    errors = [str(e) for e in compile_errors(bundle)]
    assert any(e.startswith("p/b.rego:2:") for e in errors)
    assert any(e.startswith("p/a.rego:5:3: use of undefined variable `y` is unsafe") for e in errors)
    with pytest.raises(PolicyError, match=r"p/b.rego:2:\d+"):
        RegoEngine(bundle)


def test_runtime_builtin_error_is_engine_error_naming_the_query() -> None:
    engine = RegoEngine(PolicyBundle(modules=[("x.rego", "package x\nimport rego.v1\nv := 1 / input.d\n")]))
    with pytest.raises(EngineError) as info:
        engine.query("data.x.v", {"d": 0})
    assert "data.x.v" in str(info.value)
    assert info.value.exit_code == ExitCode.COULD_NOT_FINISH


def test_a_failed_evaluation_leaves_no_reference_cycle() -> None:
    """An engine must be freed where its last reference goes, by reference counting: a regorus Engine may only be
    dropped on the thread that made it, and one left in a cycle is dropped by the collector on whichever thread it
    runs (the MLflow or prefetch threads of `guardrail run`), which prints "Engine is unsendable" to stderr."""
    engine = RegoEngine(PolicyBundle(modules=[("x.rego", "package x\nimport rego.v1\nv := 1 / input.d\n")]))
    alive = weakref.ref(engine)
    gc.disable()
    try:
        with contextlib.suppress(EngineError):
            engine.query("data.x.v", {"d": 0})
        del engine
        assert alive() is None
    finally:
        gc.enable()


def test_an_engine_panic_is_an_engine_error_naming_the_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """The native `strings.count(s, "")` panics (found by OPA's own cases; guardrail now overrides it, removed here to
    reach the panic): a Rust panic reaches Python as a BaseException, which escaped every handler (a traceback, and
    a worker that died mid-query)."""
    monkeypatch.setattr(rego_builtins, "OVERRIDES", {})
    source = "package s\nimport rego.v1\nn := strings.count(input.text, input.sep)\n"
    engine = RegoEngine(PolicyBundle(modules=[("s.rego", source)]))
    with pytest.raises(EngineError, match=r"s.rego:3: .*window size must be non-zero.*data.s.n"):
        engine.query("data.s.n", {"text": "dummy", "sep": ""})
    assert engine.query("data.s.n", {"text": "dummy", "sep": "m"}) == 2  # the engine still answers
    with EngineWorker(PolicyBundle(modules=[("s.rego", source)])) as worker:
        with pytest.raises(EngineError, match=r"window size must be non-zero"):
            worker.query("data.s.n", {"text": "dummy", "sep": ""})
        assert worker.query("data.s.n", {"text": "dummy", "sep": "m"}) == 2


def test_a_panic_under_eval_rule_json_is_an_engine_error_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit's batches use eval_rule_json: a panic there must not escape as a BaseException either."""
    monkeypatch.setattr(rego_builtins, "OVERRIDES", {})
    source = "package s\nimport rego.v1\nn := strings.count(input.text, input.sep)\n"
    engine = RegoEngine(PolicyBundle(modules=[("s.rego", source)]))
    with pytest.raises(EngineError, match=r"window size must be non-zero.*data.s.n"):
        engine.eval_rule_json("data.s.n", '{"text": "dummy", "sep": ""}')
    assert engine.eval_rule_json("data.s.n", '{"text": "dummy", "sep": "m"}') == "2"  # the engine still answers


def test_worker_kills_a_runaway_policy_and_recovers() -> None:
    bundle = PolicyBundle(modules=[("slow.rego", RUNAWAY), ("ok.rego", "package ok\nv := 42\n")])
    with EngineWorker(bundle, timeout_s=0.5) as worker:
        started = time.monotonic()
        with pytest.raises(EngineError, match=r"exceeded 0.5s while evaluating data.slow.n"):
            worker.query("data.slow.n")
        assert time.monotonic() - started < 5
        assert worker.query("data.ok.v") == 42  # a fresh worker serves the next query


def test_worker_stops_a_memory_hungry_policy_naming_the_limit_and_query() -> None:
    """Issue 12: a policy that allocated 3 GB before the time limit killed it now stops at the memory limit."""
    bundle = PolicyBundle(modules=[("hungry.rego", HUNGRY), ("ok.rego", "package ok\nv := 42\n")])
    with EngineWorker(bundle, timeout_s=30, memory_mb=200) as worker:
        started = time.monotonic()
        with pytest.raises(EngineError, match=r"memory limit of 200 MB while evaluating data.hungry.n"):
            worker.query("data.hungry.n")
        assert time.monotonic() - started < 10
        assert worker.query("data.ok.v") == 42


def test_worker_reports_compile_errors_at_start() -> None:
    with pytest.raises(PolicyError, match="bad.rego:2"):
        EngineWorker(PolicyBundle(modules=[("bad.rego", "package bad\nallow if {")]))


def test_errors_survive_pickling_across_the_worker_boundary() -> None:
    error = ConfigError("bad", path="f.yaml", line=3, field="a.b", hint="fix it")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.line, copy.field, copy.hint, str(copy)) == ("f.yaml", 3, "a.b", "fix it", str(error))


def test_metadata_and_test_discovery(tmp_path: Path) -> None:
    bundle = load_bundle(make_policy_dir(tmp_path), display_root=tmp_path)
    metas = {m.id: m for m in parse_metadata(bundle)}
    assert metas["T-001"].rule == "deny" and metas["T-001"].severity == "high"
    assert metas["T-001"].controls == ("ISO/IEC 42001 A.3.2",)
    assert metas["T-001"].path == "policies/roster/owner.rego" and metas["T-001"].line == 12
    assert metas["T-002"].rule == "warn"
    tests = test_rules(RegoEngine(bundle).ast())
    assert [(t.package, t.name) for t in tests] == [
        ("data.roster.owner_test", "test_missing_owner_denied"),
        ("data.roster.owner_test", "test_owner_ok"),
    ]
    assert tests[0].line == 6


def test_invalid_metadata_yaml_is_a_policy_error() -> None:
    bundle = PolicyBundle(modules=[("m.rego", "package m\n# METADATA\n# title: [unclosed\ndeny contains 1 if true\n")])
    with pytest.raises(PolicyError, match="m.rego:.*METADATA"):
        parse_metadata(bundle)


def test_worker_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    pid_file = tmp_path / "worker.pid"
    code = (
        "import time\nfrom guardrail.adapters.rego import EngineWorker, PolicyBundle\n"
        "w = EngineWorker(PolicyBundle(modules=[('ok.rego', 'package ok\\nv := 1\\n')]))\n"
        f"open({str(pid_file)!r}, 'w').write(str(w.pid))\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker_pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            return
        # reap it if it became our zombie (it will not: it was the killed parent's child)
        time.sleep(0.05)
    raise AssertionError("the policy worker outlived its killed parent")


def test_source_lines_longer_than_1024_bytes_load(tmp_path: Path) -> None:
    value = "a" * 5000
    engine = RegoEngine(PolicyBundle(modules=[("long.rego", f'package long\n\nx := "{value}"\n')]))
    assert engine.query("data.long.x") == value


def test_errors_name_their_file_with_rust_backtrace_set(tmp_path: Path) -> None:
    """Issue 12: with RUST_BACKTRACE=1 a message without a location ended in a backtrace frame (`39: _start`)."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "clock.rego").write_text('package clock\n\nt := time.parse_rfc3339_ns("not a time")\n')
    env = {**os.environ, "RUST_BACKTRACE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "guardrail.cli.main", "policy", "eval", "data.clock.t", "--policies", "policies"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert "policies/clock.rego:3: Failed to parse datetime" in proc.stderr, proc.stderr
    assert "backtrace" not in proc.stderr.lower() and "_start" not in proc.stderr
