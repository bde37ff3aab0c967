"""What the lakehouse holds after the demo, read through the Iceberg REST catalog (pyiceberg + Arrow).

Only reading: counts and ids per layer, the speed layer's windows and late events, the batch layer's orders, and
for the enriched table the commit time of the first snapshot in which each order is visible (its latency).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_flink import names as speed_names

GOLD_TABLE_NAMES = ("fct_orders", "agg_revenue_daily", "agg_funnel_daily")


def table_names(settings: PlatformSettings, contracts: list[Contract], domain: str) -> dict[str, str]:
    """Every table the demo writes or reads, by a short role name (``bronze:order_placed``, ``speed:orders_1m_rt``)."""
    ns = settings.iceberg.namespaces
    names: dict[str, str] = {}
    for c in contracts:
        names[f"bronze:{c.name}"] = f"{ns.bronze}.{c.table_stem}"
        names[f"bronze_dlq:{c.name}"] = f"{ns.bronze}.{c.table_stem}__dlq"
        names[f"silver:{c.name}"] = f"{ns.silver}.{c.table_stem}"
        names[f"rejected:{c.name}"] = f"{ns.silver}.{c.table_stem}__rejected"
    for stem in speed_names.output_stems(settings.stream.window_s):
        names[f"speed:{stem}"] = f"{ns.silver}.{speed_names.table(domain, stem)}"
    for job in speed_names.JOBS:  # what each checkpoint committed, up to which offsets
        names[f"speed:{speed_names.progress_stem(job)}"] = f"{ns.silver}.{speed_names.progress_table(job, domain)}"
    for gold in GOLD_TABLE_NAMES:
        names[f"gold:{gold}"] = f"{ns.gold}.{gold}"
    return names


@dataclass
class Observed:
    """The lakehouse after the run. ``None`` for a table that does not exist."""

    counts: dict[str, int | None] = field(default_factory=dict)  # role -> rows
    silver_ids: dict[str, list[str] | None] = field(default_factory=dict)  # contract -> id of every row
    silver_orders: list[dict[str, Any]] = field(default_factory=list)  # event_id, occurred_at, currency, total
    fct_order_ids: list[str] | None = None
    gross_revenue: dict[tuple[str, str, str], Decimal] | None = None
    speed_orders: list[dict[str, Any]] | None = None  # window_start, currency, orders, revenue
    silver_page_views: list[dt.datetime] = field(default_factory=list)  # the event time of every page view
    speed_page_views: dict[dt.datetime, int] | None = None  # window_start -> page views
    late_events: list[dict[str, Any]] | None = None  # contract, event_id, window_start
    enriched_ids: list[str] | None = None
    enriched_visible_at: dict[str, float] = field(default_factory=dict)  # event id -> commit time (epoch s)


def _load(catalog: Catalog, name: str) -> Table | None:
    try:
        return catalog.load_table(name)
    except NoSuchTableError:
        return None


def _rows(table: Table, *columns: str) -> list[dict[str, Any]]:
    return list(table.scan(selected_fields=columns).to_arrow().to_pylist())


def _count(table: Table) -> int:
    if table.current_snapshot() is None:
        return 0
    first = table.schema().fields[0].name
    return int(table.scan(selected_fields=(first,)).to_arrow().num_rows)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Enriched:
    """The enricher's table: the id of every row, and when each id first became visible (epoch seconds)."""

    ids: list[str] | None
    visible_at: dict[str, float]


def read_enriched(spark: Any, table: str, id_column: str = "event_id") -> Enriched:
    """Through Spark, as pyiceberg cannot read the equality deletes of an upsert table: the current rows, and for
    each id the commit time of the first snapshot of the main branch in which it is visible."""
    try:
        snapshots = spark.table(f"{table}.snapshots").select("snapshot_id", "committed_at").orderBy("committed_at")
        history = [(int(r[0]), r[1].timestamp()) for r in snapshots.collect()]
    except Exception:  # noqa: BLE001 -- the table does not exist (the enricher never ran)
        return Enriched(None, {})
    seen: dict[str, float] = {}
    for snapshot_id, committed in history:
        frame = spark.read.option("versionAsOf", snapshot_id).table(table).select(id_column)
        for row in frame.collect():
            seen.setdefault(str(row[0]), committed)
    ids = [str(r[0]) for r in spark.table(table).select(id_column).collect()]
    return Enriched(ids, seen)


def observe(catalog: Catalog, settings: PlatformSettings, contracts: list[Contract], domain: str) -> Observed:
    names = table_names(settings, contracts, domain)
    tables = {role: _load(catalog, name) for role, name in names.items()}
    found = Observed()
    for role, table in tables.items():
        if role.startswith(("bronze:", "bronze_dlq:", "rejected:")) or role == f"speed:{speed_names.STREAM_REJECTS}":
            found.counts[role] = _count(table) if table is not None else None
    for c in contracts:
        table = tables[f"silver:{c.name}"]
        id_field = c.meta.event_id or c.meta.key
        found.silver_ids[c.name] = None if table is None else [str(r[id_field]) for r in _rows(table, id_field)]
        if c.name == "page_view" and table is not None:
            found.silver_page_views = [_utc(r["occurred_at"]) for r in _rows(table, "occurred_at")]
        if c.name == "order_placed" and table is not None:
            found.silver_orders = [
                {**r, "occurred_at": _utc(r["occurred_at"])}
                for r in _rows(table, "event_id", "occurred_at", "currency", "total")
            ]
    fct = tables["gold:fct_orders"]
    found.fct_order_ids = None if fct is None else [str(r["order_id"]) for r in _rows(fct, "order_id")]
    revenue = tables["gold:agg_revenue_daily"]
    if revenue is not None:
        found.gross_revenue = {
            (r["order_date"].isoformat(), str(r["category"]), str(r["currency"])): Decimal(r["gross_revenue"])
            for r in _rows(revenue, "order_date", "category", "currency", "gross_revenue")
        }
    speed = tables[f"speed:{speed_names.window_table('orders', settings.stream.window_s)}"]
    if speed is not None:
        found.speed_orders = [
            {**r, "window_start": _utc(r["window_start"])}
            for r in _rows(speed, "window_start", "currency", "orders", "revenue")
        ]
    views = tables[f"speed:{speed_names.window_table('page_views', settings.stream.window_s)}"]
    if views is not None:
        found.speed_page_views = {
            _utc(r["window_start"]): int(r["page_views"]) for r in _rows(views, "window_start", "page_views")
        }
    late = tables[f"speed:{speed_names.LATE_EVENTS}"]
    if late is not None:
        found.late_events = [
            {**r, "window_start": _utc(r["window_start"])} for r in _rows(late, "contract", "event_id", "window_start")
        ]
    return found
