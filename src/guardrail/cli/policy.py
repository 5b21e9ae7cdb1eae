"""`guardrail policy ...`: for compliance officers who write and test Rego."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from guardrail.cli.common import FORMAT, OPA_URL, OUTPUT, POLICY_TIMEOUT, emit, emit_report, policies_dir
from guardrail.errors import ConfigError, Failed, PolicyError
from guardrail.report.formats import Format

policy_app = typer.Typer(help="Write, test and evaluate Rego policies.", no_args_is_help=True)

DIR = typer.Argument(None, help="Policy directory (default: the project's policies/).", show_default=False)
PATHS = typer.Argument(
    None,
    help="Policy folders, .rego files and JSON/YAML data files, like `opa test` (default: the project's policies/).",
    show_default=False,
)
POLICY_MEMORY = typer.Option(
    1024, "--policy-memory", min=16, help="MB of memory the policy engine may grow by before it is killed."
)


def _paths(values: list[Path] | None) -> list[Path]:
    return list(values) if values else [policies_dir(None)]


@policy_app.command("check")
def check(paths: list[Path] | None = PATHS, timeout: float = POLICY_TIMEOUT, memory: int = POLICY_MEMORY) -> None:
    """Compile every policy and test file and check every rule; print each error as path:line:col."""
    from guardrail.app.policies import check_policies

    report = check_policies(_paths(paths), timeout_s=timeout, memory_mb=memory)
    if report.errors:
        for error in report.errors:
            typer.echo(error, err=True)
        raise PolicyError(f"{len(report.errors)} compile error(s) in {report.directory}")
    typer.echo(f"ok: {report.modules} module(s) compile in {report.directory}")


@policy_app.command("test")
def test(
    paths: list[Path] | None = PATHS,
    data: list[Path] = typer.Option([], "--data", "-d", help="Extra JSON/YAML data merged at the root of `data`."),
    run: str | None = typer.Option(None, "--run", "-r", help="Only tests whose package.name matches this regex."),
    coverage: bool = typer.Option(False, "--coverage", "-c", help="Print line coverage per policy file."),
    fail_under: float | None = typer.Option(None, "--fail-under", min=0, max=100, help="Fail below this coverage %."),
    per_file: bool = typer.Option(False, "--per-file", help="Apply --fail-under to each policy file, not the total."),
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    timeout: float = POLICY_TIMEOUT,
    memory: int = POLICY_MEMORY,
) -> None:
    """Run the `test_*` rules in `*_test.rego` files, like `opa test PATH... -d DATA`."""
    from guardrail.app.policies import run_policy_tests
    from guardrail.report.policy_tests import POLICY_TESTS

    if per_file and fail_under is None:
        raise ConfigError("--per-file needs --fail-under", field="--per-file")
    report = run_policy_tests(
        _paths(paths),
        run=run,
        coverage=coverage,
        fail_under=fail_under,
        per_file=per_file,
        data_files=data,
        timeout_s=timeout,
        memory_mb=memory,
    )
    emit_report(POLICY_TESTS, fmt, report, output)
    if not report.outcomes:
        raise Failed("no tests found" + (f" matching --run {run!r}" if run else ""))
    if not report.ok:
        raise Failed("")


@policy_app.command("eval")
def evaluate(
    query: str = typer.Argument(..., help="A Rego query, e.g. data.roster.tools.deny"),
    input_file: Path | None = typer.Option(None, "--input", "-i", help="JSON/YAML file bound to `input`."),
    data: list[Path] = typer.Option([], "--data", "-d", help="Extra JSON/YAML data merged at the root of `data`."),
    policies: Path | None = typer.Option(None, "--policies", "-p", help="Policy directory (default: policies/)."),
    timeout: float = POLICY_TIMEOUT,
    memory: int = POLICY_MEMORY,
    opa_url: str | None = OPA_URL,
) -> None:
    """Evaluate a query and print the result as JSON (`undefined` when it has none: exit 1)."""
    from guardrail.adapters.rego import UNDEFINED
    from guardrail.app.policies import evaluate as evaluate_query

    value = evaluate_query(
        query,
        policies_dir=policies_dir(policies),
        input_file=input_file,
        data_files=data,
        timeout_s=timeout,
        memory_mb=memory,
        opa_url=opa_url,
    )
    if value is UNDEFINED:
        typer.echo("undefined")
        raise Failed("")
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


@policy_app.command("docs")
def docs(directory: Path | None = DIR, output: Path | None = OUTPUT) -> None:
    """Write the control matrix (markdown): rule, severity, controls, description."""
    from guardrail.app.policies import control_matrix

    emit(control_matrix(policies_dir(directory)), output)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
