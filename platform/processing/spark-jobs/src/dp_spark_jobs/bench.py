"""`make bench-batch`: a fixed number of simulated events through bronze -> silver -> gold, events/s per stage, next
to a bare Spark baseline in the same run (read the Bronze table, write it as plain Parquet) and the ratios.

Gold is dbt's (``dp transform run`` of every model, where ``transform.target`` says: locally the stack's Spark
Thrift server), measured against a bare Spark SQL of the same marts in the same run: the SQL dbt compiled for each
model (from its ``run_results.json``), run in dependency order in this process's Spark session as plain ``CREATE
VIEW`` / ``CREATE TABLE ... AS`` into a namespace of its own -- no incremental merge, no progress properties, no
dbt. The ratio says what dbt's machinery costs (the performance issue's target: at least 0.7).

Everything lands in tables and topics of its own (domain ``bench<timestamp>``, Gold in namespaces
``<domain>_gold`` (dbt's) and ``<domain>_sql`` (the baseline's), new for each run so both build from scratch), so
the shop's data is untouched; its topics, tables and Gold namespaces are dropped at the end, also after a failure,
unless ``keep`` (:func:`drop_bench_data`; the schema registry's ``bench<timestamp>.*`` subjects are kept: they hold no
data, and the schema ids Bronze rows point at must stay resolvable).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig, load_settings
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.errors import BatchJobFailed
from dp_spark_jobs.tables import bronze_table
from dp_transform.results import RunResults


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
            say(f"bench-batch: kept {domain}'s topics and tables (Gold: {gold_namespace}, {sql_namespace(domain)})")
        else:
            say(f"bench-batch: dropping domain {domain}'s topics and tables (--keep leaves them)")
            dropped = drop_bench_data(
                bench_loaded, contracts, domain, (gold_namespace, sql_namespace(domain)), on_error=say
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
    from dp_spark_jobs.silver import job as silver

    lake = lake_catalog(bench_loaded.settings)
    lake.create_namespace_if_not_exists(bench_loaded.settings.iceberg.namespaces.gold)
    lake.create_namespace_if_not_exists(sql_namespace(domain))
    produce_s = _produce(bench_loaded, contracts, events, seed)
    spark = build_session(bench_loaded, "dp-bench-batch", master=master)
    try:
        stages: dict[str, float] = {}
        statements: list[str] = []
        steps: tuple[tuple[str, Callable[[], object]], ...] = (
            ("bronze", lambda: bronze.run(spark, bench_loaded, contracts, catalog=lake)),
            ("silver", lambda: silver.run(spark, bench_loaded, contracts, catalog=lake)),
            ("gold", lambda: statements.extend(_dbt_gold(bench_loaded, domain))),
            ("gold_sql", lambda: [spark.sql(statement) for statement in statements]),
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
    figures["gold_ratio_to_sql"] = round(stages["gold_sql"] / stages["gold"], 3)
    return figures


def sql_namespace(domain: str) -> str:
    """The namespace of the bare Spark SQL baseline of Gold in one benchmark run (new each run)."""
    return f"{domain}_sql"


def baseline_statements(results: RunResults, materialized: Mapping[str, str], namespace: str, into: str) -> list[str]:
    """The SQL dbt compiled for each model of ``results`` (in the order dbt finished them, which follows the
    dependencies) as plain statements writing into ``into`` instead of ``namespace``: a view model as ``CREATE VIEW``,
    any other as ``CREATE TABLE ... USING iceberg AS`` (pure).

    Args:
        results: a ``dbt run`` of the models into empty tables (so each compiled select is the full one).
        materialized: dbt's materialization per node id (its manifest).
    """
    built = [n for n in results.built if n.compiled_code and n.relation]
    renames = {str(n.relation).replace("`", ""): f"{into}.{n.name}" for n in built}
    names = "|".join(re.escape(r.split(".", 1)[1]) for r in renames)
    # `ns`.`name` or ns.name (either part quoted or not), not inside a longer identifier
    pattern = re.compile(
        rf"(?<![\w.`])(?:`{re.escape(namespace)}`|{re.escape(namespace)})\.(?:`(?P<q>{names})`|(?P<p>{names}))(?![\w`])"
    )

    def rename(match: re.Match[str]) -> str:
        return renames[f"{namespace}.{match.group('q') or match.group('p')}"]

    statements = []
    for node in built:
        select = pattern.sub(rename, str(node.compiled_code)) if renames else str(node.compiled_code)
        kind = "VIEW" if materialized.get(node.unique_id) == "view" else "TABLE"
        using = "" if kind == "VIEW" else " USING iceberg"
        statements.append(f"CREATE {kind} {into}.{node.name}{using} AS\n{select}")
    return statements


def _dbt_gold(loaded: LoadedConfig, domain: str) -> list[str]:
    """`dp transform run` of every model on the benchmark's Silver tables (dbt's own output, quiet); returns
    :func:`baseline_statements` of what it ran."""
    from dp_transform.results import read_run_results
    from dp_transform.runner import DbtPaths, run_on_settings

    gold = loaded.settings.iceberg.namespaces.gold  # the bench's own, whatever transform.namespace says
    transform = loaded.settings.transform.model_copy(update={"namespace": gold})
    code = run_on_settings(loaded, transform, ["--quiet", "run"], os.environ, domain)
    paths = DbtPaths.of(loaded)
    if code != 0:
        raise BatchJobFailed(f"bench: dbt run failed (exit code {code}; see {paths.log_file})")
    manifest = json.loads((paths.work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    materialized = {uid: str(node["config"]["materialized"]) for uid, node in manifest["nodes"].items()}
    return baseline_statements(read_run_results(paths.run_results), materialized, gold, sql_namespace(domain))
