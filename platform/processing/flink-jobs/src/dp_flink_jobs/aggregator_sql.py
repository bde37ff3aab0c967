"""The real-time aggregator's SQL (pure): per-contract streams, deduplication, the late split and the windows.

Semantics (the README states them for users):

* Each valid event counts once: events are deduplicated by event id (first arrival wins) before anything else.
* Windows are tumbling, ``stream.window_s`` long, aligned to the epoch in UTC. The watermark trails the newest event
  time by ``stream.allowed_lateness_s``; a window is written once, final, when the watermark passes its end.
* An event is *late* when its window ended more than ``stream.allowed_lateness_s`` before the newest event time
  already read from the same Kafka partition, or when its window has already been written. It then goes to
  ``<domain>__late_events_rt`` with its window, the watermark and its Kafka coordinates instead of its window.
  The first test depends only on the partition's own order, so a rerun from a checkpoint decides exactly as an
  uninterrupted run did; the second is the test Flink's window operator drops records by, on the same watermark,
  so no record is ever dropped silently: every unique event is in exactly one of its window and the late table.
* A record that cannot be decoded (no header, unknown schema id) goes to ``<domain>__stream_rejects_rt``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_flink import names
from dp_flink.sql import (
    ERROR_FIELD,
    SCHEMA_ID_FIELD,
    decoded_select,
    ident,
    late_condition,
    progress_ddl,
    silver_table,
    window_end_ms,
)
from dp_flink_jobs.enricher_sql import order_lines


@dataclass(frozen=True)
class Tables:
    """Fully qualified names (catalog.namespace.table) of the aggregator's outputs."""

    orders: str
    revenue: str
    page_views: str
    funnel: str
    late: str
    rejects: str
    progress: str

    def all(self) -> dict[str, str]:
        return {"orders": self.orders, "revenue": self.revenue, "page_views": self.page_views, "funnel": self.funnel,
                "late": self.late, "rejects": self.rejects, "progress": self.progress}  # fmt: skip


def tables(settings: PlatformSettings, domain: str) -> Tables:
    def fq(stem: str) -> str:
        return silver_table(settings, names.table(domain, stem))

    return Tables(
        **{metric: fq(names.window_table(metric, settings.stream.window_s)) for metric in names.METRICS},
        late=fq(names.LATE_EVENTS),
        rejects=fq(names.STREAM_REJECTS),
        progress=silver_table(settings, names.progress_table(names.AGGREGATOR, domain)),
    )


WINDOW_COLUMNS = "`window_start` TIMESTAMP_LTZ(3) NOT NULL, `window_end` TIMESTAMP_LTZ(3) NOT NULL"


def create_tables(t: Tables) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` of every output (Iceberg v2, Parquet, zstd)."""
    props = "WITH ('format-version' = '2', 'write.parquet.compression-codec' = 'zstd')"
    return [
        f"CREATE TABLE IF NOT EXISTS {t.orders} ({WINDOW_COLUMNS}, `currency` STRING NOT NULL, "
        "`orders` BIGINT NOT NULL, `revenue` DECIMAL(18, 2) NOT NULL, `sessions` BIGINT NOT NULL) " + props,
        f"CREATE TABLE IF NOT EXISTS {t.revenue} ({WINDOW_COLUMNS}, `category` STRING NOT NULL, "
        "`currency` STRING NOT NULL, `orders` BIGINT NOT NULL, `units` BIGINT NOT NULL, "
        "`revenue` DECIMAL(18, 2) NOT NULL) " + props,
        f"CREATE TABLE IF NOT EXISTS {t.page_views} ({WINDOW_COLUMNS}, `page_views` BIGINT NOT NULL, "
        "`sessions` BIGINT NOT NULL, `product_views` BIGINT NOT NULL) " + props,
        f"CREATE TABLE IF NOT EXISTS {t.funnel} ({WINDOW_COLUMNS}, `active_sessions` BIGINT NOT NULL, "
        "`view_sessions` BIGINT NOT NULL, `cart_sessions` BIGINT NOT NULL, `order_sessions` BIGINT NOT NULL, "
        "`cart_to_order` DOUBLE) " + props,
        f"CREATE TABLE IF NOT EXISTS {t.late} (`contract` STRING NOT NULL, `event_id` STRING NOT NULL, "
        "`event_time` TIMESTAMP_LTZ(3) NOT NULL, `window_start` TIMESTAMP_LTZ(3) NOT NULL, "
        "`window_end` TIMESTAMP_LTZ(3) NOT NULL, `watermark` TIMESTAMP_LTZ(3), `kafka_topic` STRING NOT NULL, "
        "`kafka_partition` INT NOT NULL, `kafka_offset` BIGINT NOT NULL, `value` BYTES) " + props,
        f"CREATE TABLE IF NOT EXISTS {t.rejects} (`contract` STRING NOT NULL, `kafka_topic` STRING NOT NULL, "
        "`kafka_partition` INT NOT NULL, `kafka_offset` BIGINT NOT NULL, `schema_id` INT, `reason` STRING NOT NULL, "
        "`value` BYTES) " + props,
        progress_ddl(t.progress),
    ]


def stream_views(contract: Contract, columns: dict[str, str], window_s: int, lateness_s: int) -> list[str]:
    """Views ``<name>_all`` (decoded + coordinates), ``<name>_tagged`` (unique valid events with ``is_late``) and
    ``<name>_ok`` (the on-time ones) for one contract. ``columns`` maps output name -> field of the decoded record."""
    name, src = contract.name, f"({decoded_select(contract)})"
    id_field = contract.meta.event_id or contract.meta.key
    picked = ", ".join(f"`ev`.{ident(field)} AS {ident(out)}" for out, field in columns.items())
    us = f"`ev`.{ident(contract.meta.event_time)}"
    end = window_end_ms("`event_time`", window_s)
    return [
        f"CREATE TEMPORARY VIEW `{name}_all` AS SELECT `ev`.{ident(id_field)} AS `event_id`, {picked}, "
        f"{us} AS `event_us`, `event_time`, `kafka_topic`, `kafka_partition`, `kafka_offset`, `value`, "
        f"`ev`.{ident(SCHEMA_ID_FIELD)} AS `schema_id`, `ev`.{ident(ERROR_FIELD)} AS `error`, PROCTIME() AS `pt` "
        f"FROM {src}",
        f"CREATE TEMPORARY VIEW `{name}_seen` AS SELECT *, MAX(`event_time`) OVER (PARTITION BY `kafka_partition` "
        f"ORDER BY `pt` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS `partition_max` FROM `{name}_all` "
        "WHERE `error` IS NULL",
        f"CREATE TEMPORARY VIEW `{name}_unique` AS SELECT * FROM (SELECT *, ROW_NUMBER() OVER "
        f"(PARTITION BY `event_id` ORDER BY `pt`) AS `rn` FROM `{name}_seen`) WHERE `rn` = 1",
        f"CREATE TEMPORARY VIEW `{name}_tagged` AS SELECT *, {late_condition('`event_time`', window_s, lateness_s)} "
        f"AS `is_late`, TO_TIMESTAMP_LTZ({end} - {window_s * 1000}, 3) AS `w_start`, TO_TIMESTAMP_LTZ({end}, 3) "
        f"AS `w_end`, CURRENT_WATERMARK(`event_time`) AS `wm` FROM `{name}_unique`",
        f"CREATE TEMPORARY VIEW `{name}_ok` AS SELECT * FROM `{name}_tagged` WHERE NOT `is_late`",
    ]


def _insert_all(table: str, contracts: list[Contract], columns: str, view: str, where: str) -> str:
    """One INSERT for every contract's rows of ``<contract>_<view>`` (one Iceberg committer per table: no concurrent
    commits), each row starting with the contract's name."""
    parts = [f"SELECT '{c.name}', {columns} FROM `{c.name}_{view}` WHERE {where}" for c in contracts]
    return f"INSERT INTO {table} " + " UNION ALL ".join(parts)


def late_insert(t: Tables, contracts: list[Contract]) -> str:
    columns = (
        "`event_id`, `event_time`, `w_start`, `w_end`, `wm`, `kafka_topic`, `kafka_partition`, `kafka_offset`, `value`"
    )
    return _insert_all(t.late, contracts, columns, "tagged", "`is_late`")


def rejects_insert(t: Tables, contracts: list[Contract]) -> str:
    columns = "`kafka_topic`, `kafka_partition`, `kafka_offset`, `schema_id`, `error`, `value`"
    return _insert_all(t.rejects, contracts, columns, "all", "`error` IS NOT NULL")


def tumble(view: str, window_s: int) -> str:
    return f"TABLE(TUMBLE(TABLE `{view}`, DESCRIPTOR(`event_time`), INTERVAL '{window_s}' SECOND))"


def product_versions(product: Contract) -> str:
    """Products as a versioned view (latest record per id as of each event time) for the temporal join."""
    return (
        "CREATE TEMPORARY VIEW `product_versions` AS SELECT `product_id`, `category`, `event_time` FROM (SELECT "
        "`ev`.`product_id` AS `product_id`, `ev`.`category` AS `category`, `event_time`, ROW_NUMBER() OVER "
        f"(PARTITION BY `ev`.`product_id` ORDER BY `event_time` DESC) AS `rn` FROM ({decoded_select(product)}) "
        f"WHERE `ev`.{ident(ERROR_FIELD)} IS NULL) WHERE `rn` = 1"
    )


def window_inserts(t: Tables, window_s: int, order: Contract) -> list[str]:
    """The windowed aggregates. Revenue: each on-time order's lines with their product's category as of the order's
    event time (an unknown product counts as category 'unknown'). Funnel: distinct sessions per step across page
    views, cart updates and orders."""
    return [
        "CREATE TEMPORARY VIEW `order_lines_ok` AS "
        + order_lines(order, "`order_placed_ok`", "o.`event_id`, o.`currency`, o.`event_time`"),
        "CREATE TEMPORARY VIEW `revenue_lines_ok` AS SELECT l.`event_id`, l.`currency`, l.`event_time`, "
        "l.`quantity`, l.`line_total`, COALESCE(p.`category`, 'unknown') AS `category` FROM `order_lines_ok` l "
        "LEFT JOIN `product_versions` FOR SYSTEM_TIME AS OF l.`event_time` AS p ON l.`product_id` = p.`product_id`",
        f"INSERT INTO {t.revenue} SELECT `window_start`, `window_end`, `category`, `currency`, "
        "COUNT(DISTINCT `event_id`), CAST(SUM(`quantity`) AS BIGINT), SUM(`line_total`) "
        f"FROM {tumble('revenue_lines_ok', window_s)} GROUP BY `window_start`, `window_end`, `category`, `currency`",
        f"INSERT INTO {t.orders} SELECT `window_start`, `window_end`, `currency`, COUNT(*), SUM(`total`), "
        f"COUNT(DISTINCT `session_id`) FROM {tumble('order_placed_ok', window_s)} "
        "GROUP BY `window_start`, `window_end`, `currency`",
        f"INSERT INTO {t.page_views} SELECT `window_start`, `window_end`, COUNT(*), COUNT(DISTINCT `session_id`), "
        f"COUNT(*) FILTER (WHERE `page_type` = 'PRODUCT') FROM {tumble('page_view_ok', window_s)} "
        "GROUP BY `window_start`, `window_end`",
        "CREATE TEMPORARY VIEW `steps_ok` AS "
        "SELECT `session_id`, 'view' AS `step`, `event_time` FROM `page_view_ok` UNION ALL "
        "SELECT `session_id`, 'cart' AS `step`, `event_time` FROM `cart_updated_ok` UNION ALL "
        "SELECT `session_id`, 'order' AS `step`, `event_time` FROM `order_placed_ok`",
        f"INSERT INTO {t.funnel} SELECT `window_start`, `window_end`, COUNT(DISTINCT `session_id`), "
        "COUNT(DISTINCT `session_id`) FILTER (WHERE `step` = 'view'), "
        "COUNT(DISTINCT `session_id`) FILTER (WHERE `step` = 'cart'), "
        "COUNT(DISTINCT `session_id`) FILTER (WHERE `step` = 'order'), "
        "CAST(COUNT(DISTINCT `session_id`) FILTER (WHERE `step` = 'order') AS DOUBLE) / "
        "NULLIF(COUNT(DISTINCT `session_id`) FILTER (WHERE `step` = 'cart'), 0) "
        f"FROM {tumble('steps_ok', window_s)} GROUP BY `window_start`, `window_end`",
    ]


#: contract -> the decoded fields each stream keeps (output column -> contract field)
STREAMS: dict[str, dict[str, str]] = {
    "page_view": {"session_id": "session_id", "page_type": "page_type"},
    "cart_updated": {"session_id": "session_id", "action": "action"},
    "order_placed": {"session_id": "session_id", "currency": "currency", "total": "total", "lines": "lines"},
}
