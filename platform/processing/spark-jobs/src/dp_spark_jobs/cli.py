"""`dp batch run bronze|silver|gold|all`: the batch layer, one layer or all in order, with a summary per table
(Gold: the dbt project's build); `dp batch maintain`: the tables' upkeep (:mod:`dp_spark_jobs.maintenance`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

import click

from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_core.cli import CliContext, pass_cli
from dp_spark_jobs.errors import BatchJobFailed
from dp_spark_jobs.summary import TableRun

LAYERS = ("bronze", "silver", "gold")


def _print(runs: list[TableRun], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in runs], default=str))
        return
    header = f"{'LAYER':<7}{'TABLE':<46}{'READ':>9}{'WRITTEN':>9}{'REJECTED':>9}{'DUPS':>7}{'SECONDS':>9}  SNAPSHOT"
    click.echo(header)
    for r in runs:
        snapshot = str(r.snapshot_id) if r.snapshot_id is not None else "- (nothing new)"
        click.echo(
            f"{r.layer:<7}{r.table:<46}{r.rows_read:>9,}{r.rows_written:>9,}{r.rejected:>9,}"
            f"{r.duplicates_dropped:>7,}{r.seconds:>9.1f}  {snapshot}"
        )


@click.group("batch")
def batch_group() -> None:
    """The batch layer: Kafka -> Bronze -> Silver (PySpark) -> Gold (dbt) on Iceberg, exactly once and idempotent."""


@batch_group.command("run")
@click.argument("layer", type=click.Choice([*LAYERS, "all"]))
@click.option("--contract", "contract_names", multiple=True, help="Only these contracts (Bronze and Silver).")
@click.option(
    "--from", "from_day", type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Gold: also recompute from this day (YYYY-MM-DD); with --to.",
)  # fmt: skip
@click.option("--to", "to_day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Gold: ... up to this day (included).")
@click.option(
    "--domain", help="Gold: the contract domain whose Silver tables dbt reads (default: demo.domain)."
)  # fmt: skip
@click.option(
    "--master", default="local[2]", show_default=True,
    help="Spark master of Bronze and Silver (e.g. spark://127.0.0.1:7077); Gold runs where transform.target says.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (dbt's output goes to stderr).")
@pass_cli
def run_cmd(
    cli: CliContext,
    layer: str,
    contract_names: tuple[str, ...],
    from_day: dt.datetime | None,
    to_day: dt.datetime | None,
    domain: str | None,
    master: str,
    as_json: bool,
) -> None:
    """Run LAYER (bronze, silver, gold or all in that order) and print rows read, written, rejected, duplicates
    dropped, the snapshot committed and the seconds taken per table. Exits non-zero on failure (nothing half-done
    is committed; rerunning is safe).

    Bronze and Silver are PySpark jobs in this process. Gold is the dbt project's build (`dp transform build`: every
    model and snapshot, each followed by its tests), shown as dbt shows it, then summarised per table like the
    others.
    """
    if (from_day is None) != (to_day is None):
        raise click.UsageError("give --from and --to together")
    if from_day and to_day and from_day > to_day:
        raise click.BadParameter("the range starts after it ends", param_hint="'--from' / '--to'")
    loaded = cli.load()
    settings = cli.settings
    contracts = load_contracts(contracts_dir(loaded.repo_root))
    if contract_names:
        contracts = [find_contract(contracts, n) for n in contract_names]
    layers = LAYERS if layer == "all" else (layer,)
    gold_domain = None
    if "gold" in layers:  # before any work: a typo, no dbt or no Thrift server fails at once
        from dp_transform.runner import DbtPaths, checked_domain, require_thrift_server

        gold_domain = checked_domain(loaded, domain)
        DbtPaths.of(loaded).require_dbt()
        if settings.transform.target == "thrift":
            require_thrift_server(settings.transform)
    began = time.monotonic()
    runs: list[TableRun] = []
    spark_layers = [current for current in layers if current != "gold"]
    if spark_layers:
        from dp_spark.session import build_session

        spark = build_session(loaded, f"dp-batch-{layer}", master=master)
        try:
            for current in spark_layers:
                if current == "bronze":
                    from dp_spark_jobs.bronze import job as bronze

                    runs += bronze.run(spark, loaded, contracts)
                else:
                    from dp_spark_jobs.silver import job as silver

                    runs += silver.run(spark, loaded, contracts)
        except Exception as exc:
            from dp_core.errors import PlatformError

            if isinstance(exc, PlatformError):
                raise
            raise BatchJobFailed(
                f"batch {layer} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
            ) from exc
        finally:
            spark.stop()  # before dbt: its Spark is another JVM
    tests: dict[str, int] = {}
    if gold_domain is not None:
        from dp_spark_jobs import gold

        days = (from_day.date(), to_day.date()) if from_day and to_day else None
        try:
            built = gold.run(
                loaded, gold_domain, dates=days, environ=cli.environ, stdout=sys.stderr if as_json else None
            )
        except Exception:
            if runs:  # what Bronze and Silver committed stays: say so before the error
                _print(runs, as_json)
            raise
        runs += built.tables
        tests = built.tests
    _print(runs, as_json)
    if not as_json:
        checked = ", ".join(f"{n} {status}" for status, n in sorted(tests.items()))
        click.echo(
            f"{layer}: {len(runs)} table(s) in {time.monotonic() - began:.1f} s ({settings.env})"
            + (f"; Gold's tests: {checked}" if checked else ""),
            err=True,
        )


@batch_group.command("maintain")
@click.option(
    "--layer", "layers", multiple=True, type=click.Choice(LAYERS),
    help="Only the tables of these layers (default: all three; the speed layer's _rt tables are Silver's).",
)  # fmt: skip
@click.option("--table", "tables", multiple=True, metavar="NS.TABLE", help="Only these tables (repeatable).")
@click.option("--master", default="local[2]", show_default=True, help="Spark master the procedures run on.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per table.")
@pass_cli
def maintain_cmd(cli: CliContext, layers: tuple[str, ...], tables: tuple[str, ...], master: str, as_json: bool) -> None:
    """Compact, tidy and expire the lakehouse's tables with Iceberg's Spark procedures, safe while jobs write them.

    Per table: rewrite_data_files (bin-pack to orchestration.maintenance.target_file_size_mb, deletes applied),
    rewrite_manifests, expire_snapshots (older than snapshot_retention_hours, the last retain_last_snapshots kept,
    and never a snapshot a job's progress is in) and remove_orphan_files (older than orphan_age_hours). A commit
    that loses the race with a concurrent writer is retried commit_retries times, then that step is skipped until
    the next run. Prints files and bytes before and after per table; exits non-zero if a step failed otherwise.
    """
    import datetime as dt_

    from dp_spark_jobs.catalog import lake_catalog
    from dp_spark_jobs.maintenance import maintain_table, pinned_snapshots

    loaded = cli.load()
    settings = cli.settings
    lake = lake_catalog(settings)
    names = settings.iceberg.namespaces
    namespaces = {"bronze": names.bronze, "silver": names.silver, "gold": settings.transform.namespace or names.gold}
    chosen = list(tables)
    if not chosen:
        for layer in layers or LAYERS:
            chosen += [".".join(t) for t in sorted(lake.list_tables(namespaces[layer]))]
    pinned = pinned_snapshots(lake, names.silver)
    if not chosen:
        click.echo("no tables to maintain", err=True)
        return
    from dp_spark.session import build_session

    click.echo(f"maintaining {len(chosen)} table(s) on {master}", err=True)
    spark = build_session(loaded, "dp-batch-maintain", master=master)
    results = []
    try:
        for identifier in chosen:
            now = dt_.datetime.now(dt_.UTC)
            results.append(
                maintain_table(
                    spark, lake, settings.iceberg.catalog.name, identifier, settings.orchestration.maintenance,
                    pinned, now, echo=lambda line: click.echo(line, err=True),
                )
            )  # fmt: skip
    finally:
        spark.stop()
    if as_json:
        for r in results:
            click.echo(json.dumps(r.as_dict()))
    else:
        click.echo(f"{'TABLE':<52}{'FILES':>13}{'MB':>17}{'DELETES':>10}{'SNAPSHOTS':>12}{'SECONDS':>9}  SKIPPED")
        for r in results:
            mb = f"{r.bytes_before / 2**20:.1f} -> {r.bytes_after / 2**20:.1f}"
            click.echo(
                f"{r.table:<52}{f'{r.files_before} -> {r.files_after}':>13}{mb:>17}"
                f"{f'{r.delete_files_before} -> {r.delete_files_after}':>10}"
                f"{f'{r.snapshots_before} -> {r.snapshots_after}':>12}{r.seconds:>9.1f}  {', '.join(r.skipped) or '-'}"
            )
    failed = [
        f"{r.table} {step}: {outcome}"
        for r in results
        for step, outcome in r.steps.items()
        if outcome.startswith("failed")
    ]
    if failed:
        raise BatchJobFailed("maintenance failed on " + "; ".join(failed))


@batch_group.command("bench")
@click.option("--events", type=click.IntRange(min=1000), default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=3, show_default=True)
@click.option("--master", default="local[2]", show_default=True)
@click.option("--keep", is_flag=True, help="Leave the bench's topics and tables in place afterwards.")
@pass_cli
def bench_cmd(cli: CliContext, events: int, seed: int, master: str, keep: bool) -> None:
    """Push EVENTS simulated events through bronze -> silver -> gold; print events/s per stage next to a bare Spark
    baseline (read Bronze, write plain Parquet) measured in the same run. Gold is dbt's (`dp transform run` of every
    model), then the same SQL run bare in this process's Spark (what dbt compiled, as plain CREATE VIEW / CREATE
    TABLE AS), with the ratio of their times. Uses topics and tables of its own, dropped at the end (also after a
    failure) unless --keep; with dbt's thrift target, checks first that its server answers."""
    from dp_spark_jobs.bench import run

    cli.settings  # noqa: B018 -- builds the settings and configures logging once
    figures = run(cli.load(), events, seed, master, keep=keep, say=lambda line: click.echo(line, err=True))
    click.echo(f"events {figures['events']:,}; produced to Kafka at {figures['produce_events_per_s']:,}/s")
    click.echo(f"{'STAGE':<22}{'SECONDS':>9}{'EVENTS/S':>12}{'RATIO':>8}")
    click.echo(f"{'baseline (parquet)':<22}{'':>9}{figures['baseline_parquet_events_per_s']:>12,}{1.0:>8}")
    for stage, label in (
        ("bronze", "bronze"),
        ("silver", "silver"),
        ("gold", "gold (dbt run)"),
        ("gold_sql", "gold (bare Spark SQL)"),
    ):
        click.echo(
            f"{label:<22}{figures[stage + '_seconds']:>9}{figures[stage + '_events_per_s']:>12,}"
            f"{figures[stage + '_ratio_to_baseline']:>8}"
        )
    click.echo(
        f"dbt's Gold ran at {figures['gold_ratio_to_sql']} of the speed of its bare Spark SQL (target: at least 0.7)"
    )
