"""``event_enricher``: orders joined with the latest products, customers and payments, into Iceberg and a compacted
topic.

See :mod:`dp_flink_jobs.enricher_sql` for the semantics. Run it with ``dp stream run enricher``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dp_contracts.model import Contract, find_contract
from dp_core.config import LoadedConfig, PlatformSettings
from dp_flink import names
from dp_flink.sql import ident, progress_ddl, progress_insert, silver_table, source_ddl
from dp_flink_jobs import enricher_sql as q

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment

NAME = names.ENRICHER
NEEDS = q.NEEDS
#: the enricher's joins and aggregates read and write state per record; buffering input cuts that work (at 5,000
#: orders/s on 2 cores: p95 event-to-queryable 15 s with it, 29 s without). Not for the aggregator: with mini-batch
#: on, Flink 2.0.2 counted its orders twice in the e2e test.
#: The sinks keep Flink's upsert materializer (``table.exec.sink.upsert-materialize`` AUTO) although it stores every
#: version of every enriched row: without it (bench-stream 5,000/s: 2,623 -> 3,008 rows/s) a kill-and-restart e2e
#: run and a demo run lost orders (a row's delete arriving after its newer insert, as the mini-batch joins emit).
JOB_CONFIG = {
    "table.exec.mini-batch.enabled": "true",
    "table.exec.mini-batch.allow-latency": "500 ms",
    "table.exec.mini-batch.size": "5000",
}


def inputs(contracts: list[Contract]) -> list[Contract]:
    return [find_contract(contracts, name) for name in NEEDS]


def outputs(settings: PlatformSettings, domain: str) -> dict[str, str]:
    return {
        "enriched": q.enriched_table(settings, domain).replace("`", ""),
        "topic": q.enriched_topic(settings, domain),
        "progress": progress_table(settings, domain).replace("`", ""),
    }


def progress_table(settings: PlatformSettings, domain: str) -> str:
    return silver_table(settings, names.progress_table(NAME, domain))


def ensure_topic(settings: PlatformSettings, domain: str) -> None:
    """The output topic (compacted: the latest enriched version of each order), created if missing."""
    from dp_ingest.topics import TopicSpec, provision

    topics = settings.kafka.topics
    spec = TopicSpec(
        name=q.enriched_topic(settings, domain),
        contract="orders_enriched",
        role="derived",
        partitions=topics.partitions,
        replication_factor=topics.replication_factor,
        config={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"},
    )
    provision(settings, [spec])


def build(t_env: TableEnvironment, loaded: LoadedConfig, contracts: list[Contract], group_id: str) -> StatementSet:
    settings = loaded.settings
    conf = t_env.get_config()
    for key, value in JOB_CONFIG.items():
        conf.set(key, value)
    order, product, customer, payment = inputs(contracts)
    domain = order.domain
    ensure_topic(settings, domain)
    catalog, silver = ident(settings.iceberg.catalog.name), ident(settings.iceberg.namespaces.silver)
    t_env.execute_sql(f"CREATE DATABASE IF NOT EXISTS {catalog}.{silver}")
    t_env.execute_sql(q.create_table(settings, domain))
    t_env.execute_sql(progress_ddl(progress_table(settings, domain)))
    t_env.execute_sql(q.topic_sink_ddl(settings, domain, group_id))
    for contract in (order, product, customer, payment):
        t_env.execute_sql(source_ddl(contract, settings, group_id))
    # views from planned queries, not CREATE VIEW: a SQL view is expanded anew for each INSERT, and the lines'
    # UNNEST then gets a new correlation id each time, so the planner would run every join twice (once per sink)
    for name, query in q.views(order, product, customer, payment):
        t_env.create_temporary_view(name, t_env.sql_query(query))
    statements = t_env.create_statement_set()
    for sql in q.inserts(settings, domain):
        statements.add_insert_sql(sql)
    # no event-time operators here, and the mini-batch assigner swallows the sources' watermarks: none recorded
    statements.add_insert_sql(progress_insert(progress_table(settings, domain), inputs(contracts), watermark=False))
    return statements
