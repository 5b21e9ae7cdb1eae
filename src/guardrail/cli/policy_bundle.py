"""`guardrail policy bundle`: an OPA bundle of the project's policies (joins the `policy` group)."""

from __future__ import annotations

from pathlib import Path

import typer

from guardrail.cli.common import policies_dir


def register(app: typer.Typer) -> None:
    from guardrail.cli.policy import DIR, policy_app

    @policy_app.command("bundle")
    def bundle(
        directory: Path | None = DIR,
        output: Path = typer.Option(Path("bundle.tar.gz"), "--output", "-o", help="Where to write the bundle."),
    ) -> None:
        """Write the policies (no tests) and data as an OPA bundle (.manifest, *.rego, data.json)."""
        from guardrail.app.policy_bundle import build_bundle

        manifest = build_bundle(policies_dir(directory), output)
        typer.echo(
            f"wrote {output}: {manifest['metadata']['modules']} module(s), roots {', '.join(manifest['roots'])}, "
            f"revision {manifest['revision']}"
        )
