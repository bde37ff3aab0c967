"""`dp config show` and `dp config validate`."""

from __future__ import annotations

import click

from dp_core.cli.context import CliContext, pass_cli
from dp_core.config import available_environments, render_json, render_text
from dp_core.errors import ConfigError


@click.group("config")
def config_group() -> None:
    """Inspect and check the layered configuration."""


@config_group.command("show")
@click.option("--env", "env", metavar="ENV", help="Environment to show (default: --env of dp, DP_ENV, local).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the redacted values and their sources.")
@pass_cli
def show(cli: CliContext, env: str | None, as_json: bool) -> None:
    """Print the effective configuration and where each value came from (secrets redacted)."""
    loaded = cli.load(env)
    click.echo(render_json(loaded) if as_json else render_text(loaded))


@config_group.command("validate")
@pass_cli
def validate(cli: CliContext) -> None:
    """Load every environment under config/environments and report all problems of all of them."""
    config_dir = cli.config_dir()
    failures: list[str] = []
    for env in available_environments(config_dir):
        try:
            cli.load(env)
        except ConfigError as exc:
            failures.append(env)
            click.echo(f"{env}: FAIL", err=True)
            for problem in exc.problems:
                click.echo(f"  - {problem}", err=True)
        else:
            click.echo(f"{env}: ok")
    if failures:
        raise ConfigError(f"{len(failures)} environment(s) invalid: {', '.join(failures)}")
