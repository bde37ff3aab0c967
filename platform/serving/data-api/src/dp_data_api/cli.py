"""``dp serve``: the serving layer's commands (``dp serve api``)."""

from __future__ import annotations

import click

from dp_core.cli import CliContext, pass_cli


@click.group("serve")
def serve_group() -> None:
    """Serve the lakehouse: the Data API (Gold final + speed layer provisional), its keys and OpenAPI description."""


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


@serve_group.group("keys")
def keys_group() -> None:
    """The Data API's keys, kept hashed in PostgreSQL (postgres.databases.platform)."""


@keys_group.command("create")
@click.option("--name", required=True, help="Who or what the key is for (shown in listings).")
@click.option(
    "--scope", "scopes", multiple=True, required=True, metavar="SCOPE",
    help="metrics:read, orders:read or tables:read; repeatable.",
)  # fmt: skip
@pass_cli
def keys_create(cli: CliContext, name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it: it is shown this once (only its hash is kept)."""
    from dp_data_api.keys import create_key
    from dp_data_api.server import key_store

    key, token = create_key(key_store(cli.settings), name, scopes)
    click.echo(f"created key {key.key_id} ({key.name}; {', '.join(sorted(key.scopes))})", err=True)
    click.echo(token)


@keys_group.command("list")
@pass_cli
def keys_list(cli: CliContext) -> None:
    """List the keys: id, name, scopes, created, revoked (never the secrets)."""
    from dp_data_api.server import key_store

    keys = key_store(cli.settings).all()
    click.echo(f"{'id':<14}{'name':<24}{'scopes':<40}{'created':<22}revoked")
    for k in keys:
        created = k.created_at.strftime("%Y-%m-%d %H:%M:%S")
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if k.revoked_at else "-"
        click.echo(f"{k.key_id:<14}{k.name[:23]:<24}{','.join(sorted(k.scopes)):<40}{created:<22}{revoked}")


@keys_group.command("revoke")
@click.argument("key_id")
@pass_cli
def keys_revoke(cli: CliContext, key_id: str) -> None:
    """Revoke a key by its id: the API refuses it within serving.key_cache_s."""
    import datetime as dt

    from dp_data_api.errors import NotFoundError
    from dp_data_api.server import key_store

    if not key_store(cli.settings).revoke(key_id, dt.datetime.now(dt.UTC)):
        raise NotFoundError(f"no active key {key_id} (dp serve keys list shows them)")
    click.echo(f"revoked key {key_id}")


@serve_group.command("bench")
@click.option("--days", type=click.IntRange(1, 92), default=30, show_default=True, help="Days of minute windows.")
@click.option("--requests", type=click.IntRange(10), default=200, show_default=True, help="Requests per case.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=16, show_default=True, help="Clients at once.")
@click.option(
    "--engine", type=click.Choice(["duckdb", "trino"]), default="duckdb", show_default=True,
    help="The engine the API and the baseline run on (trino: the stack's Trino).",
)  # fmt: skip
@pass_cli
def bench_cmd(cli: CliContext, days: int, requests: int, concurrency: int, engine: str) -> None:
    """The API's p50/p95/p99 and requests/s against the same SQL on its engine directly (make bench-api).

    Needs the core stack; writes its own tables, starts the API as a process, and drops everything at the end.
    """
    from dp_data_api.bench import run_bench

    cli.settings  # noqa: B018 -- builds the settings and configures logging once
    click.echo(f"Data API bench on {engine}: {days} days of minute windows, {requests} requests per case, "
               f"c={concurrency}")  # fmt: skip
    run_bench(cli.load(), days=days, requests=requests, concurrency=concurrency, echo=click.echo, engine_name=engine)
