"""The Data API's answers: what to read at which snapshot, merged by :mod:`dp_data_api.merge`, with freshness.

Revenue is what both layers count the same way: the totals of **placed** orders, per window and currency (and per
category, as of each order). Gold's final rows come from ``agg_orders_1m`` (per minute) or, per category, from
``agg_revenue_daily`` (per day: ``placed_orders``, ``placed_units``, ``gross_revenue``); the provisional rows from
the speed layer's ``orders_<w>_rt`` and ``revenue_<w>_rt``. Every table is read at the snapshot one metadata read
named, and an answer is cached under those snapshot ids: a new commit on either side is a new key.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from dp_data_api.config import ApiConfig
from dp_data_api.dialect import Dialect
from dp_data_api.errors import BadParameterError, NotFoundError
from dp_data_api.lake import Metadata, TableState
from dp_data_api.merge import GRAINS, Row, Side, Span, boundary, merge_sql, rows_json_sql, rows_of
from dp_data_api.params import AsOf, Cursor, FunnelQuery, OrdersQuery, ReconciliationQuery, RevenueQuery

DAY_S = GRAINS["day"]


class Engine(Protocol):
    #: the engine's SQL where it differs (a table at a snapshot, epoch microseconds, the timestamptz type)
    dialect: Dialect

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Freshness:
    """How current an answer is: each layer's watermark and lag, the boundary, and the snapshots read."""

    gold_watermark: dt.datetime | None
    speed_watermark: dt.datetime | None
    boundary: dt.datetime | None
    gold_lag_s: float | None
    speed_lag_s: float | None
    snapshots: Mapping[str, int | None]

    def as_json(self) -> dict[str, Any]:
        return {
            "gold_watermark": iso(self.gold_watermark),
            "speed_watermark": iso(self.speed_watermark),
            "boundary": iso(self.boundary),
            "gold_lag_s": self.gold_lag_s,
            "speed_lag_s": self.speed_lag_s,
            "snapshots": dict(self.snapshots),
        }


@dataclass(frozen=True)
class Answer:
    rows: list[Row]
    key_names: tuple[str, ...]
    freshness: Freshness


def iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


#: per-snapshot facts kept (:attr:`DataService.facts`)
FACT_ENTRIES = 512


class AnswerCache:
    """Least-recently-used answers; keys name the snapshots read, so an entry never goes stale."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
        value = compute()
        if self._entries:
            with self._lock:
                self._data[key] = value
                while len(self._data) > self._entries:
                    self._data.popitem(last=False)
        return value


def table_sql(state: TableState, dialect: Dialect) -> str:
    """The table as of its state's snapshot (``lake."ns"."table" AT (VERSION => id)`` in DuckDB)."""
    namespace, name = state.identifier.split(".", 1)
    return dialect.table(namespace, name, state.snapshot_id)


def select_sql(state: TableState, columns: str, where: str = "TRUE", *, dialect: Dialect) -> str:
    """``SELECT <columns> FROM <table at its snapshot> WHERE <where>``: the columns and the table come from the
    code and the catalog, never from a request; request values are bound parameters in ``where``."""
    return f"SELECT {columns} FROM {table_sql(state, dialect)} WHERE {where}"  # noqa: S608


class DataService:
    """Answers the API's questions from a query engine and the catalog's metadata."""

    def __init__(
        self,
        config: ApiConfig,
        engine: Engine,
        metadata: Metadata,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config, self.engine, self.metadata, self.clock = config, engine, metadata, clock
        self.cache = AnswerCache(config.cache_entries)
        # what a snapshot holds besides the answers (the speed layer's span and watermark, the known labels): small,
        # immutable, asked by every answer, so kept even when the answer cache is off (serving.cache_entries: 0)
        self.facts = AnswerCache(FACT_ENTRIES)

    # -- reading one table at one snapshot -----------------------------------------------------------------------

    def _speed_watermark(self, progress: TableState | None) -> dt.datetime | None:
        """The aggregator's event-time watermark on the orders topic, as of the progress table's snapshot."""
        if progress is None or progress.snapshot_id is None:
            return None

        def compute() -> dt.datetime | None:
            rows = self.engine.rows(
                select_sql(progress, "max(watermark)", "kafka_topic = ?", dialect=self.engine.dialect),
                [self.config.order_topic],
            )
            return rows[0][0] if rows and rows[0][0] is not None else None

        return self.facts.get_or_compute(("speed-watermark", progress.snapshot_id), compute)  # type: ignore[no-any-return]

    def _freshness(
        self,
        gold: TableState | None,
        speed: TableState | None,
        progress: TableState | None,
        edge: dt.datetime | None,
        *,
        read: Sequence[tuple[str, TableState | None]] | None = None,
    ) -> Freshness:
        """Both watermarks, the boundary, each layer's lag and the snapshot of every table ``read`` (by default
        Gold's, the speed layer's and the progress table)."""
        now = self.clock()
        gold_wm = gold.watermark if gold else None
        speed_wm = self._speed_watermark(progress)

        def lag(t: dt.datetime | None) -> float | None:
            return None if t is None else round((now - t).total_seconds(), 3)

        if read is None:
            read = ((self._name(gold, "gold"), gold), (self._name(speed, "speed"), speed),
                    (self.config.tables.progress_rt, progress))  # fmt: skip
        snapshots = {name: state.snapshot_id if state else None for name, state in read}
        return Freshness(gold_wm, speed_wm, edge, lag(gold_wm), lag(speed_wm), snapshots)

    def _name(self, state: TableState | None, side: str) -> str:
        return state.identifier if state else side

    # -- revenue ------------------------------------------------------------------------------------------------

    def states(
        self, gold_id: str, others: Sequence[str], as_of: AsOf | None
    ) -> tuple[TableState | None, list[TableState | None]]:
        """The Gold table that answers and the other tables, now or as of a Gold snapshot id or a time.

        As of a snapshot: Gold's last metadata while it was current (its watermark then), and the other tables as of
        that metadata's time. As of a time: every table's metadata current then."""
        if as_of is None:
            return self.metadata.state(gold_id), [self.metadata.state(o) for o in others]
        if isinstance(as_of, int):
            gold = self.metadata.state_of_snapshot(gold_id, as_of)
            if gold is None:
                raise NotFoundError(
                    f"snapshot {as_of} was never the current snapshot of {gold_id} in its retained history "
                    f"(GET /v1/tables/{gold_id.replace('.', '/')} shows the current one)", parameter="as_of",
                )  # fmt: skip
            at = gold.version_at or self.clock()
        else:
            at = as_of
            if at > self.clock():
                raise BadParameterError("as_of", f"{iso(at)} is in the future")
            gold = self.metadata.state_at(gold_id, at)
            if gold is None and self.metadata.state(gold_id) is not None:
                raise NotFoundError(
                    f"{gold_id} keeps no metadata as old as {iso(at)} (its retained history starts later)",
                    parameter="as_of",
                )
        return gold, [self.metadata.state_at(o, at) for o in others]

    def _revenue_tables(
        self, query: RevenueQuery, as_of: AsOf | None
    ) -> tuple[TableState | None, TableState | None, TableState | None, tuple[Hashable, ...]]:
        """The revenue question's Gold, speed and progress tables (now or as of ``as_of``), its labels checked, and
        its cache key: the query, the snapshots read and Gold's watermark (dbt moves it without a new snapshot)."""
        t = self.config.tables
        per_category = query.category is not None
        gold, (speed, progress) = self.states(
            t.revenue_daily if per_category else t.orders_1m, [t.revenue_rt if per_category else t.orders_rt,
                                                               t.progress_rt], as_of,
        )  # fmt: skip
        self._check_labels(query, gold, speed)
        key = (query, *(x.snapshot_id if x else None for x in (gold, speed)), gold.watermark if gold else None)
        return gold, speed, progress, key

    def revenue(self, query: RevenueQuery, as_of: AsOf | None = None) -> Answer:
        """Revenue per bucket of ``query.grain``: final from Gold up to its boundary, provisional after it."""
        gold, speed, progress, key = self._revenue_tables(query, as_of)
        edge, rows = self.cache.get_or_compute(("revenue", *key), lambda: self._revenue_rows(query, gold, speed))
        names = ("category", "currency") if query.category is not None else ("currency",)
        return Answer(rows, names, self._freshness(gold, speed, progress, edge))

    def revenue_json(self, query: RevenueQuery, as_of: AsOf | None = None) -> tuple[str, Freshness]:
        """:meth:`revenue`'s rows as the JSON array the API answers, written by the engine (a large answer's rows
        never become Python objects), and the answer's freshness."""
        gold, speed, progress, key = self._revenue_tables(query, as_of)

        def compute() -> tuple[dt.datetime | None, str]:
            edge, sql, bound, keys, measures = self._revenue_sql(query, gold, speed)
            if not sql:
                return edge, "[]"
            statement = rows_json_sql(sql, keys, measures, query.grain, self.engine.dialect)
            return edge, str(self.engine.rows(statement, bound)[0][0])

        edge, text = self.cache.get_or_compute(("revenue-json", *key), compute)
        return text, self._freshness(gold, speed, progress, edge)

    def revenue_statement(self, query: RevenueQuery) -> tuple[str, list[Any]]:
        """The one SQL statement (and its bound values) behind :meth:`revenue_json` now: what ``make bench-api`` runs
        directly on the engine as the API's baseline (the merge and the answer's JSON)."""
        t = self.config.tables
        per_category = query.category is not None
        gold = self.metadata.state(t.revenue_daily if per_category else t.orders_1m)
        speed = self.metadata.state(t.revenue_rt if per_category else t.orders_rt)
        _, sql, bound, keys, measures = self._revenue_sql(query, gold, speed)
        return rows_json_sql(sql, keys, measures, query.grain, self.engine.dialect), bound

    def _revenue_rows(
        self, query: RevenueQuery, gold: TableState | None, speed: TableState | None
    ) -> tuple[dt.datetime | None, list[Row]]:
        """The merge rule (:func:`dp_data_api.merge.merge_sql`) run where the data is: only the answer's rows leave
        the engine."""
        edge, sql, bound, keys, measures = self._revenue_sql(query, gold, speed)
        return edge, rows_of(self.engine.rows(sql, bound), len(keys), measures, query.grain) if sql else []

    def _revenue_sql(
        self, query: RevenueQuery, gold: TableState | None, speed: TableState | None
    ) -> tuple[dt.datetime | None, str, list[Any], tuple[str, ...], tuple[str, ...]]:
        """The boundary, and the merge's SQL with its bound values, keys and measures."""
        filters = ["window_start >= ?", "window_start < ?"]
        params: list[Any] = [query.start, query.end]
        if query.currency:
            filters.append("currency = ?")
            params.append(query.currency)
        tt = self.engine.dialect
        gold_side = speed_side = None
        if query.category is not None:
            filters.append("category = ?")
            params.append(query.category)
            day_filters = [f.replace("window_start", "order_date") for f in filters]
            day_params = [query.start.date(), query.end.date(), *params[2:]]
            measures: tuple[str, ...] = ("orders", "units", "revenue")
            keys: tuple[str, ...] = ("category", "currency")
            if gold is not None and gold.snapshot_id is not None:
                gold_side = Side(table_sql(gold, tt), f"CAST(order_date AS {tt.timestamptz})", keys,
                                 ("placed_orders AS orders", "placed_units AS units", "gross_revenue AS revenue"),
                                 " AND ".join(day_filters), tuple(day_params))  # fmt: skip
            period = DAY_S
        else:
            measures, keys, period = ("orders", "revenue"), ("currency",), GRAINS["minute"]
            if gold is not None and gold.snapshot_id is not None:
                gold_side = Side(table_sql(gold, tt), "window_start", keys, measures, " AND ".join(filters),
                                 tuple(params))  # fmt: skip
        if speed is not None and speed.snapshot_id is not None:
            speed_side = Side(
                table_sql(speed, tt), "window_start", keys, measures, " AND ".join(filters), tuple(params)
            )
        edge = boundary(gold.watermark if gold else None, period)
        sql, bound = merge_sql(
            gold_side, speed_side, edge=edge, gold_period_s=period, grain=query.grain, start=query.start,
            end=query.end, speed_span=self._speed_span(speed), dialect=tt,
        )  # fmt: skip
        return edge, sql, bound, keys, measures

    def _speed_span(self, speed: TableState | None) -> Span | None:
        """From the start of the first window the speed layer wrote to the end of its last (cached by snapshot)."""
        if speed is None or speed.snapshot_id is None:
            return None

        def compute() -> Span | None:
            sql = select_sql(speed, "min(window_start), max(window_end)", dialect=self.engine.dialect)
            first, last = self.engine.rows(sql)[0]
            return None if first is None or last is None else (first, last)

        return self.facts.get_or_compute(("speed-span", speed.identifier, speed.snapshot_id), compute)  # type: ignore[no-any-return]

    def _check_labels(self, query: RevenueQuery, gold: TableState | None, speed: TableState | None) -> None:
        """An unknown currency or category is a 400 (the values either layer holds are the known ones)."""
        for column, value in (("currency", query.currency), ("category", query.category)):
            if value is None:
                continue
            known = self.labels(column, gold, speed)
            if value not in known:
                shown = ", ".join(sorted(known)[:20]) or "none yet"
                raise BadParameterError(column, f"unknown {column} {value!r} (known: {shown})")

    def labels(self, column: str, *states: TableState | None) -> frozenset[str]:
        """The distinct values of ``column`` in the tables at their snapshots (cached by those snapshots)."""
        present = [s for s in states if s is not None and s.snapshot_id is not None]

        def compute() -> frozenset[str]:
            found: set[str] = set()
            for state in present:
                rows = self.engine.rows(select_sql(state, f"DISTINCT {column}", dialect=self.engine.dialect))
                found.update(str(r[0]) for r in rows if r[0] is not None)
            return frozenset(found)

        key = ("labels", column, *((s.identifier, s.snapshot_id) for s in present))
        return self.facts.get_or_compute(key, compute)  # type: ignore[no-any-return]

    # -- funnel -------------------------------------------------------------------------------------------------

    def funnel(self, query: FunnelQuery, as_of: AsOf | None = None) -> dict[str, Any]:
        """Sessions at each step of the funnel (now, or as of a snapshot of the table that answers, or a time).

        Per day from Gold (``agg_funnel_daily``): a day that ends at or before the boundary (Gold's watermark, down
        to the day) is ``final``, a later one ``provisional`` (the sessions Gold has counted so far). Per minute from
        the speed layer (``funnel_<w>_rt``), always ``provisional``: Gold keeps no minute funnel, and distinct
        sessions do not add up across windows, so neither side can stand in for the other at the other's grain."""
        t, tt = self.config.tables, self.engine.dialect
        if query.grain == "day":
            gold, _ = self.states(t.funnel_daily, [], as_of)
            edge = boundary(gold.watermark, DAY_S) if gold else None
            rows: list[dict[str, Any]] = []
            if gold is not None and gold.snapshot_id is not None:
                sql = select_sql(gold, f"event_date, {FUNNEL_DAY_SQL}", "event_date >= ? AND event_date < ? "
                                 "ORDER BY event_date", dialect=tt)  # fmt: skip
                for r in self.engine.rows(sql, [query.start.date(), query.end.date()]):
                    start = dt.datetime.combine(r[0], dt.time(), dt.UTC)
                    end = start + dt.timedelta(days=1)
                    status = FINAL_STATUS if edge is not None and end <= edge else PROVISIONAL_STATUS
                    rows.append({"window_start": iso(start), "window_end": iso(end),
                                 **dict(zip(FUNNEL_DAY, r[1:], strict=True)), "status": status})  # fmt: skip
            return {
                "rows": rows,
                "boundary": iso(edge),
                "snapshots": {t.funnel_daily: gold.snapshot_id if gold else None},
            }
        speed, _ = self.states(t.funnel_rt, [], as_of)
        rows = []
        if speed is not None and speed.snapshot_id is not None:
            sql = select_sql(speed, f"window_start, window_end, {FUNNEL_MINUTE_SQL}", "window_start >= ? AND "
                             "window_start < ? ORDER BY window_start", dialect=tt)  # fmt: skip
            for r in self.engine.rows(sql, [query.start, query.end]):
                rows.append({"window_start": iso(r[0]), "window_end": iso(r[1]),
                             **dict(zip(FUNNEL_MINUTE, r[2:], strict=True)), "status": PROVISIONAL_STATUS})  # fmt: skip
        return {"rows": rows, "boundary": None, "snapshots": {t.funnel_rt: speed.snapshot_id if speed else None}}

    # -- reconciliation -----------------------------------------------------------------------------------------

    def reconciliation(self, query: ReconciliationQuery, as_of: AsOf | None = None) -> dict[str, Any]:
        """The batch layer's correction of the speed layer per minute and currency, as Gold's last build wrote it
        (``reconciliation_1m``, now or as of one of its snapshots or a time). A minute that ends at or before the
        table's watermark (down to the minute) is ``final``: Gold has all of its orders; a later one is
        ``provisional``: orders still on their way to Gold may change its batch side."""
        t = self.config.tables
        table, (progress,) = self.states(t.reconciliation, [t.progress_rt], as_of)
        edge = boundary(table.watermark if table else None, GRAINS["minute"])
        key = ("reconciliation", query, table.snapshot_id if table else None, edge)
        rows: list[dict[str, Any]] = self.cache.get_or_compute(
            key, lambda: self._reconciliation_rows(query, table, edge)
        )
        summary = {
            "windows": len(rows),
            "windows_corrected": sum(1 for r in rows if r["orders_difference"] or Decimal(r["revenue_difference"])),
            "windows_unexplained": sum(1 for r in rows if r["unexplained_orders"] or Decimal(r["unexplained_revenue"])),
            "orders_difference": sum(int(r["orders_difference"]) for r in rows),
            "revenue_difference": money(sum((Decimal(r["revenue_difference"]) for r in rows), Decimal(0))),
        }
        fresh = self._freshness(
            table, None, progress, edge, read=((t.reconciliation, table), (t.progress_rt, progress))
        )
        return {"rows": rows, "summary": summary, "freshness": fresh.as_json()}

    def _reconciliation_rows(
        self, query: ReconciliationQuery, table: TableState | None, edge: dt.datetime | None
    ) -> list[dict[str, Any]]:
        if table is None or table.snapshot_id is None:
            return []
        where, params = "window_start >= ? AND window_start < ?", list[Any]([query.start, query.end])
        if query.currency:
            where, params = where + " AND currency = ?", [*params, query.currency]
        sql = select_sql(table, "window_start, window_end, currency, " + ", ".join(RECONCILIATION),
                         where + " ORDER BY window_start, currency", dialect=self.engine.dialect)  # fmt: skip
        out = []
        for r in self.engine.rows(sql, params):
            status = FINAL_STATUS if edge is not None and r[1] <= edge else PROVISIONAL_STATUS
            values = {name: money(v) if "revenue" in name else int(v)
                      for name, v in zip(RECONCILIATION, r[3:], strict=True)}  # fmt: skip
            out.append({"window_start": iso(r[0]), "window_end": iso(r[1]), "currency": r[2], **values,
                        "status": status})  # fmt: skip
        return out

    # -- orders -------------------------------------------------------------------------------------------------

    def order(self, order_id: str, as_of: AsOf | None = None) -> dict[str, Any]:
        """One order: Gold's row (``final``) once the batch layer has it, else the speed layer's enriched row
        (``provisional``), now or as of a ``fct_orders`` snapshot or a time; :class:`NotFoundError` when neither
        has it."""
        t = self.config.tables
        gold, (lines, speed) = self.states(t.orders, [t.order_lines, t.orders_enriched], as_of)
        tt = self.engine.dialect
        if gold is not None and gold.snapshot_id is not None:
            found = self.engine.rows(select_sql(gold, ORDER_SQL, "order_id = ?", dialect=tt), [order_id])
            if found:
                items = []
                if lines is not None and lines.snapshot_id is not None:
                    sql = select_sql(lines, LINE_SQL, "order_id = ? ORDER BY line_number", dialect=tt)
                    items = [dict(zip(LINE_COLUMNS, r, strict=True)) for r in self.engine.rows(sql, [order_id])]
                return _order(found[0], items, FINAL_STATUS, gold)
        if speed is not None and speed.snapshot_id is not None:
            sql = select_sql(speed, f"{ORDER_SQL}, lines", "order_id = ?", dialect=tt)
            found = self.engine.rows(sql, [order_id])
            if found:
                items = [{k: line.get(k) for k in LINE_COLUMNS} for line in (found[0][-1] or [])]
                return _order(found[0][:-1], items, PROVISIONAL_STATUS, speed)
        raise NotFoundError(f"order {order_id!r} is in neither Gold nor the speed layer", parameter="order_id")

    def orders(self, query: OrdersQuery, cursor: Cursor | None, as_of: AsOf | None = None) -> dict[str, Any]:
        """A customer's orders by event time then id, Gold's (``final``) and, for orders Gold does not have yet,
        the speed layer's (``provisional``), now or as of a ``fct_orders`` snapshot or a time; keyset pages that
        read the snapshots the first page read."""
        t = self.config.tables
        gold, (speed,) = self.states(t.orders, [t.orders_enriched], as_of)
        if cursor is not None:
            gold = replace(gold, snapshot_id=cursor.snapshots[0]) if gold else None
            speed = replace(speed, snapshot_id=cursor.snapshots[1]) if speed else None
        tt = self.engine.dialect
        where: list[str] = ["customer_id = ?"]
        params: list[Any] = [query.customer_id]
        if query.start is not None:
            where.append("occurred_at >= ?")
            params.append(query.start)
        if query.end is not None:
            where.append("occurred_at < ?")
            params.append(query.end)
        parts: list[str] = []
        all_params: list[Any] = []
        in_gold = gold is not None and gold.snapshot_id is not None
        if gold is not None and in_gold:
            parts.append(select_sql(gold, f"{ORDER_SQL}, 'final' AS status", " AND ".join(where), dialect=tt))
            all_params += params
        if speed is not None and speed.snapshot_id is not None:
            fresh = " AND ".join(where)
            if gold is not None and in_gold:
                fresh += f" AND order_id NOT IN ({select_sql(gold, 'order_id', 'customer_id = ?', dialect=tt)})"
            parts.append(select_sql(speed, f"{ORDER_SQL}, 'provisional' AS status", fresh, dialect=tt))
            all_params += params + ([query.customer_id] if in_gold else [])
        rows: list[tuple[Any, ...]] = []
        if parts:
            after, after_params = "TRUE", list[Any]()
            if cursor is not None:
                after = "(occurred_at > ? OR (occurred_at = ? AND order_id > ?))"  # (occurred_at, order_id) > (?, ?)
                after_params = [cursor.occurred_at, cursor.occurred_at, cursor.order_id]
            sql = (f"SELECT * FROM ({' UNION ALL '.join(parts)}) WHERE {after} "  # noqa: S608 -- see select_sql
                   "ORDER BY occurred_at, order_id LIMIT ?")  # fmt: skip
            rows = self.engine.rows(sql, [*all_params, *after_params, query.limit + 1])
        page = rows[: query.limit]
        snapshots = (gold.snapshot_id if gold else None, speed.snapshot_id if speed else None)
        following = None
        if len(rows) > query.limit:
            last = page[-1]
            following = Cursor(last[ORDER_COLUMNS.index("occurred_at")], last[0], snapshots).encode()
        return {
            "orders": [{**_order_fields(r[:-1]), "status": r[-1]} for r in page],
            "next_cursor": following,
            "snapshots": {t.orders: snapshots[0], t.orders_enriched: snapshots[1]},
        }

    # -- tables -------------------------------------------------------------------------------------------------

    def namespaces(self) -> tuple[str, ...]:
        return (self.config.bronze_namespace, self.config.silver_namespace, self.config.gold_namespace)

    def tables(self) -> list[str]:
        """The tables the API describes: the domain's Bronze and Silver tables (the speed layer's among them) and
        every table of Gold."""
        domain = f"{self.config.domain}__"
        gold = f"{self.config.gold_namespace}."
        return [
            t
            for t in self.metadata.tables(self.namespaces())
            if t.startswith(gold) or t.split(".", 1)[1].startswith(domain)
        ]

    def table(self, namespace: str, name: str, as_of: AsOf | None = None) -> TableState:
        """A served table's state: now, or as of one of its snapshots or a time."""
        identifier = f"{namespace}.{name}"
        if identifier not in self.tables():
            raise NotFoundError(f"table {identifier} not found (GET /v1/tables lists the tables served)")
        state, _ = self.states(identifier, [], as_of)
        if state is None:
            raise NotFoundError(f"table {identifier} not found")
        return state

    def snapshots(self, namespace: str, name: str, limit: int) -> list[dict[str, Any]]:
        """The table's snapshots, newest first, with the progress each carries."""
        state = self.table(namespace, name)
        newest = sorted(state.snapshots, key=lambda x: (x.committed_at, x.snapshot_id), reverse=True)[:limit]
        return [
            {
                "snapshot_id": x.snapshot_id,
                "parent_id": x.parent_id,
                "committed_at": iso(x.committed_at),
                "current": x.snapshot_id == state.snapshot_id,
                "operation": x.summary.get("operation"),
                "added_records": _int(x.summary.get("added-records")),
                "deleted_records": _int(x.summary.get("deleted-records")),
                "total_records": _int(x.summary.get("total-records")),
                "progress": progress_of(x.summary),
            }
            for x in newest
        ]


#: snapshot-summary keys that carry the platform's progress, by the name the answer gives them
PROGRESS_KEYS = {
    "dp.kafka.offsets": "kafka_offsets",  # Bronze: the next offset to read per topic partition
    "dp.bronze.snapshot-id": "bronze_snapshot_id",  # Silver: the Bronze snapshot read up to
    "dp.silver.batch-id": "silver_batch_id",  # Silver: this run's batch id
    "dp.watermark": "watermark",
    "flink.max-committed-checkpoint-id": "flink_checkpoint_id",  # the speed layer's checkpoint of this commit
    "flink.job-id": "flink_job_id",
}


def progress_of(summary: Mapping[str, str]) -> dict[str, Any]:
    """The progress a snapshot carries, JSON values parsed (Kafka offsets) and ids as numbers."""
    out: dict[str, Any] = {}
    for key, name in PROGRESS_KEYS.items():
        value = summary.get(key)
        if value is None:
            continue
        if key == "dp.kafka.offsets":
            try:
                out[name] = json.loads(value)
            except json.JSONDecodeError:
                out[name] = value
        elif name.endswith("_id") and name != "flink_job_id":
            out[name] = _int(value)
        else:
            out[name] = value
    return out


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


FUNNEL_DAY = ("sessions", "carts", "orders", "paid", "cart_rate", "order_rate", "payment_rate", "conversion_rate")
FUNNEL_DAY_SQL = ", ".join(FUNNEL_DAY)
FUNNEL_MINUTE = ("active_sessions", "view_sessions", "cart_sessions", "order_sessions", "cart_to_order")
FUNNEL_MINUTE_SQL = ", ".join(FUNNEL_MINUTE)

#: the reconciliation's measures, in the order of ``reconciliation_1m``'s columns
RECONCILIATION = (
    "batch_orders", "batch_revenue", "speed_orders", "speed_revenue", "late_orders", "late_revenue",
    "orders_difference", "revenue_difference", "unexplained_orders", "unexplained_revenue",
)  # fmt: skip

ORDER_COLUMNS = (
    "order_id", "customer_id", "session_id", "occurred_at", "currency", "shipping_country", "line_count",
    "subtotal", "shipping", "tax", "total", "payment_status",
)  # fmt: skip
ORDER_SQL = ", ".join(ORDER_COLUMNS)
LINE_COLUMNS = ("line_number", "product_id", "quantity", "unit_price", "line_total")
LINE_SQL = ", ".join(LINE_COLUMNS)
FINAL_STATUS, PROVISIONAL_STATUS = "final", "provisional"
_MONEY = frozenset({"subtotal", "shipping", "tax", "total", "unit_price", "line_total"})


def _json_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _MONEY:
        return money(value)
    return iso(value) if isinstance(value, dt.datetime) else value


def _order_fields(row: Sequence[Any]) -> dict[str, Any]:
    return {name: _json_value(name, value) for name, value in zip(ORDER_COLUMNS, row, strict=True)}


def _order(row: Sequence[Any], lines: list[dict[str, Any]], status: str, source: TableState) -> dict[str, Any]:
    return {
        **_order_fields(row),
        "lines": [{k: _json_value(k, v) for k, v in line.items()} for line in lines],
        "status": status,
        "source": {"table": source.identifier, "snapshot_id": source.snapshot_id},
    }


def rows_json(rows: Sequence[Row], key_names: Sequence[str]) -> list[dict[str, Any]]:
    """The revenue rows as the API's JSON gives them (what :func:`dp_data_api.merge.rows_json_sql` writes)."""
    out = []
    for row in rows:
        item: dict[str, Any] = {"window_start": iso(row.start), "window_end": iso(row.end)}
        item.update(zip(key_names, row.key, strict=True))
        for name, value in row.values.items():
            item[name] = money(value) if name == "revenue" else int(value)
        item["status"] = row.status
        out.append(item)
    return out


def money(value: Any) -> str:
    """A decimal measure as an exact string (JSON numbers are binary floats)."""
    return str(Decimal(value).quantize(Decimal("0.01"))) if isinstance(value, Decimal | int) else str(value)
