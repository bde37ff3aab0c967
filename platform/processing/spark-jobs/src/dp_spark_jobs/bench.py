"""`make bench-batch`: a fixed number of simulated events through bronze -> silver -> gold, events/s per stage, next
to a bare Spark baseline in the same run (read the Bronze table, write it as plain Parquet) and the ratios.

Gold is measured twice on the same Silver tables: ``etl_gold`` (PySpark, in this session) and dbt (``dp transform
run`` of the same three marts and the models they are built from, in dbt's own process and JVM), with the ratio of
dbt's time to ``etl_gold``'s (the dbt issue's target: at most 1.5).

Everything lands in tables and topics of its own (domain ``bench<timestamp>``, Gold in namespaces
``<domain>_gold`` and ``<domain>_dbt``, new for each run so both build their marts from scratch), so the shop's
data is untouched; its topics, tables and Gold namespaces are dropped at the end, also after a failure, unless
``keep`` (:func:`drop_bench_data`; the schema registry's ``bench<timestamp>.*`` subjects are kept: they hold no data,
and the schema ids Bronze rows point at must stay resolvable).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from typing import Any

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig, load_settings
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.errors import BatchJobFailed
from dp_spark_jobs.tables import bronze_table


def _produce(loaded: LoadedConfig, contracts: list[Contract], events: int, seed: int) -> float:
    from dp_ingest.dlq import Source
    from dp_ingest.errors import FieldError
    from dp_ingest.producer import EventProducer
    from dp_ingest.topics import provision, topic_specs
    from dp_simulator import SimulationConfig, simulate

    provision(loaded.settings, topic_specs(contracts, loaded.settings))
    producer = EventProducer(loaded.settings, contracts)
    began = time.perf_counter()
    config = SimulationConfig(seed=seed, count=events, start=dt.datetime(2026, 11, 20, tzinfo=dt.UTC), duplicates=0.02)
    for event in simulate(config):
        source = Source("simulator", {"seq": event.seq})
        if event.raw is not None:
            producer.reject(event.contract, [FieldError("", "not_json", "not JSON")], source, raw=event.raw)
        else:
            producer.send(event.contract, event.payload, source)
    if producer.flush(300) or producer.stats.failed:
        raise BatchJobFailed(f"bench: {producer.stats.failed} events failed to reach Kafka")
    return time.perf_counter() - began


def run(
    loaded: LoadedConfig,
    events: int,
    seed: int,
    master: str = "local[2]",
    *,
    keep: bool = False,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The benchmark's figures; its topics and tables are dropped at the end (after a failure too) unless ``keep``.

    Raises:
        TransformSetupError: dbt's target is a Thrift server that does not answer (checked before any work).
    """
    transform = loaded.settings.transform
    if transform.target == "thrift":
        from dp_transform.runner import require_thrift_server

        require_thrift_server(transform)
    # two benches started in the same second must not share (and drop) each other's domain
    domain = f"bench{int(time.time())}{secrets.token_hex(2)}"
    gold_namespace = f"{domain}_gold"
    bench_loaded = load_settings(
        loaded.config_dir, {**os.environ, "DP_ICEBERG_NAMESPACES__GOLD": gold_namespace}, env=loaded.env
    )
    contracts = [
        Contract(name=c.name, domain=domain, path=c.path, schema=c.schema)
        for c in load_contracts(contracts_dir(loaded.repo_root))
    ]
    try:
        return _measure(bench_loaded, contracts, domain, events, seed, master)
    finally:
        if keep:
            say(f"bench-batch: kept {domain}'s topics and tables (Gold: {gold_namespace}, {dbt_namespace(domain)})")
        else:
            say(f"bench-batch: dropping domain {domain}'s topics and tables (--keep leaves them)")
            dropped = drop_bench_data(
                bench_loaded, contracts, domain, (gold_namespace, dbt_namespace(domain)), on_error=say
            )
            say(f"bench-batch: dropped {len(dropped)} topics, tables, views and namespaces")


def drop_bench_data(
    loaded: LoadedConfig,
    contracts: list[Contract],
    domain: str,
    gold_namespaces: tuple[str, ...],
    on_error: Callable[[str], None] | None = None,
) -> list[str]:
    """Drop the topics of ``contracts`` (dead letters included), the Bronze and Silver tables of ``domain``
    (``<domain>__*``: latest, versions, rejected, dead letters) with their files, and the ``gold_namespaces`` with
    their tables and views; return what was dropped.

    Each step is tried on its own (Kafka down does not keep the tables): a step that fails is reported to
    ``on_error`` and the others go on; without ``on_error`` the first failure is raised."""
    from dp_ingest.topics import delete_topics, topic_specs

    settings = loaded.settings
    dropped: list[str] = []

    def attempt(what: str, step: Callable[[], list[str]]) -> None:
        try:
            dropped.extend(step())
        except Exception as exc:
            if on_error is None:
                raise
            on_error(f"bench-batch: could not drop {what} of {domain} ({type(exc).__name__}: {exc}); they are left")

    def topics() -> list[str]:
        return delete_topics(settings, [spec.name for spec in topic_specs(contracts, settings)])

    def tables(namespace: str) -> list[str]:
        lake, out = lake_catalog(settings), list[str]()
        for identifier in lake.list_tables(namespace):
            if identifier[-1].startswith(f"{domain}__"):
                lake.purge_table(identifier)
                out.append(".".join(identifier))
        return out

    def gold(namespace: str) -> list[str]:
        lake, out = lake_catalog(settings), list[str]()
        if (namespace,) not in {tuple(ns) for ns in lake.list_namespaces()}:
            return out
        for identifier in lake.list_views(namespace):
            lake.drop_view(identifier)
            out.append(".".join(identifier))
        for identifier in lake.list_tables(namespace):
            lake.purge_table(identifier)
            out.append(".".join(identifier))
        lake.drop_namespace(namespace)
        return [*out, namespace]

    attempt("the topics", topics)
    for namespace in (settings.iceberg.namespaces.bronze, settings.iceberg.namespaces.silver):
        attempt(f"the tables in {namespace}", functools.partial(tables, namespace))
    for namespace in gold_namespaces:
        attempt(f"the namespace {namespace}", functools.partial(gold, namespace))
    return dropped


def _measure(
    bench_loaded: LoadedConfig, contracts: list[Contract], domain: str, events: int, seed: int, master: str
) -> dict[str, Any]:
    from dp_spark.session import build_session
    from dp_spark_jobs.bronze import job as bronze
    from dp_spark_jobs.gold import job as gold
    from dp_spark_jobs.silver import job as silver

    lake = lake_catalog(bench_loaded.settings)
    lake.create_namespace_if_not_exists(bench_loaded.settings.iceberg.namespaces.gold)
    lake.create_namespace_if_not_exists(dbt_namespace(domain))
    produce_s = _produce(bench_loaded, contracts, events, seed)
    spark = build_session(bench_loaded, "dp-bench-batch", master=master)
    try:
        stages: dict[str, float] = {}
        steps: tuple[tuple[str, Callable[[], object]], ...] = (
            ("bronze", lambda: bronze.run(spark, bench_loaded, contracts, catalog=lake)),
            ("silver", lambda: silver.run(spark, bench_loaded, contracts, catalog=lake)),
            ("gold", lambda: gold.run(spark, bench_loaded, contracts=contracts, catalog=lake)),
            ("gold_dbt", lambda: _dbt_gold(bench_loaded, domain)),
        )
        for name, step in steps:
            began = time.perf_counter()
            step()
            stages[name] = time.perf_counter() - began
        catalog_name = bench_loaded.settings.iceberg.catalog.name
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            for contract in contracts:
                table = f"{catalog_name}.{bronze_table(bench_loaded.settings, contract)}"
                spark.table(table).write.mode("overwrite").parquet(f"{tmp}/{contract.name}")
            baseline = time.perf_counter() - began
    finally:
        spark.stop()
    figures: dict[str, Any] = {
        "events": events,
        "produce_events_per_s": round(events / produce_s),
        "baseline_parquet_events_per_s": round(events / baseline),
    }
    for name, seconds in stages.items():
        figures[f"{name}_seconds"] = round(seconds, 1)
        figures[f"{name}_events_per_s"] = round(events / seconds)
        figures[f"{name}_ratio_to_baseline"] = round(baseline / seconds, 3)
    figures["gold_dbt_time_to_etl_gold"] = round(stages["gold_dbt"] / stages["gold"], 2)
    return figures


def dbt_namespace(domain: str) -> str:
    """The namespace of dbt's Gold in one benchmark run: new each run (a shared one would make the next run's dbt
    merge into the last run's marts)."""
    return f"{domain}_dbt"


#: the marts etl_gold writes, with the models they are built from: the like-for-like dbt selection
DBT_SELECTION = ("+fct_orders", "+agg_revenue_daily", "+agg_funnel_daily")


def _dbt_gold(loaded: LoadedConfig, domain: str) -> None:
    """`dp transform run` of :data:`DBT_SELECTION` on the benchmark's Silver tables (dbt's own output, quiet)."""
    from dp_transform.runner import run_on_settings

    transform = loaded.settings.transform.model_copy(update={"namespace": dbt_namespace(domain)})
    args = ["--quiet", "run", "--select", *DBT_SELECTION]
    code = run_on_settings(loaded, transform, args, os.environ, domain)
    if code != 0:
        raise BatchJobFailed(f"bench: dbt run failed (exit code {code}; see .runtime/dbt/logs/dbt.log)")
