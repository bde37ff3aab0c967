"""``python -m dp_dbt [--target T] [--namespace NS] DBT_ARGS...``: dbt on a profile generated from the settings.

The stand-in for ``dp transform`` until that command group exists: it loads the settings of ``DP_ENV``, builds the
profile of the chosen target and runs dbt with the remaining arguments (``debug``, ``parse``, ``build``, ...).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from dp_core.config import find_config_dir, load_settings
from dp_core.errors import PlatformError
from dp_dbt.profile import build_profile
from dp_dbt.runner import run_dbt
from dp_dbt.settings import TransformSettings


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--target", type=click.Choice(["session", "thrift"]), default="session", show_default=True)
@click.option("--namespace", default=None, help="Namespace of the models (default: iceberg.namespaces.gold)")
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def main(target: str, namespace: str | None, dbt_args: tuple[str, ...]) -> None:
    """Run dbt with DBT_ARGS on the profile generated from the platform settings."""
    environ = dict(os.environ)
    try:
        loaded = load_settings(find_config_dir(Path.cwd(), environ), environ)
        transform = TransformSettings.model_validate({"target": target, "namespace": namespace})
        code = run_dbt(loaded, build_profile(loaded, transform), dbt_args, environ)
    except PlatformError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code)


if __name__ == "__main__":
    main()
