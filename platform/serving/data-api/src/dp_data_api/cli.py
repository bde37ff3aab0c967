"""``dp serve``: the serving layer's commands (``dp serve api``)."""

from __future__ import annotations

import click

from dp_core.cli import CliContext, pass_cli


@click.group("serve")
def serve_group() -> None:
    """Serve the lakehouse: the Data API (Gold final + speed layer provisional)."""


@serve_group.command("api")
@click.option("--host", default=None, help="Interface to listen on (default: serving.host).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: serving.port, 8000).")
@pass_cli
def api_cmd(cli: CliContext, host: str | None, port: int | None) -> None:
    """Run the Data API until SIGTERM/SIGINT: /v1/metrics/revenue, /v1/tables, /healthz, /metrics, /docs."""
    from dp_data_api.server import serve

    cli.settings  # noqa: B018 -- builds the settings and configures logging once
    serve(cli.load(), host, port)
