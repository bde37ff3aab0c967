"""`dp batch run bronze|silver|gold|all`: the batch layer, one layer or all in order, with a summary per table."""

from __future__ import annotations

import datetime as dt
import json
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
    """The batch layer on PySpark and Iceberg: Kafka -> Bronze -> Silver -> Gold, exactly once and idempotent."""


@batch_group.command("run")
@click.argument("layer", type=click.Choice([*LAYERS, "all"]))
@click.option("--contract", "contract_names", multiple=True, help="Only these contracts (Bronze and Silver).")
@click.option("--from", "from_day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Gold: recompute from this day.")
@click.option("--to", "to_day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Gold: recompute up to this day.")
@click.option("--master", default="local[2]", show_default=True, help="Spark master (e.g. spark://127.0.0.1:7077).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_cli
def run_cmd(
    cli: CliContext,
    layer: str,
    contract_names: tuple[str, ...],
    from_day: dt.datetime | None,
    to_day: dt.datetime | None,
    master: str,
    as_json: bool,
) -> None:
    """Run LAYER (bronze, silver, gold or all in that order) and print rows read, written, rejected, duplicates
    dropped, the snapshot committed and the seconds taken per table. Exits non-zero on failure (nothing half-done
    is committed; rerunning is safe)."""
    if (from_day is None) != (to_day is None):
        raise click.UsageError("give --from and --to together")
    loaded = cli.load()
    settings = cli.settings
    contracts = load_contracts(contracts_dir(loaded.repo_root))
    if contract_names:
        contracts = [find_contract(contracts, n) for n in contract_names]
    from dp_spark.session import build_session

    began = time.monotonic()
    spark = build_session(loaded, f"dp-batch-{layer}", master=master)
    runs: list[TableRun] = []
    try:
        for current in LAYERS if layer == "all" else (layer,):
            if current == "bronze":
                from dp_spark_jobs.bronze import job as bronze

                runs += bronze.run(spark, loaded, contracts)
            elif current == "silver":
                from dp_spark_jobs.silver import job as silver

                runs += silver.run(spark, loaded, contracts)
            else:
                from dp_spark_jobs.gold import job as gold

                days = (from_day.date(), to_day.date()) if from_day and to_day else None
                lateness = dt.timedelta(seconds=settings.batch.gold.allowed_lateness_s)
                runs += gold.run(spark, loaded, days=days, allowed_lateness=lateness)
    except Exception as exc:
        from dp_core.errors import PlatformError

        if isinstance(exc, PlatformError):
            raise
        raise BatchJobFailed(f"batch {layer} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:500]}") from exc
    finally:
        spark.stop()
    _print(runs, as_json)
    if not as_json:
        click.echo(f"{layer}: {len(runs)} table(s) in {time.monotonic() - began:.1f} s ({settings.env})", err=True)


@batch_group.command("bench")
@click.option("--events", type=click.IntRange(min=1000), default=1_000_000, show_default=True)
@click.option("--seed", type=int, default=3, show_default=True)
@click.option("--master", default="local[2]", show_default=True)
@click.option("--keep", is_flag=True, help="Leave the bench's topics and tables in place afterwards.")
@pass_cli
def bench_cmd(cli: CliContext, events: int, seed: int, master: str, keep: bool) -> None:
    """Push EVENTS simulated events through bronze -> silver -> gold; print events/s per stage next to a bare Spark
    baseline (read Bronze, write plain Parquet) measured in the same run. Gold twice on the same Silver: etl_gold,
    then dbt (`dp transform run` of the same marts and what they are built from), with the ratio of their times.
    Uses topics and tables of its own, dropped at the end (also after a failure) unless --keep; with dbt's thrift
    target, checks first that its server answers."""
    from dp_spark_jobs.bench import run

    cli.settings  # noqa: B018 -- builds the settings and configures logging once
    figures = run(cli.load(), events, seed, master, keep=keep, say=lambda line: click.echo(line, err=True))
    click.echo(f"events {figures['events']:,}; produced to Kafka at {figures['produce_events_per_s']:,}/s")
    click.echo(f"{'STAGE':<22}{'SECONDS':>9}{'EVENTS/S':>12}{'RATIO':>8}")
    click.echo(f"{'baseline (parquet)':<22}{'':>9}{figures['baseline_parquet_events_per_s']:>12,}{1.0:>8}")
    for stage, label in (
        ("bronze", "bronze"),
        ("silver", "silver"),
        ("gold", "gold (etl_gold)"),
        ("gold_dbt", "gold (dbt run)"),
    ):
        click.echo(
            f"{label:<22}{figures[stage + '_seconds']:>9}{figures[stage + '_events_per_s']:>12,}"
            f"{figures[stage + '_ratio_to_baseline']:>8}"
        )
    click.echo(f"dbt's Gold took {figures['gold_dbt_time_to_etl_gold']}x the time of etl_gold (target: at most 1.5)")
