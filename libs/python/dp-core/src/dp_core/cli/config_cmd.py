"""`dp config show`, `dp config validate` and `dp config from-terraform`."""

from __future__ import annotations

from pathlib import Path

import click

from dp_core.cli.context import CliContext, pass_cli
from dp_core.config import available_environments, load_settings, render_json, render_text
from dp_core.config import terraform as tf
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


@config_group.command("from-terraform")
@click.argument("outputs", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--env", "env", required=True, metavar="ENV", help="Environment whose config/environments/ENV.yaml is meant."
)
@click.option(
    "--check", "mode", flag_value="check", default=True, help="Exit non-zero listing every disagreement (default)."
)
@click.option("--write", "mode", flag_value="write", help="Set the keys that disagree in config/environments/ENV.yaml.")
@pass_cli
def from_terraform(cli: CliContext, outputs: Path, env: str, mode: str) -> None:
    """Check or write the config keys Terraform provisions, from OUTPUTS (`terraform output -json > OUTPUTS`).

    The config files are compared (DP_ variables are not applied): what every deployment of ENV reads.
    """
    config_dir = cli.config_dir()
    values = tf.parse_outputs(outputs.read_text(encoding="utf-8"), str(outputs))
    expected = tf.expected_values(values, str(outputs))
    found = tf.disagreements(expected, load_settings(config_dir, {}, env=env).settings)
    if mode == "write" and found:
        env_file = config_dir / "environments" / f"{env}.yaml"
        env_file.write_text(tf.set_yaml_keys(env_file.read_text(encoding="utf-8"), [d.expected for d in found]))
        for item in found:
            click.echo(f"{env}: set {item.expected.dotted} = {item.expected.value!r} ({item.expected.output})")
        found = tf.disagreements(expected, load_settings(config_dir, {}, env=env).settings)
    if found:
        raise tf.TerraformMismatchError([str(d) for d in found])
    click.echo(f"{env}: {len(expected)} key(s) agree with the Terraform outputs")
    for name, url in tf.endpoints(values).items():
        click.echo(f"  {name}: {url}")
