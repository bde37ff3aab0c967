"""Gold's business rules as pure ``DataFrame -> DataFrame`` transforms, and the layout of the Gold tables.

Inputs are Silver-shaped frames (the contract's columns; the metadata columns are ignored), so every rule can be
tested on a few hand-made rows without a catalog. Days are UTC calendar days whatever the session time zone.

Definitions
    *Order* (``gold.fct_orders``): one row per ``order_id``. Should Silver hold several ``order_placed`` events for
    one order (distinct event ids), the first placed wins (earliest ``occurred_at``, then smallest ``event_id``).
    ``line_count``, ``units`` (sum of quantities) and ``lines_total`` (sum of ``line_total``) come from its lines.

    *Payment status*: the status of the order's latest ``payment_processed`` event by ``occurred_at``; on a tie, the
    later step of a payment's life wins (DECLINED < AUTHORISED < REFUNDED), then the greater ``event_id``. ``PENDING``
    when the order has no payment event. ``paid_at`` is the earliest AUTHORISED event's time (kept after a refund);
    ``refunded`` is true when any REFUNDED event exists. So: declined then authorised -> AUTHORISED; authorised then
    refunded -> REFUNDED; declined only -> DECLINED.

    *Revenue* (``gold.agg_revenue_daily``), per order day x product category x currency: ``revenue``, ``units`` and
    ``orders`` count only the lines of orders whose payment status is AUTHORISED -- paid and not refunded. Pending,
    declined-only and refunded orders add nothing; an order declined and then authorised counts in full. The
    ``placed_*`` and ``gross_revenue`` columns count the lines of every placed order whatever its payment. The day is
    the order's day (its ``occurred_at``), not the payment's. The category is the product's in the reference data
    (its latest version, ``'unknown'`` when the product is missing). ``orders`` counts an order once in each
    category it has lines in, so orders do not add up across categories; revenue does.

    *Funnel* (``gold.agg_funnel_daily``), per UTC day: ``sessions`` = distinct sessions with a page view that day;
    ``carts`` = distinct sessions with an ADD cart update that day; ``orders`` = distinct sessions with an order
    placed that day; ``paid`` = distinct sessions with an order placed that day whose payment status is AUTHORISED.
    Ratios: ``cart_rate`` = carts / sessions, ``order_rate`` = orders / carts, ``payment_rate`` = paid / orders,
    ``conversion_rate`` = paid / sessions; null when the denominator is 0. Each stage counts the sessions that did
    that step on that day, so a session that crosses midnight counts on each day for the steps it took there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dp_spark_jobs.gold.progress import day_ranges

AUTHORISED, DECLINED, REFUNDED = "AUTHORISED", "DECLINED", "REFUNDED"
PENDING = "PENDING"
UNKNOWN_CATEGORY = "unknown"
MONEY = "decimal(18,2)"
MICROS_PER_DAY = 86_400_000_000
#: which of two payment events at the same instant is the later step of a payment's life
STATUS_STEP = {DECLINED: 1, AUTHORISED: 2, REFUNDED: 3}


# ------------------------------------------------------------------------------------------------- table layouts


class GoldColumn(NamedTuple):
    """One column: its name, its Spark SQL type and its comment."""

    name: str
    sql_type: str
    comment: str


@dataclass(frozen=True)
class GoldTable:
    """A Gold table: its columns in order, and the date column it is partitioned by (``days(<day_column>)``)."""

    name: str
    day_column: str
    columns: tuple[GoldColumn, ...]
    comment: str

    def create_sql(self, identifier: str, properties: dict[str, str] | None = None) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for the table under ``identifier`` (``catalog.namespace.name``)."""
        columns = ",\n  ".join(f"{c.name} {c.sql_type} COMMENT {_quote(c.comment)}" for c in self.columns)
        props = {"format-version": "2", **(properties or {})}
        options = ", ".join(f"{_quote(k)} = {_quote(v)}" for k, v in props.items())
        return (
            f"CREATE TABLE IF NOT EXISTS {identifier} (\n  {columns}\n) USING iceberg\n"
            f"PARTITIONED BY (days({self.day_column}))\nCOMMENT {_quote(self.comment)}\nTBLPROPERTIES ({options})"
        )

    def conform(self, frame: DataFrame) -> DataFrame:
        """Exactly the table's columns, in order, with its types."""
        return frame.select(*(F.col(c.name).cast(c.sql_type).alias(c.name) for c in self.columns))


def _columns(table: str) -> tuple[GoldColumn, ...]:
    """Columns written as a text table, one a line: name, type (``money`` for :data:`MONEY`), comment."""
    rows = (line.split(maxsplit=2) for line in table.strip().splitlines())
    return tuple(GoldColumn(name, MONEY if kind == "money" else kind, comment) for name, kind, comment in rows)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


FCT_ORDERS = GoldTable(
    name="fct_orders",
    day_column="order_date",
    comment="One row per order: its amounts, its lines summed up and the outcome of its payments",
    columns=_columns(
        """
        order_id          string         The order; one row each
        customer_id       string         Customer who placed the order
        session_id        string         Browser session the order was placed in
        occurred_at       timestamp      When the order was placed (UTC)
        order_date        date           UTC day of occurred_at; the partition
        currency          string         ISO 4217 currency of every amount
        shipping_country  string         ISO 3166-1 alpha-2 country the order ships to
        line_count        int            Number of order lines
        units             bigint         Sum of the lines quantities
        lines_total       money          Sum of the lines line_total
        subtotal          decimal(12,2)  Subtotal as placed
        shipping          decimal(12,2)  Shipping cost as placed
        tax               decimal(12,2)  Tax as placed
        total             decimal(12,2)  Amount to pay as placed
        payment_status    string         Status of the latest payment event; PENDING without one
        paid_at           timestamp      When the order was first AUTHORISED (UTC); null if never
        refunded          boolean        Whether any payment of the order was REFUNDED
        """
    ),
)

AGG_REVENUE_DAILY = GoldTable(
    name="agg_revenue_daily",
    day_column="order_date",
    comment="Revenue per order day, product category and currency: paid orders (status AUTHORISED) and all placed",
    columns=_columns(
        """
        order_date     date    UTC day the orders were placed; the partition
        category       string  Product category from the reference data; unknown when missing
        currency       string  ISO 4217 currency of the amounts
        orders         bigint  Orders with status AUTHORISED having a line in the category
        units          bigint  Units in those orders lines of the category
        revenue        money   Sum of line_total of those lines
        placed_orders  bigint  Placed orders having a line in the category, any payment status
        placed_units   bigint  Units in the placed orders lines of the category
        gross_revenue  money   Sum of line_total of the placed orders lines of the category
        """
    ),
)

AGG_FUNNEL_DAILY = GoldTable(
    name="agg_funnel_daily",
    day_column="event_date",
    comment="Sessions per UTC day at each step: viewed, added to cart, ordered, paid",
    columns=_columns(
        """
        event_date       date    UTC day of the events; the partition
        sessions         bigint  Distinct sessions with a page view
        carts            bigint  Distinct sessions with an ADD cart update
        orders           bigint  Distinct sessions with an order placed
        paid             bigint  Distinct sessions with an order placed whose payment status is AUTHORISED
        cart_rate        double  carts / sessions; null when sessions is 0
        order_rate       double  orders / carts; null when carts is 0
        payment_rate     double  paid / orders; null when orders is 0
        conversion_rate  double  paid / sessions; null when sessions is 0
        """
    ),
)

GOLD_TABLES: tuple[GoldTable, ...] = (FCT_ORDERS, AGG_REVENUE_DAILY, AGG_FUNNEL_DAILY)


# ---------------------------------------------------------------------------------------------------- day helpers


def utc_date(column: str | Column) -> Column:
    """The UTC calendar day of a timestamp, whatever ``spark.sql.session.timeZone`` says."""
    micros = F.unix_micros(F.col(column) if isinstance(column, str) else column)
    return F.date_from_unix_date(F.floor(micros / F.lit(MICROS_PER_DAY)).cast("int"))


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def in_days(column: str, days: Iterable[dt.date]) -> Column:
    """``column`` (a timestamp) falls on one of ``days`` (UTC), as timestamp ranges Iceberg can prune files with."""
    condition: Column | None = None
    for first, last in day_ranges(days):
        part = (F.col(column) >= F.lit(_start_of(first))) & (F.col(column) < F.lit(_start_of(last) + dt.timedelta(1)))
        condition = part if condition is None else condition | part
    return condition if condition is not None else F.lit(False)


# -------------------------------------------------------------------------------------------------------- orders


def first_placed(orders: DataFrame) -> DataFrame:
    """One ``order_placed`` event per ``order_id``: the earliest, then the smallest ``event_id``."""
    window = Window.partitionBy("order_id").orderBy(F.col("occurred_at").asc(), F.col("event_id").asc())
    return orders.withColumn("_n", F.row_number().over(window)).where(F.col("_n") == 1).drop("_n")


def payment_outcomes(payments: DataFrame) -> DataFrame:
    """Per ``order_id``: ``payment_status`` (latest event), ``paid_at`` (first AUTHORISED), ``refunded``."""
    step = F.coalesce(
        F.when(F.col("status") == DECLINED, F.lit(STATUS_STEP[DECLINED]))
        .when(F.col("status") == AUTHORISED, F.lit(STATUS_STEP[AUTHORISED]))
        .when(F.col("status") == REFUNDED, F.lit(STATUS_STEP[REFUNDED])),
        F.lit(0),
    )
    latest = F.max(F.struct(F.col("occurred_at"), step.alias("step"), F.col("event_id"), F.col("status")))
    return payments.groupBy("order_id").agg(
        latest.getField("status").alias("payment_status"),
        F.min(F.when(F.col("status") == AUTHORISED, F.col("occurred_at"))).alias("paid_at"),
        F.max(F.col("status") == REFUNDED).alias("refunded"),
    )


def order_facts(orders: DataFrame, payments: DataFrame) -> DataFrame:
    """``fct_orders`` rows, plus the order's ``lines`` (for revenue): one row per order in ``orders``.

    Args:
        orders: ``order_placed`` events; every event of an order must be present for the first-placed rule.
        payments: ``payment_processed`` events; every event of an order must be present for its status.
    """
    lines = F.col("lines")
    units = F.aggregate(lines, F.lit(0).cast("bigint"), lambda acc, line: acc + F.coalesce(line["quantity"], F.lit(0)))
    total = F.aggregate(
        lines, F.lit(0).cast(MONEY), lambda acc, line: (acc + F.coalesce(line["line_total"], F.lit(0))).cast(MONEY)
    )
    joined = first_placed(orders).join(payment_outcomes(payments), on="order_id", how="left")
    return joined.select(
        "order_id",
        "customer_id",
        "session_id",
        "occurred_at",
        utc_date("occurred_at").alias("order_date"),
        "currency",
        "shipping_country",
        F.when(lines.isNull(), F.lit(0)).otherwise(F.size(lines)).alias("line_count"),
        F.coalesce(units, F.lit(0).cast("bigint")).alias("units"),
        F.coalesce(total, F.lit(0).cast(MONEY)).alias("lines_total"),
        "subtotal",
        "shipping",
        "tax",
        "total",
        F.coalesce(F.col("payment_status"), F.lit(PENDING)).alias("payment_status"),
        "paid_at",
        F.coalesce(F.col("refunded"), F.lit(False)).alias("refunded"),
        "lines",
    )


def fct_orders(facts: DataFrame) -> DataFrame:
    """The ``gold.fct_orders`` rows of :func:`order_facts`."""
    return FCT_ORDERS.conform(facts)


# ------------------------------------------------------------------------------------------------------- revenue


def latest_products(products: DataFrame) -> DataFrame:
    """One row per ``product_id`` (the latest ``updated_at``): Silver already keeps one, this makes sure of it."""
    window = Window.partitionBy("product_id").orderBy(F.col("updated_at").desc(), F.col("category").asc())
    return products.withColumn("_n", F.row_number().over(window)).where(F.col("_n") == 1).drop("_n")


def revenue_daily(facts: DataFrame, products: DataFrame) -> DataFrame:
    """``gold.agg_revenue_daily`` from :func:`order_facts` rows and the product reference data."""
    line = F.explode("lines").alias("line")
    order_lines = facts.select("order_id", "order_date", "currency", "payment_status", line).select(
        "order_id",
        "order_date",
        "currency",
        (F.col("payment_status") == AUTHORISED).alias("_paid"),
        F.col("line.product_id").alias("product_id"),
        F.col("line.quantity").cast("bigint").alias("quantity"),
        F.col("line.line_total").alias("line_total"),
    )
    categories = latest_products(products).select("product_id", F.col("category").alias("_category"))
    paid = F.col("_paid")
    zero_money = F.lit(0).cast(MONEY)
    result = (
        order_lines.join(categories, on="product_id", how="left")
        .withColumn("category", F.coalesce(F.col("_category"), F.lit(UNKNOWN_CATEGORY)))
        .groupBy("order_date", "category", "currency")
        .agg(
            F.count_distinct(F.when(paid, F.col("order_id"))).alias("orders"),
            F.sum(F.when(paid, F.col("quantity")).otherwise(F.lit(0))).alias("units"),
            F.coalesce(F.sum(F.when(paid, F.col("line_total")).otherwise(zero_money)), zero_money).alias("revenue"),
            F.count_distinct(F.col("order_id")).alias("placed_orders"),
            F.sum(F.coalesce(F.col("quantity"), F.lit(0))).alias("placed_units"),
            F.coalesce(F.sum(F.col("line_total")), zero_money).alias("gross_revenue"),
        )
    )
    return AGG_REVENUE_DAILY.conform(result)


# -------------------------------------------------------------------------------------------------------- funnel


def funnel_daily(page_views: DataFrame, cart_updates: DataFrame, facts: DataFrame) -> DataFrame:
    """``gold.agg_funnel_daily`` from page views, cart updates and :func:`order_facts` rows."""
    sessions = (
        page_views.select(utc_date("occurred_at").alias("event_date"), "session_id")
        .groupBy("event_date")
        .agg(F.count_distinct("session_id").alias("sessions"))
    )
    carts = (
        cart_updates.where(F.col("action") == "ADD")
        .select(utc_date("occurred_at").alias("event_date"), "session_id")
        .groupBy("event_date")
        .agg(F.count_distinct("session_id").alias("carts"))
    )
    orders = (
        facts.select(F.col("order_date").alias("event_date"), "session_id", "payment_status")
        .groupBy("event_date")
        .agg(
            F.count_distinct("session_id").alias("orders"),
            F.count_distinct(F.when(F.col("payment_status") == AUTHORISED, F.col("session_id"))).alias("paid"),
        )
    )
    counts = sessions.join(carts, on="event_date", how="full").join(orders, on="event_date", how="full")
    counts = counts.select(
        "event_date",
        *(F.coalesce(F.col(c), F.lit(0).cast("bigint")).alias(c) for c in ("sessions", "carts", "orders", "paid")),
    )
    rates = {
        "cart_rate": ("carts", "sessions"),
        "order_rate": ("orders", "carts"),
        "payment_rate": ("paid", "orders"),
        "conversion_rate": ("paid", "sessions"),
    }
    for name, (numerator, denominator) in rates.items():
        ratio = F.col(numerator).cast("double") / F.col(denominator).cast("double")
        counts = counts.withColumn(name, F.when(F.col(denominator) > 0, ratio))
    return AGG_FUNNEL_DAILY.conform(counts)


__all__ = [
    "AGG_FUNNEL_DAILY",
    "AGG_REVENUE_DAILY",
    "AUTHORISED",
    "DECLINED",
    "FCT_ORDERS",
    "GOLD_TABLES",
    "MONEY",
    "PENDING",
    "REFUNDED",
    "UNKNOWN_CATEGORY",
    "GoldColumn",
    "GoldTable",
    "fct_orders",
    "first_placed",
    "funnel_daily",
    "in_days",
    "latest_products",
    "order_facts",
    "payment_outcomes",
    "revenue_daily",
    "utc_date",
]
