"""`dp local install|up|down|ps|clean|bench`: the local stack of real services as plain processes."""

from __future__ import annotations

import json
import time

import click

from dp_core.cli import CliContext, pass_cli
from dp_localstack.install import install_all
from dp_localstack.layout import Layout
from dp_localstack.stack import LocalStack, ServiceStatus


def _stack(cli: CliContext) -> LocalStack:
    loaded = cli.load()
    settings = cli.settings
    return LocalStack(settings, Layout.from_config(loaded), echo=lambda line: click.echo(line, err=True))


@click.group("local")
def local_group() -> None:
    """Run the platform's real services locally as plain processes (no Docker).

    Kafka, the S3-compatible store, PostgreSQL, the Iceberg REST catalog, the schema registry, the Spark Thrift
    server dbt runs on, Trino and the Data API form the core; `up` without --core adds a Spark standalone
    master+worker and a Flink session cluster. Ports, addresses and credentials come from config/ (`dp config
    show`); files live in the runtime folder (local.runtime_dir).
    """


@local_group.command("install")
@pass_cli
def install(cli: CliContext) -> None:
    """Fetch every pinned artifact into the runtime folder (a second run fetches nothing)."""
    layout = Layout.from_config(cli.load())
    fetched = install_all(layout, lambda line: click.echo(line, err=True))
    click.echo(f"local stack artifacts up to date in {layout.runtime} ({fetched} fetched)")


@local_group.command("up")
@click.argument("services", nargs=-1)
@click.option(
    "--core",
    is_flag=True,
    help="Only the core services (Kafka, S3 store, PostgreSQL, REST catalog, schema registry, Spark Thrift server, "
    "Trino, Data API).",
)
@pass_cli
def up(cli: CliContext, services: tuple[str, ...], core: bool) -> None:
    """Start the services in order and wait until each is healthy (running ones are left alone).

    SERVICES (names as `dp local ps` lists them, or a family: `airflow`, `spark`, `flink`) start only those, in the
    stack's order; the services they need must be running (`dp local up --core` first)."""
    stack = _stack(cli)
    began = time.monotonic()
    if services:
        try:
            chosen = stack.named(services)
        except KeyError as exc:
            names = ", ".join(s.name for s in stack.services)
            raise click.BadParameter(f"no service {exc.args[0]!r} (services: {names})", param_hint="SERVICES") from None
        click.echo(f"starting {', '.join(s.name for s in chosen)} ({stack.layout.runtime})", err=True)
        stack.start(chosen)
    else:
        click.echo(f"starting the {'core ' if core else ''}local stack ({stack.layout.runtime})", err=True)
        stack.up(core_only=core)
    click.echo(f"local stack healthy in {time.monotonic() - began:.1f} s; `dp local ps` shows it", err=True)


@local_group.command("airflow", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("airflow_args", metavar="AIRFLOW_ARGS...", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_cli
def airflow_cmd(cli: CliContext, airflow_args: tuple[str, ...]) -> None:
    """Any `airflow` command on this stack's Airflow (its environment, metadata database and DAGs).

    For example `dp local airflow dags list`, or `dp local airflow dags test lakehouse_batch`; exits with
    airflow's exit code.
    """
    import subprocess

    from dp_localstack.services.airflow import airflow_bin, airflow_env

    stack = _stack(cli)
    code = subprocess.call([airflow_bin(stack.layout), *airflow_args], env=airflow_env(stack.settings, stack.layout))
    if code:
        raise SystemExit(code)


@local_group.command("down")
@pass_cli
def down(cli: CliContext) -> None:
    """Stop every service the stack started (graceful, then forced after local.stop_timeout_s); data is kept."""
    stopped = _stack(cli).down()
    click.echo(f"stopped {len(stopped)} service(s)" if stopped else "nothing was running", err=True)


@local_group.command("clean")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
def clean(cli: CliContext, yes: bool) -> None:
    """Stop everything and wipe the services' data and logs (fetched artifacts are kept)."""
    stack = _stack(cli)
    if not yes:
        click.confirm(f"wipe all local data under {stack.layout.runtime}?", abort=True)
    stack.clean()
    click.echo("local stack stopped and its data wiped", err=True)


def _mb(rss: int) -> str:
    return f"{rss / 2**20:.0f} MB" if rss else "-"


def render_table(rows: list[ServiceStatus]) -> str:
    header = ("SERVICE", "PORT", "PID", "STATE", "RSS", "LOG")
    body = [(r.name, str(r.port or "-"), str(r.pid or "-"), r.state, _mb(r.rss_bytes), r.log_file) for r in rows]
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *body]]
    for row in rows:
        if row.state != "healthy" and row.detail:
            lines.append(f"  {row.name}: {row.detail}")
    return "\n".join(lines)


@local_group.command("ps")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_cli
def ps(cli: CliContext, as_json: bool) -> None:
    """One row per service: name, port, pid, state (healthy / unhealthy / stopped), resident memory, log file."""
    rows = _stack(cli).ps()
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        click.echo(render_table(rows))


@local_group.command("bench")
@click.option("--full", is_flag=True, help="Measure the whole stack (with Spark and Flink), not only the core.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@pass_cli
def bench(cli: CliContext, full: bool, as_json: bool) -> None:
    """Restart the stack and measure: seconds from `up` to all healthy, resident memory per service.

    The running services are stopped first (data is kept), so the figure is a start from stopped processes with
    existing data. Targets: core healthy within 60 s, core under 3 GB resident.
    """
    stack = _stack(cli)
    click.echo("stopping the stack to measure a start from scratch (data is kept)", err=True)
    stack.down()
    began = time.monotonic()
    results = stack.up(core_only=not full)
    total = time.monotonic() - began
    time.sleep(2)  # let the JVMs settle before reading memory
    rows = {r.name: r for r in stack.ps()}
    measured = [(r.name, r.seconds, rows[r.name].rss_bytes) for r in results]
    rss_total = sum(rss for _, _, rss in measured)
    figures = {
        "scope": "full" if full else "core",
        "seconds_to_healthy": round(total, 2),
        "rss_mb_total": round(rss_total / 2**20),
        "services": [{"name": n, "seconds": round(s, 2), "rss_mb": round(m / 2**20)} for n, s, m in measured],
        "targets": {"seconds_to_healthy": 60, "rss_mb_total": 3072},
    }
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    click.echo(f"{'SERVICE':<20}{'SECONDS':>9}{'RSS':>10}")
    for name, seconds, rss in measured:
        click.echo(f"{name:<20}{seconds:>9.1f}{_mb(rss):>10}")
    click.echo(f"{'total':<20}{total:>9.1f}{_mb(rss_total):>10}")
    if not full:
        click.echo(
            f"targets: healthy within 60 s -> {total:.1f} s ({total / 60:.0%} of budget); "
            f"under 3 GB resident -> {rss_total / 2**30:.2f} GB ({rss_total / 3 / 2**30:.0%} of budget)"
        )
