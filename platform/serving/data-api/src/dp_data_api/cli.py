"""``dp serve``: the serving layer's commands (``dp serve api``)."""

from __future__ import annotations

import click

from dp_core.cli import CliContext, pass_cli


@click.group("serve")
def serve_group() -> None:
    """Serve the lakehouse: the Data API (Gold final + speed layer provisional) and its OpenAPI description."""


@serve_group.command("api")
@click.option("--host", default=None, help="Interface to listen on (default: serving.host).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: serving.port, 8000).")
@pass_cli
def api_cmd(cli: CliContext, host: str | None, port: int | None) -> None:
    """Run the Data API until SIGTERM/SIGINT: /v1/metrics/revenue, /v1/tables, /healthz, /metrics, /docs."""
    from dp_data_api.server import serve

    cli.settings  # noqa: B018 -- builds the settings and configures logging once
    serve(cli.load(), host, port)


@serve_group.command("openapi")
@click.option("--check", is_flag=True, help="Write nothing; fail (exit 1, with the diff) if the file is stale.")
@pass_cli
def openapi_cmd(cli: CliContext, check: bool) -> None:
    """Write the API's OpenAPI description to platform/serving/data-api/openapi.json (--check: compare only).

    Rendered from the application itself; needs neither the stack nor the catalog. `make lint` runs it with
    --check, so a route changed without the committed description fails the lint.
    """
    from dp_data_api import openapi

    loaded = cli.load()
    path = loaded.repo_root / openapi.OPENAPI_FILE
    text = openapi.render(loaded.settings)
    if check:
        try:
            openapi.check(path, text, str(openapi.OPENAPI_FILE))
        except openapi.OpenApiDriftError as exc:
            for line in exc.diff:
                click.echo(line, err=True)
            raise
        click.echo(f"{openapi.OPENAPI_FILE} is up to date")
        return
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    path.write_text(text, encoding="utf-8")
    click.echo(f"{openapi.OPENAPI_FILE} {'written' if changed else 'unchanged'}")
