"""The demo's look at the Data API: its revenue answer for the workload, read through the API's own library on the
demo's domain and namespaces (the service the stack runs answers the configured domain), and where to ask it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

from dp_core.config import LoadedConfig
from dp_data_api.merge import floor_time
from dp_data_api.params import reconciliation_query, revenue_query
from dp_data_api.server import build_service, config_of
from dp_demo.observe import Observed
from dp_demo.reconcile import Line, ServedRow, reconciliation_line, served_line
from dp_demo.workload import parse_time


def serving_check(loaded: LoadedConfig, domain: str, observed: Observed) -> tuple[list[Line], dict[str, Any]]:
    """The reconciled lines of the API's revenue per minute and of its reconciliation (Gold's
    ``reconciliation_1m``) over the workload, and the revenue answer's freshness."""
    settings = loaded.settings
    serving = settings.serving.model_copy(update={"domain": domain})
    scoped = replace(loaded, settings=settings.model_copy(update={"serving": serving}))
    times = [o["occurred_at"] for o in observed.silver_orders]
    if not times:
        return [Line("api", "revenue per minute final + provisional", 0, 0, True, "no orders to serve")], {}
    start = floor_time(min(times), 60)
    end = floor_time(max(times), 60) + dt.timedelta(minutes=1)
    service = build_service(scoped, config_of(scoped))
    try:
        query = revenue_query(start.isoformat(), end.isoformat(), "minute", None, None,
                              max_range_days=serving.max_range_days, max_rows=serving.max_rows)  # fmt: skip
        answer = service.revenue(query)
        checked = reconciliation_query(start.isoformat(), end.isoformat(), None, max_range_days=serving.max_range_days,
                                       max_rows=serving.max_rows)  # fmt: skip
        reconciled = service.reconciliation(checked)
    finally:
        service.engine.close()
    rows = [ServedRow(r.start, r.key[0], int(r.values["orders"]), Decimal(r.values["revenue"]), r.status)
            for r in answer.rows]  # fmt: skip
    line = served_line(rows, answer.freshness.boundary, observed, 60)  # the answer's buckets are minutes
    watermark = reconciled["freshness"]["speed_watermark"]
    store = reconciliation_line(reconciled["rows"], parse_time(watermark) if watermark else None, observed)
    return [line, store], answer.freshness.as_json()
