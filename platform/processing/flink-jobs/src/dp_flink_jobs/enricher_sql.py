"""The event enricher's SQL (pure).

Semantics (the README states them for users):

* Every valid order event (deduplicated by event id) yields exactly one row in ``<domain>__orders_enriched_rt``,
  keyed by ``event_id``, and one record (same key) in the compacted topic ``<domain>.orders_enriched.v1``.
* Reference data is joined by key against the *latest* state of the ``product`` and ``customer`` topics (the last
  record per key). A missing reference is not waited for: the order is emitted at once with the gap marked
  (``customer_known = false``, ``product_known = false`` on the line, ``missing_products`` > 0) and the row is
  corrected in place (an upsert on ``event_id``) when the reference arrives. A changed reference updates the rows
  of the orders that use it, so the table always shows orders against their reference data as it is now.
* Payments are joined by ``order_id``: the row carries the order's latest payment (the valid payment event with
  the greatest ``occurred_at``: status, method, amount, its event id), null until one arrives; a later payment
  (a refund after an authorisation, a retry after a decline) updates the row in place.
* The Iceberg table is a format-v2 upsert table (equality deletes): Spark, Flink and Trino read it; pyiceberg
  0.12 cannot read equality deletes yet.
"""

from __future__ import annotations

from dp_contracts.ir import ArrayT, RecordT
from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_flink import names
from dp_flink.sql import (
    ERROR_FIELD,
    decoded_select,
    ident,
    json_fields,
    kafka_connection,
    silver_table,
    with_clause,
)

ORDER, PRODUCT, CUSTOMER, PAYMENT = "order_placed", "product", "customer", "payment_processed"
NEEDS = (ORDER, PRODUCT, CUSTOMER, PAYMENT)

#: the order line fields each line's JSON object gives (see dp_flink.sql.bridge_type)
LINE_FIELDS = ("line_number", "product_id", "quantity", "unit_price", "line_total")
LINE_TYPE = (
    "ROW<`line_number` INT, `product_id` STRING, `quantity` INT, `unit_price` DECIMAL(12, 2), "
    "`line_total` DECIMAL(12, 2), `product_known` BOOLEAN, `product_name` STRING, `category` STRING, "
    "`brand` STRING>"
)
COLUMNS = (
    "`event_id` STRING NOT NULL, `order_id` STRING, `session_id` STRING, `customer_id` STRING, "
    "`occurred_at` TIMESTAMP_LTZ(3), `currency` STRING, `subtotal` DECIMAL(12, 2), `shipping` DECIMAL(12, 2), "
    "`tax` DECIMAL(12, 2), `total` DECIMAL(12, 2), `shipping_country` STRING, "
    "`customer_known` BOOLEAN, `customer_country` STRING, `customer_segment` STRING, "
    f"`lines` ARRAY<{LINE_TYPE}>, `line_count` INT, `missing_products` INT, "
    "`payment_status` STRING, `payment_method` STRING, `payment_amount` DECIMAL(12, 2), `payment_event_id` STRING, "
    "`kafka_partition` INT, `kafka_offset` BIGINT"
)


def line_record(order: Contract) -> RecordT:
    """The record type of an order's lines."""
    lines = next(f.type for f in order.record.fields if f.name == "lines")
    assert isinstance(lines, ArrayT) and isinstance(lines.items, RecordT), "order lines are an array of records"
    return lines.items


def order_lines(order: Contract, source: str, keep: str) -> str:
    """``SELECT <keep>, <line fields> FROM <source> o CROSS JOIN UNNEST(o.lines)``: one row per order line, in SQL
    (the decoded lines are JSON objects)."""
    columns = json_fields("l.`line`", line_record(order), LINE_FIELDS)
    return f"SELECT {keep}, {columns} FROM {source} o CROSS JOIN UNNEST(o.`lines`) AS l(`line`)"


def enriched_table(settings: PlatformSettings, domain: str) -> str:
    return silver_table(settings, names.table(domain, names.ORDERS_ENRICHED))


def enriched_topic(settings: PlatformSettings, domain: str) -> str:
    return names.enriched_topic(settings, domain)


def create_table(settings: PlatformSettings, domain: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {enriched_table(settings, domain)} ({COLUMNS}, "
        "PRIMARY KEY (`event_id`) NOT ENFORCED) WITH ('format-version' = '2', 'write.upsert.enabled' = 'true', "
        "'write.parquet.compression-codec' = 'zstd')"
    )


def topic_sink_ddl(settings: PlatformSettings, domain: str, group_id: str) -> str:
    sink = {"connector": "upsert-kafka", "topic": enriched_topic(settings, domain), **kafka_connection(settings)}
    sink |= {
        "key.format": "json",
        "value.format": "json",
        "value.json.timestamp-format.standard": "ISO-8601",
        "value.json.encode.decimal-as-plain-number": "true",
        "sink.delivery-guarantee": "exactly-once",
        "sink.transactional-id-prefix": group_id,
        "properties.transaction.timeout.ms": "900000",
    }
    return f"CREATE TEMPORARY TABLE `enriched_topic` ({COLUMNS}, PRIMARY KEY (`event_id`) NOT ENFORCED) " + with_clause(
        sink
    )


def _latest(contract: Contract, key: str, fields: list[str], newest_by: str = "`pt`") -> str:
    """The query of ``<contract>_latest``: the last record per ``key``, by arrival (``pt``, processing time) or by a
    field of the event."""
    picked = ", ".join(f"`ev`.{ident(f)} AS {ident(f)}" for f in dict.fromkeys([key, *fields]))
    return (
        f"SELECT {', '.join(ident(f) for f in [key, *fields])} "
        f"FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {ident(key)} ORDER BY {newest_by} DESC) AS `rn` FROM "
        f"(SELECT {picked}, PROCTIME() AS `pt` FROM ({decoded_select(contract)}) WHERE `ev`.{ident(ERROR_FIELD)} "
        "IS NULL)) WHERE `rn` = 1"
    )


def views(order: Contract, product: Contract, customer: Contract, payment: Contract) -> list[tuple[str, str]]:
    """``(name, query)`` of each view, in order: orders (deduplicated), the latest products, customers and payments,
    the lines joined to their products, the enriched orders."""
    fields = [
        "event_id", "order_id", "session_id", "customer_id", "lines", "currency", "subtotal", "shipping", "tax",
        "total", "shipping_country",
    ]  # fmt: skip
    picked = ", ".join(f"`ev`.{ident(f)} AS {ident(f)}" for f in fields)
    return [
        (
            "orders_unique",
            f"SELECT {', '.join(ident(f) for f in fields)}, "
            "CAST(`event_time` AS TIMESTAMP_LTZ(3)) AS `event_time`, `kafka_partition`, `kafka_offset` "
            "FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
            f"`event_id` ORDER BY `pt`) AS `rn` FROM (SELECT {picked}, `event_time`, `kafka_partition`, "
            f"`kafka_offset`, PROCTIME() AS `pt` FROM ({decoded_select(order)}) "
            f"WHERE `ev`.{ident(ERROR_FIELD)} IS NULL)) WHERE `rn` = 1",
        ),
        (f"{product.name}_latest", _latest(product, "product_id", ["name", "category", "brand"])),
        (f"{customer.name}_latest", _latest(customer, "customer_id", ["country", "segment"])),
        # a duplicate of an earlier payment may arrive after a later one: the newest by event time wins, not by arrival
        (
            f"{payment.name}_latest",
            _latest(payment, "order_id", ["event_id", "status", "method", "amount", "occurred_at"], "`occurred_at`"),
        ),
        # the decoded lines arrive as JSON objects (see dp_flink.sql.bridge_type), taken apart in SQL
        ("order_lines", order_lines(order, "`orders_unique`", "o.`event_id`")),
        (
            "lines_enriched",
            "SELECT l.`event_id`, ARRAY_AGG(ROW(l.`line_number`, "
            "l.`product_id`, l.`quantity`, l.`unit_price`, l.`line_total`, p.`product_id` IS NOT NULL, p.`name`, "
            "p.`category`, p.`brand`)) AS `lines`, CAST(COUNT(*) AS INT) AS `line_count`, "
            "CAST(SUM(CASE WHEN p.`product_id` IS NULL THEN 1 ELSE 0 END) AS INT) AS `missing_products` "
            "FROM `order_lines` l LEFT JOIN `product_latest` p ON l.`product_id` = p.`product_id` "
            "GROUP BY l.`event_id`",
        ),
        # payments join the narrow order rows (their lines still JSON text), not the wide enriched rows: the
        # join keeps every order in its state, and wide rows (arrays of rows) cost far more to store
        (
            "orders_paid",
            "SELECT o.*, CAST(pay.`status` AS STRING) AS `payment_status`, "
            "CAST(pay.`method` AS STRING) AS `payment_method`, pay.`amount` AS `payment_amount`, "
            f"pay.`event_id` AS `payment_event_id` FROM `orders_unique` o LEFT JOIN `{payment.name}_latest` pay "
            "ON pay.`order_id` = o.`order_id`",
        ),
        (
            "orders_enriched",
            "SELECT o.`event_id`, o.`order_id`, o.`session_id`, "
            "o.`customer_id`, o.`event_time`, o.`currency`, o.`subtotal`, o.`shipping`, o.`tax`, o.`total`, "
            "o.`shipping_country`, c.`customer_id` IS NOT NULL, c.`country`, c.`segment`, "
            f"CAST(l.`lines` AS ARRAY<{LINE_TYPE}>), l.`line_count`, l.`missing_products`, "
            "o.`payment_status`, o.`payment_method`, o.`payment_amount`, o.`payment_event_id`, "
            "o.`kafka_partition`, o.`kafka_offset` FROM `orders_paid` o LEFT JOIN `customer_latest` c "
            "ON o.`customer_id` = c.`customer_id` JOIN `lines_enriched` l ON l.`event_id` = o.`event_id`",
        ),
    ]


def inserts(settings: PlatformSettings, domain: str) -> list[str]:
    return [
        f"INSERT INTO {enriched_table(settings, domain)} SELECT * FROM `orders_enriched`",
        "INSERT INTO `enriched_topic` SELECT * FROM `orders_enriched`",
    ]
