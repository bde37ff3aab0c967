"""``realtime_aggregator``: event-time windows over page views, cart updates and orders, exactly once into Iceberg.

See :mod:`dp_flink_jobs.aggregator_sql` for the semantics. Run it with ``dp stream run aggregator``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dp_contracts.model import Contract, find_contract
from dp_core.config import LoadedConfig, PlatformSettings
from dp_flink import names
from dp_flink.sql import ident, progress_insert, source_ddl
from dp_flink_jobs import aggregator_sql as q

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment

NAME = names.AGGREGATOR


def inputs(contracts: list[Contract]) -> list[Contract]:
    """The event streams, then the product reference data."""
    return [find_contract(contracts, name) for name in (*q.STREAMS, "product")]


def build(t_env: TableEnvironment, loaded: LoadedConfig, contracts: list[Contract], group_id: str) -> StatementSet:
    """Declare sources, views and outputs on ``t_env``; the returned statement set is the whole job."""
    settings = loaded.settings
    *used, product = inputs(contracts)
    domain = used[0].domain
    window_s = settings.stream.window_s
    t = q.tables(settings, domain)
    catalog, silver = ident(settings.iceberg.catalog.name), ident(settings.iceberg.namespaces.silver)
    t_env.execute_sql(f"CREATE DATABASE IF NOT EXISTS {catalog}.{silver}")
    for ddl in q.create_tables(t):
        t_env.execute_sql(ddl)
    for contract in used:
        t_env.execute_sql(source_ddl(contract, settings, group_id))
        for view in q.stream_views(contract, q.STREAMS[contract.name], window_s, settings.stream.allowed_lateness_s):
            t_env.execute_sql(view)
    t_env.execute_sql(source_ddl(product, settings, group_id))
    t_env.execute_sql(q.product_versions(product))
    statements = t_env.create_statement_set()
    statements.add_insert_sql(q.late_insert(t, used))
    statements.add_insert_sql(q.rejects_insert(t, used))
    statements.add_insert_sql(progress_insert(t.progress, inputs(contracts)))
    for sql in q.window_inserts(t, window_s, find_contract(contracts, "order_placed")):
        if sql.startswith("CREATE"):
            t_env.execute_sql(sql)
        else:
            statements.add_insert_sql(sql)
    return statements


NEEDS = (*q.STREAMS, "product")


def outputs(settings: PlatformSettings, domain: str) -> dict[str, str]:
    return {k: v.replace("`", "") for k, v in q.tables(settings, domain).all().items()}
