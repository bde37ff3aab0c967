"""The demo's look at the Data API: its revenue answer for the workload, read through the API's own library on the
demo's domain and namespaces (the service the stack runs answers the configured domain), its reconciliation, the
same questions asked of both engines (embedded DuckDB and the stack's Trino), and where to ask it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from dp_core.config import LoadedConfig
from dp_core.config.models import ServingSettings
from dp_data_api.api import answer_json
from dp_data_api.errors import DataApiError
from dp_data_api.merge import floor_time
from dp_data_api.params import Cursor, funnel_query, orders_query, reconciliation_query, revenue_query
from dp_data_api.server import build_service, config_of
from dp_data_api.service import DataService, select_sql
from dp_demo.observe import Observed
from dp_demo.reconcile import Line, ServedRow, reconciliation_line, served_line
from dp_demo.workload import parse_time

ENGINES_SUBJECT = "duckdb = trino (the same questions)"


def _scoped(loaded: LoadedConfig, serving: ServingSettings) -> LoadedConfig:
    return replace(loaded, settings=loaded.settings.model_copy(update={"serving": serving}))


def serving_check(loaded: LoadedConfig, domain: str, observed: Observed) -> tuple[list[Line], dict[str, Any]]:
    """The reconciled lines of the API's revenue per minute, of its reconciliation (Gold's ``reconciliation_1m``)
    over the workload and of its two engines' answers, and the revenue answer's freshness."""
    serving = loaded.settings.serving.model_copy(update={"domain": domain, "engine": "duckdb"})
    scoped = _scoped(loaded, serving)
    times = [o["occurred_at"] for o in observed.silver_orders]
    if not times:
        return [Line("api", "revenue per minute final + provisional", 0, 0, True, "no orders to serve")], {}
    start = floor_time(min(times), 60).isoformat()
    end = (floor_time(max(times), 60) + dt.timedelta(minutes=1)).isoformat()
    limits = {"max_range_days": serving.max_range_days, "max_rows": serving.max_rows}
    service = build_service(scoped, config_of(scoped))
    try:
        answer = service.revenue(revenue_query(start, end, "minute", None, None, **limits))
        reconciled = service.reconciliation(reconciliation_query(start, end, None, **limits))
        on_trino = _scoped(loaded, serving.model_copy(update={"engine": "trino"}))
        engines = engines_line(service, lambda: build_service(on_trino, config_of(on_trino)),
                               questions(service, start, end, limits))  # fmt: skip
    finally:
        service.engine.close()
    rows = [ServedRow(r.start, r.key[0], int(r.values["orders"]), Decimal(r.values["revenue"]), r.status)
            for r in answer.rows]  # fmt: skip
    line = served_line(rows, answer.freshness.boundary, observed, 60)  # the answer's buckets are minutes
    watermark = reconciled["freshness"]["speed_watermark"]
    store = reconciliation_line(reconciled["rows"], parse_time(watermark) if watermark else None, observed)
    return [line, store, engines], answer.freshness.as_json()


Question = Callable[[DataService], Any]


def questions(service: DataService, start: str, end: str, limits: dict[str, int]) -> dict[str, Question]:
    """The API's questions over the workload, one per route and shape: revenue per minute, per hour in one
    currency, per day in one category, as the engine's JSON; the funnel per day and per minute; the
    reconciliation; an order of Gold's (the first by id); its customer's orders, two pages."""
    cfg = service.config.tables
    category = min(service.labels("category", service.metadata.state(cfg.revenue_daily)), default="unknown")
    currency = min(service.labels("currency", service.metadata.state(cfg.orders_1m)), default="EUR")
    orders = service.metadata.state(cfg.orders)
    found = service.engine.rows(select_sql(orders, "min(order_id)", dialect=service.engine.dialect)) if orders else []
    order_id = str(found[0][0]) if found and found[0][0] is not None else "none"

    def pages(s: DataService) -> list[Any]:
        customer = s.order(order_id)["customer_id"]
        query = orders_query(customer, None, None, "1", max_range_days=limits["max_range_days"])
        first = s.orders(query, None)
        cursor = first["next_cursor"]
        return [first, s.orders(query, Cursor.decode(cursor)) if cursor else None]

    return {
        "revenue per minute": lambda s: answer_json(s.revenue(revenue_query(start, end, "minute", None, None,
                                                                            **limits)), {}),
        f"revenue per hour in {currency}": lambda s: answer_json(s.revenue(revenue_query(start, end, "hour", currency,
                                                                                          None, **limits)), {}),
        f"revenue per day of {category}": lambda s: answer_json(s.revenue(revenue_query(start, end, "day", None,
                                                                                         category, **limits)), {}),
        "revenue per minute as JSON": lambda s: json.loads(s.revenue_json(revenue_query(start, end, "minute", None,
                                                                                        None, **limits))[0]),
        "funnel per day": lambda s: s.funnel(funnel_query(start, end, "day", **limits)),
        "funnel per minute": lambda s: s.funnel(funnel_query(start, end, "minute", **limits)),
        "reconciliation": lambda s: s.reconciliation(reconciliation_query(start, end, None, **limits)),
        f"order {order_id}": lambda s: s.order(order_id),
        "the order's customer's orders, two pages": pages,
    }  # fmt: skip


def comparable(answer: Any) -> Any:
    """An answer without what depends on the moment it was asked (each layer's lag behind the clock)."""
    if isinstance(answer, dict):
        return {k: comparable(v) for k, v in answer.items() if k not in ("gold_lag_s", "speed_lag_s")}
    if isinstance(answer, list):
        return [comparable(v) for v in answer]
    return answer


def engines_line(duckdb: DataService, connect_trino: Callable[[], DataService], asked: dict[str, Question]) -> Line:
    """The same questions asked of DuckDB and of Trino: every answer equal (rows, labels, freshness, snapshots)."""
    try:
        trino = connect_trino()
    except DataApiError as exc:
        return Line("api", ENGINES_SUBJECT, len(asked), 0, False, f"Trino cannot answer: {exc}")
    differ: list[str] = []
    try:
        for name, ask in asked.items():
            try:
                if comparable(ask(duckdb)) != comparable(ask(trino)):
                    differ.append(name)
            except DataApiError as exc:
                differ.append(f"{name} ({exc})")
    finally:
        trino.engine.close()
    detail = f"{len(asked)} questions, every answer equal on both engines"
    if differ:
        detail = f"{len(differ)} differ: {'; '.join(differ)}"
    return Line("api", ENGINES_SUBJECT, len(asked), len(asked) - len(differ), not differ, detail)
