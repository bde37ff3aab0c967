"""etl_gold on the real catalog: Silver tables written here batch by batch, Gold checked against plain Python.

One story, step by step (each step builds on the last): an empty Silver commits nothing; the first batch (two
days) writes exact rows; a rerun commits nothing and repairs a stale property; a batch with a new day and one late
order on an old day recomputes exactly those two days and leaves the other partition's files alone; a refund
arriving a day later rewrites its order's day only, also after a crash between two tables; a backfill recomputes
its range to the same values.

Then a run SIGKILLed twice mid-way -- once between a table's commit and the copy of its properties, once while a
table's data files are being written -- and rerun ends exactly where one uninterrupted run over the same Silver ends.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyspark.sql import SparkSession
from pyspark.sql.functions import partitioning

from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_core.config import LoadedConfig
from dp_spark_jobs.gold import job as gold
from dp_spark_jobs.gold.progress import BATCH_IDS_KEY, DAYS_KEY, format_watermark
from dp_spark_jobs.gold.transforms import AGG_FUNNEL_DAILY, AGG_REVENUE_DAILY, FCT_ORDERS, GOLD_TABLES
from dp_spark_jobs.summary import TableRun
from dp_spark_jobs.tables import SILVER_BATCH_KEY, WATERMARK_KEY, gold_table, silver_table

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
CONTRACTS = load_contracts(contracts_dir(REPO))
EVENTS = ("page_view", "cart_updated", "order_placed", "payment_processed")
D1, D2, D3, D4 = (dt.date(2026, 11, 20) + dt.timedelta(days=n) for n in range(4))
LATENESS = dt.timedelta(hours=1)
CENT = Decimal("0.01")
#: product -> (category, price); SKU-404 is ordered but missing from the reference data
PRODUCTS = {
    "SKU-1": ("shoes", Decimal("59.90")),
    "SKU-2": ("shoes", Decimal("89.00")),
    "SKU-3": ("hats", Decimal("19.99")),
    "SKU-4": ("bags", Decimal("120.00")),
}
MISSING_PRODUCT = ("SKU-404", Decimal("9.99"))
STEP = {"DECLINED": 1, "AUTHORISED": 2, "REFUNDED": 3}
#: the factories of conftest.py: layer -> namespace to a configuration; (catalog, table) to a data folder listing
Namespaced = Callable[[Mapping[str, str]], LoadedConfig]
Listing = Callable[[], set[str]]
DataFiles = Callable[[Catalog, str], Listing]


# ------------------------------------------------------------------------------------------------- the shop data


@dataclass
class Shop:
    """Silver rows by contract, made up from a seed: whole sessions within one UTC day each."""

    rng: random.Random
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    offset: int = 0

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add(self, contract: str, row: dict[str, Any]) -> dict[str, Any]:
        self.rows[contract].append(row)
        return row

    def day(self, day: dt.date, sessions: int) -> dict[str, list[dict[str, Any]]]:
        """The events of ``sessions`` sessions on ``day``; returns them by contract."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for n in range(sessions):
            for contract, row in self.session(f"S-{day:%m%d}-{n:03d}", day):
                out[contract].append(self.add(contract, row))
        return out

    def session(self, session_id: str, day: dt.date) -> Iterator[tuple[str, dict[str, Any]]]:
        rng = self.rng
        now = dt.datetime.combine(day, dt.time(0, 30), tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(19 * 60))
        currency, customer = rng.choice(["EUR", "GBP"]), f"C{rng.randrange(1, 40):04d}"
        for _ in range(rng.randint(1, 3)):
            now += dt.timedelta(seconds=rng.randint(5, 90))
            yield "page_view", self.page_view(session_id, now)
        if rng.random() < 0.35:
            return
        cart: dict[str, tuple[int, Decimal]] = {}
        for _ in range(rng.randint(1, 3)):
            name = MISSING_PRODUCT[0] if rng.random() < 0.1 else rng.choice(sorted(PRODUCTS))
            price = PRODUCTS[name][1] if name in PRODUCTS else MISSING_PRODUCT[1]
            quantity = rng.randint(1, 3)
            now += dt.timedelta(seconds=rng.randint(5, 90))
            cart[name] = (quantity, price)
            yield "cart_updated", self.cart(session_id, "ADD", name, quantity, price, currency, now)
        if len(cart) > 1 and rng.random() < 0.2:
            name = rng.choice(sorted(cart))
            quantity, price = cart.pop(name)
            now += dt.timedelta(seconds=rng.randint(5, 90))
            yield "cart_updated", self.cart(session_id, "REMOVE", name, quantity, price, currency, now)
        if rng.random() < 0.3:
            return
        now += dt.timedelta(seconds=rng.randint(5, 300))
        placed = self.order(session_id, customer, cart, currency, now)
        yield "order_placed", placed
        pattern = rng.choice(["none", "A", "A", "A", "A", "D", "DA", "DA", "AR"])
        for status in pattern if pattern != "none" else "":
            now += dt.timedelta(minutes=rng.randint(1, 5) if status != "R" else rng.randint(10, 120))
            full = {"A": "AUTHORISED", "D": "DECLINED", "R": "REFUNDED"}[status]
            yield "payment_processed", self.payment(placed, full, now)

    def page_view(self, session_id: str, now: dt.datetime) -> dict[str, Any]:
        page = self.rng.choice(["HOME", "CATEGORY", "PRODUCT", "SEARCH"])
        return {
            "event_id": self.uuid(),
            "session_id": session_id,
            "customer_id": None,
            "page_type": page,
            "url": f"/{page.lower()}",
            "device": "MOBILE",
            "occurred_at": now,
        }

    def cart(
        self, session_id: str, action: str, product: str, quantity: int, price: Decimal, currency: str, now: dt.datetime
    ) -> dict[str, Any]:
        return {
            "event_id": self.uuid(),
            "session_id": session_id,
            "action": action,
            "product_id": product,
            "quantity": quantity,
            "unit_price": price,
            "currency": currency,
            "occurred_at": now,
        }

    def order(
        self, session_id: str, customer: str, cart: dict[str, tuple[int, Decimal]], currency: str, now: dt.datetime
    ) -> dict[str, Any]:
        lines: list[dict[str, Any]] = [
            {"line_number": i, "product_id": p, "quantity": q, "unit_price": u, "line_total": u * q}
            for i, (p, (q, u)) in enumerate(sorted(cart.items()), start=1)
        ]
        subtotal = sum((u * q for q, u in cart.values()), Decimal("0.00"))
        shipping = Decimal("0.00") if subtotal >= 100 else Decimal("4.90")
        tax = ((subtotal + shipping) * Decimal("0.19")).quantize(CENT, ROUND_HALF_UP)
        return {
            "event_id": self.uuid(),
            "order_id": self.uuid(),
            "session_id": session_id,
            "customer_id": customer,
            "lines": lines,
            "subtotal": subtotal,
            "shipping": shipping,
            "tax": tax,
            "total": subtotal + shipping + tax,
            "currency": currency,
            "shipping_country": "DE",
            "attributes": {},
            "occurred_at": now,
        }

    def payment(self, placed: dict[str, Any], status: str, now: dt.datetime) -> dict[str, Any]:
        return {
            "event_id": self.uuid(),
            "payment_id": f"pay-{placed['order_id']}",
            "order_id": placed["order_id"],
            "status": status,
            "method": "CARD",
            "amount": placed["total"],
            "currency": placed["currency"],
            "decline_reason": "insufficient_funds" if status == "DECLINED" else None,
            "occurred_at": now,
        }


def products() -> list[dict[str, Any]]:
    updated = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return [
        {
            "product_id": p,
            "name": p,
            "category": c,
            "price": u,
            "currency": "EUR",
            "active": True,
            "updated_at": updated,
        }
        for p, (c, u) in PRODUCTS.items()
    ]


# ------------------------------------------------------------------------------ the same numbers in plain Python


def expected_orders(rows: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    payments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in rows["payment_processed"]:
        payments[p["order_id"]].append(p)
    out: dict[str, dict[str, Any]] = {}
    for o in sorted(rows["order_placed"], key=lambda o: (o["occurred_at"], o["event_id"])):
        if o["order_id"] in out:
            continue
        mine = payments[o["order_id"]]
        latest = max(mine, key=lambda p: (p["occurred_at"], STEP[p["status"]], p["event_id"]), default=None)
        authorised = [p["occurred_at"] for p in mine if p["status"] == "AUTHORISED"]
        out[o["order_id"]] = {
            "order_id": o["order_id"],
            "customer_id": o["customer_id"],
            "session_id": o["session_id"],
            "occurred_at": o["occurred_at"],
            "order_date": o["occurred_at"].date(),
            "currency": o["currency"],
            "shipping_country": o["shipping_country"],
            "line_count": len(o["lines"]),
            "units": sum(ln["quantity"] for ln in o["lines"]),
            "lines_total": sum((ln["line_total"] for ln in o["lines"]), Decimal("0.00")),
            "subtotal": o["subtotal"],
            "shipping": o["shipping"],
            "tax": o["tax"],
            "total": o["total"],
            "payment_status": latest["status"] if latest else "PENDING",
            "paid_at": min(authorised, default=None),
            "refunded": any(p["status"] == "REFUNDED" for p in mine),
        }
    return out


def expected_revenue(rows: dict[str, list[dict[str, Any]]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    status = {k: v["payment_status"] for k, v in expected_orders(rows).items()}
    cells: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {"paid": set(), "units": 0, "revenue": Decimal("0.00"), "placed": set(), "pu": 0, "gross": Decimal(0)}
    )
    firsts = {
        o["order_id"]: o
        for o in sorted(rows["order_placed"], key=lambda o: (o["occurred_at"], o["event_id"]), reverse=True)
    }
    for o in firsts.values():
        for ln in o["lines"]:
            category = PRODUCTS.get(ln["product_id"], ("unknown",))[0]
            cell = cells[(o["occurred_at"].date(), category, o["currency"])]
            cell["placed"].add(o["order_id"])
            cell["pu"] += ln["quantity"]
            cell["gross"] += ln["line_total"]
            if status[o["order_id"]] == "AUTHORISED":
                cell["paid"].add(o["order_id"])
                cell["units"] += ln["quantity"]
                cell["revenue"] += ln["line_total"]
    return {
        k: (
            len(c["paid"]),
            c["units"],
            c["revenue"].quantize(CENT),
            len(c["placed"]),
            c["pu"],
            c["gross"].quantize(CENT),
        )
        for k, c in cells.items()
    }


def expected_funnel(rows: dict[str, list[dict[str, Any]]]) -> dict[dt.date, tuple[Any, ...]]:
    steps: dict[dt.date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for v in rows["page_view"]:
        steps[v["occurred_at"].date()]["sessions"].add(v["session_id"])
    for c in rows["cart_updated"]:
        if c["action"] == "ADD":
            steps[c["occurred_at"].date()]["carts"].add(c["session_id"])
    for o in expected_orders(rows).values():
        steps[o["order_date"]]["orders"].add(o["session_id"])
        if o["payment_status"] == "AUTHORISED":
            steps[o["order_date"]]["paid"].add(o["session_id"])

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    out = {}
    for day, s in steps.items():
        n = [len(s[k]) for k in ("sessions", "carts", "orders", "paid")]
        out[day] = (*n, ratio(n[1], n[0]), ratio(n[2], n[1]), ratio(n[3], n[2]), ratio(n[3], n[0]))
    return out


def expected_watermark(rows: dict[str, list[dict[str, Any]]], sources: tuple[str, ...]) -> dt.datetime:
    newest: list[dt.datetime] = [max(r["occurred_at"] for r in rows[s]) for s in sources]
    return min(newest) - LATENESS


# --------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def namespaces(run_id: str) -> dict[str, str]:
    return {"silver": f"it_{run_id}_gold_silver", "gold": f"it_{run_id}_gold"}


class Silver:
    """Appends rows to the Silver tables of the test namespace, as Silver's own batches would."""

    def __init__(self, spark: SparkSession, config: LoadedConfig) -> None:
        self.spark, self.config = spark, config
        self.offset = 0

    def name(self, contract: Contract) -> str:
        return f"{self.config.settings.iceberg.catalog.name}.{silver_table(self.config.settings, contract)}"

    def create(self) -> None:
        for name in (*EVENTS, "product"):
            contract = find_contract(CONTRACTS, name)
            empty = self.spark.createDataFrame([], gold.silver_struct(contract))
            writer = empty.writeTo(self.name(contract)).using("iceberg").tableProperty("format-version", "2")
            if contract.meta.kind == "event":
                writer = writer.partitionedBy(partitioning.days("occurred_at"))
            writer.create()

    def append(self, batch_id: int, rows: dict[str, list[dict[str, Any]]]) -> None:
        ingested = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
        for name, items in rows.items():
            if not items:
                continue
            contract = find_contract(CONTRACTS, name)
            schema = gold.silver_struct(contract)
            values = []
            for row in items:
                meta = {
                    "_source_topic": contract.topic,
                    "_source_partition": 0,
                    "_source_offset": self.offset,
                    "_schema_id": 1,
                    "_ingested_at": ingested,
                    "_batch_id": batch_id,
                }
                self.offset += 1
                full = row | meta
                values.append(tuple(full.get(f.name) for f in schema.fields))
            self.spark.createDataFrame(values, schema).writeTo(self.name(contract)).append()


def merged(*parts: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for part in parts:
        for name, rows in part.items():
            out[name].extend(rows)
    return out


def gold_rows(catalog: Catalog, config: LoadedConfig, name: str) -> list[dict[str, Any]]:
    return list(catalog.load_table(gold_table(config.settings, name)).scan().to_arrow().to_pylist())


def files_by_day(table: Table) -> dict[Any, set[str]]:
    out: dict[Any, set[str]] = defaultdict(set)
    for f in table.inspect.files().to_pylist():
        out[next(iter(f["partition"].values()))].add(f["file_path"])
    return dict(out)


def check_gold(catalog: Catalog, config: LoadedConfig, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Every Gold table equals the plain-Python computation over the same Silver rows."""
    facts = {r["order_id"]: r for r in gold_rows(catalog, config, FCT_ORDERS.name)}
    assert len(facts) == len(gold_rows(catalog, config, FCT_ORDERS.name))  # one row per order
    assert facts == expected_orders(rows)
    revenue = {
        (r["order_date"], r["category"], r["currency"]): tuple(r.values())[3:]
        for r in gold_rows(catalog, config, AGG_REVENUE_DAILY.name)
    }
    assert revenue == expected_revenue(rows)
    funnel = {r["event_date"]: tuple(r.values())[1:] for r in gold_rows(catalog, config, AGG_FUNNEL_DAILY.name)}
    assert funnel == expected_funnel(rows)


def by_table(runs: list[TableRun], config: LoadedConfig) -> dict[str, TableRun]:
    found = {r.table: r for r in runs}
    return {spec.name: found[gold_table(config.settings, spec.name)] for spec in GOLD_TABLES}


def check_progress(catalog: Catalog, config: LoadedConfig, rows: dict[str, list[dict[str, Any]]], batch: int) -> None:
    """Snapshot summary and table properties carry the batch id and the watermark."""
    for spec in GOLD_TABLES:
        table = catalog.load_table(gold_table(config.settings, spec.name))
        snapshot = table.current_snapshot()
        assert snapshot is not None and snapshot.summary is not None
        summary = snapshot.summary.additional_properties
        sources = gold.SOURCES[spec.name]
        mark = format_watermark(expected_watermark(rows, sources))
        assert summary[SILVER_BATCH_KEY] == str(batch), spec.name
        assert summary[WATERMARK_KEY] == mark, spec.name
        assert table.properties[WATERMARK_KEY] == mark, spec.name
        assert table.properties[SILVER_BATCH_KEY] == str(batch), spec.name
        folded = json.loads(summary[BATCH_IDS_KEY])
        assert set(folded) == {silver_table(config.settings, find_contract(CONTRACTS, s)) for s in sources}
        assert max(folded.values()) == batch


# ------------------------------------------------------------------------------------------------------ the test


def test_gold_is_incremental_exact_and_idempotent(spark: SparkSession, config: LoadedConfig, catalog: Catalog) -> None:
    silver = Silver(spark, config)

    # 0. No Silver at all: the Gold tables exist, partitioned by day, and nothing is committed.
    runs = by_table(gold.run(spark, config, allowed_lateness=LATENESS), config)
    assert all(r.snapshot_id is None for r in runs.values())
    for spec in GOLD_TABLES:
        table = catalog.load_table(gold_table(config.settings, spec.name))
        assert table.current_snapshot() is None
        (part,) = table.spec().fields
        assert isinstance(part.transform, DayTransform)
        assert table.schema().find_field(part.source_id).name == spec.day_column
        assert [f.name for f in table.schema().fields] == [c.name for c in spec.columns]

    # 1. The first batch: days D1 and D2, except one D1 order held back whose payment is already in.
    shop = Shop(random.Random(20261120))
    day1, day2 = shop.day(D1, 30), shop.day(D2, 30)
    held_id = next(k for k, o in expected_orders(day1).items() if o["payment_status"] == "AUTHORISED")
    held = next(o for o in day1["order_placed"] if o["order_id"] == held_id)
    batch1 = merged(day1, day2)
    batch1["order_placed"].remove(held)
    silver.create()
    silver.append(1001, batch1 | {"product": products()})
    runs = by_table(gold.run(spark, config, allowed_lateness=LATENESS), config)
    for spec in GOLD_TABLES:
        assert runs[spec.name].snapshot_id is not None
        assert runs[spec.name].details["days"] == [D1.isoformat(), D2.isoformat()]
    assert runs[FCT_ORDERS.name].rows_written == len(expected_orders(batch1))
    assert held["order_id"] not in expected_orders(batch1)
    check_gold(catalog, config, batch1)
    check_progress(catalog, config, batch1, 1001)

    # 2. Nothing new: nothing committed, and a property a crash left stale is repaired.
    fct = f"{config.settings.iceberg.catalog.name}.{gold_table(config.settings, FCT_ORDERS.name)}"
    spark.sql(f"ALTER TABLE {fct} SET TBLPROPERTIES ('{WATERMARK_KEY}' = 'stale')")
    before = {s.name: catalog.load_table(gold_table(config.settings, s.name)).current_snapshot() for s in GOLD_TABLES}
    runs = by_table(gold.run(spark, config, allowed_lateness=LATENESS), config)
    assert all(r.snapshot_id is None for r in runs.values())
    for spec in GOLD_TABLES:
        table = catalog.load_table(gold_table(config.settings, spec.name))
        assert table.current_snapshot() == before[spec.name]
    check_progress(catalog, config, batch1, 1001)

    # 3. A new day D3, and the held-back order arrives late on D1: exactly D1 and D3 are recomputed.
    files_before = {s.name: files_by_day(catalog.load_table(gold_table(config.settings, s.name))) for s in GOLD_TABLES}
    day3 = shop.day(D3, 30)
    batch2 = merged(day3, {"order_placed": [held]})
    silver.append(1002, batch2)
    everything = merged(batch1, batch2)
    runs = by_table(gold.run(spark, config, allowed_lateness=LATENESS), config)
    for spec in GOLD_TABLES:
        run = runs[spec.name]
        assert run.details["days"] == [D1.isoformat(), D3.isoformat()], spec.name
        table = catalog.load_table(gold_table(config.settings, spec.name))
        snapshot = table.current_snapshot()
        assert snapshot is not None and snapshot.snapshot_id == run.snapshot_id
        assert snapshot.summary is not None
        assert snapshot.summary.additional_properties[DAYS_KEY] == f"{D1.isoformat()},{D3.isoformat()}"
        assert snapshot.summary.additional_properties["changed-partition-count"] == "2"
        after = files_by_day(table)
        untouched = [day for day in files_before[spec.name] if day not in (D1, D3)]
        assert untouched, spec.name
        for day in untouched:  # the same data files, so the same rows
            assert after[day] == files_before[spec.name][day], (spec.name, day)
    assert expected_orders(everything)[held["order_id"]]["payment_status"] == "AUTHORISED"
    check_gold(catalog, config, everything)
    check_progress(catalog, config, everything, 1002)
    # the data exercises every rule: each payment outcome, a retry after a decline, a product missing from reference
    statuses = {o["payment_status"] for o in expected_orders(everything).values()}
    assert statuses == {"PENDING", "AUTHORISED", "DECLINED", "REFUNDED"}
    outcomes = defaultdict(list)
    for p in sorted(everything["payment_processed"], key=lambda p: p["occurred_at"]):
        outcomes[p["order_id"]].append(p["status"])
    assert ["DECLINED", "AUTHORISED"] in outcomes.values()
    assert any(category == "unknown" for _, category, _ in expected_revenue(everything))

    # 4. A refund for a D2 order, a day later (D4): the order's day is rewritten, not the refund's. First a run that
    #    "crashes" after fct_orders committed; the rerun leaves fct_orders alone and catches the other two up.
    paid = next(
        o for o in expected_orders(everything).values() if o["order_date"] == D2 and o["payment_status"] == "AUTHORISED"
    )
    refund_time = dt.datetime.combine(D4, dt.time(0, 30), tzinfo=dt.UTC)
    placed = next(o for o in everything["order_placed"] if o["order_id"] == paid["order_id"])
    refund = {"payment_processed": [shop.payment(placed, "REFUNDED", refund_time)]}
    silver.append(1003, refund)
    everything = merged(everything, refund)
    job = gold.GoldJob(spark, config.settings, catalog, CONTRACTS, LATENESS)
    job.ensure_tables()
    crashed = job.run_table(FCT_ORDERS, set())
    job.release()
    assert crashed.details["days"] == [D2.isoformat()]
    runs = by_table(gold.run(spark, config, allowed_lateness=LATENESS), config)
    assert runs[FCT_ORDERS.name].snapshot_id is None
    for spec in (AGG_REVENUE_DAILY, AGG_FUNNEL_DAILY):
        assert runs[spec.name].details["days"] == [D2.isoformat()], spec.name
    for spec in GOLD_TABLES:
        assert D4 not in files_by_day(catalog.load_table(gold_table(config.settings, spec.name)))
    assert expected_orders(everything)[paid["order_id"]]["payment_status"] == "REFUNDED"
    check_gold(catalog, config, everything)
    check_progress(catalog, config, everything, 1003)

    # 5. A backfill of D1..D2 recomputes those days to the same values, D3 keeps its files; then nothing to do.
    files_before = {s.name: files_by_day(catalog.load_table(gold_table(config.settings, s.name))) for s in GOLD_TABLES}
    runs = by_table(gold.run(spark, config, days=(D1, D2), allowed_lateness=LATENESS), config)
    for spec in GOLD_TABLES:
        assert runs[spec.name].snapshot_id is not None
        assert runs[spec.name].details["days"] == [D1.isoformat(), D2.isoformat()]
        after = files_by_day(catalog.load_table(gold_table(config.settings, spec.name)))
        assert after[D3] == files_before[spec.name][D3]
        assert after[D1] != files_before[spec.name][D1]  # really rewritten
    check_gold(catalog, config, everything)
    check_progress(catalog, config, everything, 1003)
    runs = by_table(gold.run(spark, config, allowed_lateness=LATENESS), config)
    assert all(r.snapshot_id is None for r in runs.values())


# ------------------------------------------------------------------------------------------- killed with SIGKILL

KILLABLE = """
import os, sys, time
from pathlib import Path
from dp_core.config import load_settings
from dp_spark.session import build_session
from dp_spark_jobs.gold import job as gold

repo, stop_at, stop_table = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
loaded = load_settings(repo / "config", {k: v for k, v in os.environ.items() if k.startswith("DP_")})
spark = build_session(loaded, "it-gold-killed")

def hook(point, table):
    print("HOOK", point, table, flush=True)
    if (point, table) == (stop_at, stop_table):
        time.sleep(600)  # SIGKILLed here

gold.run(spark, loaded, hook=hook)
print("DONE", flush=True)
"""
#: not a hook point: from BEFORE_WRITE of the table on, until a new data file of it is stored
WRITING = "writing"


def run_killed(config: LoadedConfig, stored: Listing, kill_at: str, identifier: str, log: Path) -> None:
    """etl_gold in a child process, SIGKILLed (driver and JVM) at hook point ``kill_at`` of table ``identifier``, or
    with :data:`WRITING` as soon as the rewrite of that table has stored a new data file (``stored`` lists the
    table's data folder)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DP_")}
    env["DP_ICEBERG_NAMESPACES__SILVER"] = config.settings.iceberg.namespaces.silver
    env["DP_ICEBERG_NAMESPACES__GOLD"] = config.settings.iceberg.namespaces.gold
    stop_at = gold.BEFORE_WRITE if kill_at == WRITING else kill_at
    before = stored()
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLABLE, str(REPO), kill_at, identifier],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # the job prints each hook point it reaches
                if line.split() == ["HOOK", stop_at, identifier]:
                    break
            else:
                pytest.fail(f"the job ended before {stop_at} of {identifier}: {log.read_text()[-3000:]}")
            deadline = time.monotonic() + 120
            while kill_at == WRITING and not stored() - before:
                assert time.monotonic() < deadline, f"no data file of {identifier} was stored"
                time.sleep(0.02)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
            if proc.stdout is not None:
                proc.stdout.close()


def summary_of(catalog: Catalog, config: LoadedConfig, name: str) -> dict[str, str]:
    snapshot = catalog.load_table(gold_table(config.settings, name)).current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    return dict(snapshot.summary.additional_properties)


def snapshot_ids(catalog: Catalog, config: LoadedConfig) -> dict[str, int | None]:
    current = {s.name: catalog.load_table(gold_table(config.settings, s.name)).current_snapshot() for s in GOLD_TABLES}
    return {name: snapshot.snapshot_id if snapshot else None for name, snapshot in current.items()}


def sorted_rows(catalog: Catalog, config: LoadedConfig, name: str) -> list[dict[str, Any]]:
    key = {FCT_ORDERS.name: ("order_id",), AGG_REVENUE_DAILY.name: ("order_date", "category", "currency")}
    columns = key.get(name, ("event_date",))
    return sorted(gold_rows(catalog, config, name), key=lambda r: tuple(r[c] for c in columns))


def test_a_run_killed_mid_write_then_rerun_equals_an_uninterrupted_run(
    spark: SparkSession,
    catalog: Catalog,
    namespaced: Namespaced,
    data_files: DataFiles,
    run_id: str,
    tmp_path: Path,
) -> None:
    killed = namespaced({"silver": f"it_{run_id}_gk_silver", "gold": f"it_{run_id}_gk_gold"})
    reference = namespaced({"silver": f"it_{run_id}_gk_silver", "gold": f"it_{run_id}_gk_ref"})  # the same Silver
    fct, revenue = (gold_table(killed.settings, s.name) for s in (FCT_ORDERS, AGG_REVENUE_DAILY))
    silver = Silver(spark, killed)
    silver.create()

    # Gold holds a first batch (6 days; one order of the first day held back, its payment already in) ...
    shop = Shop(random.Random(20261125))
    old_days = [dt.date(2026, 10, 1) + dt.timedelta(days=n) for n in range(6)]
    batch1 = merged(*(shop.day(day, 6) for day in old_days))
    held = next(
        o
        for o in batch1["order_placed"]
        if o["occurred_at"].date() == old_days[0]
        and expected_orders(batch1)[o["order_id"]]["payment_status"] != "PENDING"
    )
    batch1["order_placed"].remove(held)
    silver.append(2001, batch1 | {"product": products()})
    gold.run(spark, killed, allowed_lateness=LATENESS)
    check_gold(catalog, killed, batch1)

    # ... then a second batch: 20 new days, the held-back order late on its old day, a refund of an order of day 2
    new_days = [old_days[-1] + dt.timedelta(days=n) for n in range(1, 21)]
    paid = next(
        o
        for o in expected_orders(batch1).values()
        if o["order_date"] == old_days[1] and o["payment_status"] == "AUTHORISED"
    )
    placed = next(o for o in batch1["order_placed"] if o["order_id"] == paid["order_id"])
    refund = shop.payment(placed, "REFUNDED", dt.datetime.combine(new_days[-1], dt.time(23, 0), tzinfo=dt.UTC))
    batch2 = merged(*(shop.day(day, 4) for day in new_days), {"order_placed": [held], "payment_processed": [refund]})
    silver.append(2002, batch2)
    everything = merged(batch1, batch2)
    # days the second batch touches: every new day has page views (funnel); the orders' days (all three tables)
    order_days = {o["occurred_at"].date() for o in batch2["order_placed"]} | {paid["order_date"]}
    assert old_days[0] in order_days and set(new_days) - order_days  # a day with views and no order: funnel only

    # killed after fct_orders committed (rows and progress), before its properties are copied and the others run
    run_killed(killed, data_files(catalog, fct), gold.AFTER_COMMIT, fct, tmp_path / "killed-1.log")
    assert summary_of(catalog, killed, FCT_ORDERS.name)[SILVER_BATCH_KEY] == "2002"
    assert catalog.load_table(fct).properties[SILVER_BATCH_KEY] == "2001"  # the copy did not happen
    for spec in (AGG_REVENUE_DAILY, AGG_FUNNEL_DAILY):
        assert summary_of(catalog, killed, spec.name)[SILVER_BATCH_KEY] == "2001", spec.name
    fct_snapshot = snapshot_ids(catalog, killed)[FCT_ORDERS.name]

    # killed while agg_revenue_daily's rewrite is storing its data files: nothing of it committed
    committed = files_by_day(catalog.load_table(revenue))
    revenue_files = data_files(catalog, revenue)
    run_killed(killed, revenue_files, WRITING, revenue, tmp_path / "killed-2.log")
    assert files_by_day(catalog.load_table(revenue)) == committed, "the rewrite committed before the kill"
    listed = {path for paths in committed.values() for path in paths}
    assert revenue_files() - listed, "the killed rewrite stored no file"
    assert snapshot_ids(catalog, killed)[FCT_ORDERS.name] == fct_snapshot  # nothing new for fct_orders

    # the rerun
    runs = by_table(gold.run(spark, killed, allowed_lateness=LATENESS), killed)

    # equal, row for row, to one uninterrupted run over the same Silver, and to the plain-Python computation
    by_table(gold.run(spark, reference, allowed_lateness=LATENESS), reference)
    final = {spec.name: sorted_rows(catalog, killed, spec.name) for spec in GOLD_TABLES}
    for spec in GOLD_TABLES:
        assert final[spec.name] == sorted_rows(catalog, reference, spec.name), spec.name
    assert len(final[FCT_ORDERS.name]) == len(expected_orders(everything))
    assert len(final[AGG_FUNNEL_DAILY.name]) == len(old_days) + len(new_days)
    revenue_sum = sum((r["revenue"] for r in final[AGG_REVENUE_DAILY.name]), Decimal(0))
    assert revenue_sum == sum((v[2] for v in expected_revenue(everything).values()), Decimal(0))
    assert revenue_sum == sum((r["revenue"] for r in gold_rows(catalog, reference, AGG_REVENUE_DAILY.name)), Decimal(0))
    assert expected_orders(everything)[paid["order_id"]]["payment_status"] == "REFUNDED"
    check_gold(catalog, killed, everything)
    check_progress(catalog, killed, everything, 2002)  # fct_orders' properties repaired too
    # fct_orders had nothing left to do, the other two recomputed every day the second batch touches
    assert runs[FCT_ORDERS.name].snapshot_id is None
    assert runs[AGG_REVENUE_DAILY.name].details.get("days") == [d.isoformat() for d in sorted(order_days)]
    assert runs[AGG_FUNNEL_DAILY.name].details.get("days") == [
        d.isoformat() for d in sorted(order_days | set(new_days))
    ]

    # and a further rerun commits nothing and changes no row
    snapshots = snapshot_ids(catalog, killed)
    runs = by_table(gold.run(spark, killed, allowed_lateness=LATENESS), killed)
    assert all(r.snapshot_id is None for r in runs.values())
    assert snapshot_ids(catalog, killed) == snapshots
    for spec in GOLD_TABLES:
        assert sorted_rows(catalog, killed, spec.name) == final[spec.name], spec.name
