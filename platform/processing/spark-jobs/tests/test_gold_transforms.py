"""Gold's transforms on small hand-made Silver frames: order totals, payment status, revenue, funnel, day filters.

Spark runs locally (no catalog is touched), but the session is the platform's and needs the fetched jars.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_core.config import LoadedConfig
from dp_spark_jobs.gold import transforms
from dp_spark_jobs.gold.job import silver_struct

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
CONTRACTS = load_contracts(contracts_dir(REPO))
D = dt.date(2026, 11, 25)
_ids = itertools.count(1)


def at(day: dt.date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second, micro), tzinfo=dt.UTC)


def micros(when: dt.datetime) -> int:
    return (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def eid() -> str:
    return f"00000000-0000-4000-8000-{next(_ids):012d}"


@pytest.fixture(scope="module")
def config(platform_config: LoadedConfig) -> LoadedConfig:
    """The session's configuration: the platform's as it is, without the local stack (no catalog is touched)."""
    return platform_config


def silver(spark: SparkSession, contract: str, rows: list[dict[str, Any]]) -> DataFrame:
    """A Silver-shaped frame: every column of the contract and the metadata, unset ones null."""
    schema = silver_struct(find_contract(CONTRACTS, contract))
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema.fields) for r in rows], schema)


def line(n: int, product: str, quantity: int, price: str) -> dict[str, Any]:
    return {
        "line_number": n,
        "product_id": product,
        "quantity": quantity,
        "unit_price": Decimal(price),
        "line_total": Decimal(price) * quantity,
    }


def order(
    order_id: str,
    when: dt.datetime,
    lines: list[dict[str, Any]],
    *,
    session: str = "s1",
    currency: str = "EUR",
    event_id: str | None = None,
) -> dict[str, Any]:
    subtotal = sum((ln["line_total"] for ln in lines), Decimal("0.00"))
    return {
        "event_id": event_id or eid(),
        "order_id": order_id,
        "session_id": session,
        "customer_id": "C1",
        "lines": lines,
        "subtotal": subtotal,
        "shipping": Decimal("4.90"),
        "tax": Decimal("1.00"),
        "total": subtotal + Decimal("5.90"),
        "currency": currency,
        "shipping_country": "DE",
        "attributes": {},
        "occurred_at": when,
        "_batch_id": 1,
    }


def payment(order_id: str, status: str, when: dt.datetime, event_id: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id or eid(),
        "payment_id": f"pay-{order_id}",
        "order_id": order_id,
        "status": status,
        "method": "CARD",
        "amount": Decimal("1.00"),
        "currency": "EUR",
        "occurred_at": when,
        "_batch_id": 1,
    }


def product(product_id: str, category: str, updated: dt.datetime) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "name": product_id,
        "category": category,
        "price": Decimal("1.00"),
        "currency": "EUR",
        "active": True,
        "updated_at": updated,
        "_batch_id": 1,
    }


def view(session: str, when: dt.datetime) -> dict[str, Any]:
    return {
        "event_id": eid(),
        "session_id": session,
        "page_type": "HOME",
        "url": "/",
        "device": "DESKTOP",
        "occurred_at": when,
        "_batch_id": 1,
    }


def cart(session: str, action: str, when: dt.datetime) -> dict[str, Any]:
    return {
        "event_id": eid(),
        "session_id": session,
        "action": action,
        "product_id": "P1",
        "quantity": 1,
        "unit_price": Decimal("1.00"),
        "currency": "EUR",
        "occurred_at": when,
        "_batch_id": 1,
    }


def facts_of(spark: SparkSession, orders: list[dict[str, Any]], payments: list[dict[str, Any]]) -> DataFrame:
    return transforms.order_facts(silver(spark, "order_placed", orders), silver(spark, "payment_processed", payments))


def assert_layout(frame: DataFrame, table: transforms.GoldTable) -> None:
    """The frame has exactly the table's columns, in order, with its types."""
    layout = [(c.name, c.sql_type) for c in table.columns]
    assert [(f.name, f.dataType.simpleString()) for f in frame.schema.fields] == layout


def by_order(frame: DataFrame) -> dict[str, dict[str, Any]]:
    rows = frame.withColumn("occurred_at", F.unix_micros("occurred_at")).withColumn("paid_at", F.unix_micros("paid_at"))
    return {r["order_id"]: r.asDict() for r in rows.collect()}


def test_order_totals_sum_the_lines_and_the_day_is_utc_whatever_the_session_zone(spark: SparkSession) -> None:
    late_evening = at(D, 23, 30, 5, 7)
    lines = [line(1, "P1", 2, "10.00"), line(2, "P2", 1, "5.55"), line(3, "P3", 3, "0.15")]
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")  # already the 26th there
    try:
        rows = by_order(
            transforms.fct_orders(facts_of(spark, [order("o1", late_evening, lines), order("o2", at(D, 1), [])], []))
        )
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone or "UTC")
    assert rows["o1"] == {
        "order_id": "o1",
        "customer_id": "C1",
        "session_id": "s1",
        "occurred_at": micros(late_evening),
        "order_date": D,
        "currency": "EUR",
        "shipping_country": "DE",
        "line_count": 3,
        "units": 6,
        "lines_total": Decimal("26.00"),
        "subtotal": Decimal("26.00"),
        "shipping": Decimal("4.90"),
        "tax": Decimal("1.00"),
        "total": Decimal("31.90"),
        "payment_status": "PENDING",
        "paid_at": None,
        "refunded": False,
    }
    assert (rows["o2"]["line_count"], rows["o2"]["units"], rows["o2"]["lines_total"]) == (0, 0, Decimal("0.00"))


def test_fct_orders_has_exactly_the_table_columns(spark: SparkSession) -> None:
    frame = transforms.fct_orders(facts_of(spark, [order("o1", at(D, 9), [line(1, "P1", 1, "1.00")])], []))
    assert_layout(frame, transforms.FCT_ORDERS)


def test_payment_status_is_the_latest_event_with_declines_retries_and_refunds(spark: SparkSession) -> None:
    t = at(D, 10)
    minute = dt.timedelta(minutes=1)
    orders = [order(o, t, [line(1, "P1", 1, "1.00")]) for o in ("pending", "declined", "retried", "refunded")]
    orders += [order(o, t, [line(1, "P1", 1, "1.00")]) for o in ("same_instant_refund", "same_instant_retry")]
    payments = [
        payment("declined", "DECLINED", t + minute),
        # listed out of order on purpose: event time decides, not arrival
        payment("retried", "AUTHORISED", t + 3 * minute),
        payment("retried", "DECLINED", t + minute),
        payment("refunded", "AUTHORISED", t + minute),
        payment("refunded", "REFUNDED", t + 90 * minute),
        payment("same_instant_refund", "REFUNDED", t + minute, event_id=f"{'0' * 35}1"),
        payment("same_instant_refund", "AUTHORISED", t + minute, event_id=f"{'f' * 35}f"),
        payment("same_instant_retry", "AUTHORISED", t + minute, event_id=f"{'0' * 35}1"),
        payment("same_instant_retry", "DECLINED", t + minute, event_id=f"{'f' * 35}f"),
        payment("no_such_order", "AUTHORISED", t),
    ]
    rows = by_order(facts_of(spark, orders, payments))
    outcome = {k: (v["payment_status"], v["paid_at"], v["refunded"]) for k, v in rows.items()}
    assert outcome == {
        "pending": ("PENDING", None, False),
        "declined": ("DECLINED", None, False),
        "retried": ("AUTHORISED", micros(t + 3 * minute), False),
        "refunded": ("REFUNDED", micros(t + minute), True),
        "same_instant_refund": ("REFUNDED", micros(t + minute), True),
        "same_instant_retry": ("AUTHORISED", micros(t + minute), False),
    }


def test_an_order_placed_twice_is_one_row_the_first_placed(spark: SparkSession) -> None:
    first = order("o1", at(D, 23, 59), [line(1, "P1", 1, "1.00")], event_id=eid())
    again = order("o1", at(D + dt.timedelta(days=1), 0, 1), [line(1, "P1", 2, "1.00")], event_id=eid())
    rows = by_order(facts_of(spark, [again, first], [payment("o1", "AUTHORISED", at(D + dt.timedelta(days=1), 1))]))
    assert list(rows) == ["o1"]
    assert (rows["o1"]["order_date"], rows["o1"]["units"], rows["o1"]["payment_status"]) == (D, 1, "AUTHORISED")


def test_revenue_counts_authorised_orders_by_category_and_currency_and_gross_counts_all(spark: SparkSession) -> None:
    t, next_day = at(D, 12), at(D + dt.timedelta(days=1), 12)
    later = dt.timedelta(minutes=5)
    products = [
        product("P1", "shoes", at(D, 0)),
        product("P2", "shoes", at(D, 0)),
        product("P3", "caps", at(D, 0)),
        product("P3", "hats", at(D, 1)),  # a newer version: P3 is a hat now
    ]
    orders = [
        order("paid", t, [line(1, "P1", 2, "10.00"), line(2, "P3", 1, "7.25")]),
        order("refunded", t, [line(1, "P1", 1, "10.00")]),
        order("declined", t, [line(1, "P2", 3, "3.33")]),
        order("retried", t, [line(1, "P1", 1, "8.10"), line(2, "P404", 2, "1.05")], currency="GBP"),
        order("pending", t, [line(1, "P3", 1, "7.25")]),
        order("paid_too", t, [line(1, "P2", 1, "3.33"), line(2, "P1", 1, "10.00")]),
        order("next_day", next_day, [line(1, "P1", 1, "10.00")]),
    ]
    payments = [
        payment("paid", "AUTHORISED", t + later),
        payment("refunded", "AUTHORISED", t + later),
        payment("refunded", "REFUNDED", t + 2 * later),
        payment("declined", "DECLINED", t + later),
        payment("retried", "DECLINED", t + later),
        payment("retried", "AUTHORISED", t + 2 * later),
        payment("paid_too", "AUTHORISED", t + later),
        payment("next_day", "AUTHORISED", next_day + later),
    ]
    frame = transforms.revenue_daily(facts_of(spark, orders, payments), silver(spark, "product", products))
    assert_layout(frame, transforms.AGG_REVENUE_DAILY)
    got = {(r[0], r[1], r[2]): tuple(r[3:]) for r in frame.collect()}
    money = Decimal
    assert got == {
        # day, category, currency: orders, units, revenue | placed_orders, placed_units, gross_revenue
        (D, "shoes", "EUR"): (2, 4, money("33.33"), 4, 8, money("53.32")),
        (D, "hats", "EUR"): (1, 1, money("7.25"), 2, 2, money("14.50")),
        (D, "shoes", "GBP"): (1, 1, money("8.10"), 1, 1, money("8.10")),
        (D, "unknown", "GBP"): (1, 2, money("2.10"), 1, 2, money("2.10")),
        (D + dt.timedelta(days=1), "shoes", "EUR"): (1, 1, money("10.00"), 1, 1, money("10.00")),
    }


def test_funnel_counts_distinct_sessions_per_step_and_day(spark: SparkSession) -> None:
    d2, d3 = D + dt.timedelta(days=1), D + dt.timedelta(days=2)
    views = [view("s1", at(D, 9)), view("s1", at(D, 9, 5)), view("s2", at(D, 10)), view("s3", at(D, 11))]
    views += [view("s4", at(D, 23, 59, 59, 999999)), view("s6", at(d3, 8))]
    carts = [cart("s1", "ADD", at(D, 9, 1)), cart("s1", "ADD", at(D, 9, 2)), cart("s2", "ADD", at(D, 10, 1))]
    carts += [cart("s2", "REMOVE", at(D, 10, 2)), cart("s3", "REMOVE", at(D, 11, 1)), cart("s5", "ADD", at(d2, 0, 1))]
    orders = [
        order("o1", at(D, 9, 10), [line(1, "P1", 1, "1.00")], session="s1"),
        order("o1b", at(D, 9, 20), [line(1, "P1", 1, "1.00")], session="s1"),
        order("o2", at(D, 10, 10), [line(1, "P1", 1, "1.00")], session="s2"),
        order("o5", at(d2, 0, 5), [line(1, "P1", 1, "1.00")], session="s5"),
    ]
    payments = [
        payment("o1", "DECLINED", at(D, 9, 11)),
        payment("o1b", "AUTHORISED", at(D, 9, 21)),
        payment("o2", "AUTHORISED", at(D, 10, 11)),
        payment("o2", "REFUNDED", at(D, 12)),
    ]
    frame = transforms.funnel_daily(
        silver(spark, "page_view", views), silver(spark, "cart_updated", carts), facts_of(spark, orders, payments)
    )
    assert_layout(frame, transforms.AGG_FUNNEL_DAILY)
    got = {r["event_date"]: tuple(r)[1:] for r in frame.collect()}
    assert got == {
        # sessions, carts, orders, paid, cart_rate, order_rate, payment_rate, conversion_rate
        D: (4, 2, 2, 1, 2 / 4, 2 / 2, 1 / 2, 1 / 4),
        d2: (0, 1, 1, 0, None, 1 / 1, 0 / 1, None),
        d3: (1, 0, 0, 0, 0 / 1, None, None, 0 / 1),
    }


def test_day_filters_cut_at_utc_midnight(spark: SparkSession) -> None:
    d2 = D + dt.timedelta(days=1)
    times = [at(D, 0), at(D, 23, 59, 59, 999999), at(d2, 0), at(d2 + dt.timedelta(days=1), 0)]
    frame = silver(spark, "page_view", [view("s", t) for t in times])
    kept = frame.where(transforms.in_days("occurred_at", {D})).select(F.unix_micros("occurred_at")).collect()
    assert sorted(r[0] for r in kept) == [micros(times[0]), micros(times[1])]
    both = frame.where(transforms.in_days("occurred_at", {D, d2})).count()
    assert both == 3
    assert frame.where(transforms.in_days("occurred_at", set())).count() == 0
    days = frame.select(transforms.utc_date("occurred_at").alias("d")).collect()
    assert sorted(r.d for r in days) == [D, D, d2, d2 + dt.timedelta(days=1)]
