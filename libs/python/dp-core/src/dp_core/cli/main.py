"""Root of the `dp` CLI and its single error translator."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points

import click

from dp_core import __version__
from dp_core.cli.context import CliContext
from dp_core.errors import PlatformError

ENTRY_POINT_GROUP = "dp.commands"


class PluginGroup(click.Group):
    """A group whose sub-commands come from the ``dp.commands`` entry points, imported only when used."""

    def _entry_points(self) -> dict[str, EntryPoint]:
        return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._entry_points()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = self._entry_points().get(cmd_name)
        if ep is None:
            return None
        loaded = ep.load()
        if not isinstance(loaded, click.Command):
            raise PlatformError(f"entry point {ep.value!r} for `dp {cmd_name}` is not a click command")
        return loaded


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.option("--env", "env", metavar="ENV", help="Environment to use (overrides DP_ENV; default: local).")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(__version__, prog_name="dp")
@click.pass_context
def cli(ctx: click.Context, env: str | None, debug: bool) -> None:
    """DTHEINFRA: a Python-first Lambda data platform on Kafka, Flink, Spark and Iceberg.

    Commands are nouns with verbs (`dp config show`). Configuration comes from config/base, then
    config/environments/<DP_ENV>, then secret files, then DP_ variables; see `dp config show`.
    """
    obj = ctx.ensure_object(CliContext)
    obj.env = env
    obj.debug = debug


def main(argv: Sequence[str] | None = None, context: CliContext | None = None) -> int:
    """Run `dp`; translate every error into ``Error: ...`` on stderr and a non-zero exit code.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
        context: the environment and working folder to run in (default: this process's).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="dp", standalone_mode=False, obj=context or CliContext())
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        return 130
    except PlatformError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 -- the one place that turns unexpected errors into a message
        if debug:
            traceback.print_exc()
        else:
            click.echo("(run with --debug for the traceback)", err=True)
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc}", err=True)
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
