"""`make bench-batch`: a fixed number of simulated events through bronze -> silver -> gold, events/s per stage, next
to a bare Spark baseline in the same run (read the Bronze table, write it as plain Parquet) and the ratios.

Gold is measured twice on the same Silver tables: ``etl_gold`` (PySpark, in this session) and dbt (``dp transform
run`` of the same three marts and the models they are built from, in dbt's own process and JVM), with the ratio of
dbt's time to ``etl_gold``'s (the dbt issue's target: at most 1.5).

Everything lands in tables and topics of its own (domain ``bench<timestamp>``, Gold in namespaces ``bench_gold``
and ``<domain>_dbt``, new for each run so dbt builds its marts from scratch), so the shop's data is untouched.
"""

from __future__ import annotations

import datetime as dt
import os
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


def run(loaded: LoadedConfig, events: int, seed: int, master: str = "local[2]") -> dict[str, Any]:
    from dp_spark.session import build_session
    from dp_spark_jobs.bronze import job as bronze
    from dp_spark_jobs.gold import job as gold
    from dp_spark_jobs.silver import job as silver

    bench_loaded = load_settings(
        loaded.config_dir, {**os.environ, "DP_ICEBERG_NAMESPACES__GOLD": "bench_gold"}, env=loaded.env
    )
    domain = f"bench{int(time.time())}"
    contracts = [
        Contract(name=c.name, domain=domain, path=c.path, schema=c.schema)
        for c in load_contracts(contracts_dir(loaded.repo_root))
    ]
    lake = lake_catalog(bench_loaded.settings)
    lake.create_namespace_if_not_exists("bench_gold")
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
