"""Gold's freshness SLA on the marts' states (`dp transform status --max-lag-s`)."""

from __future__ import annotations

import datetime as dt

from dp_transform.status import MartState, parse_watermark, stale_marts

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def test_a_mart_is_stale_when_missing_or_its_watermark_is_older_than_the_sla() -> None:
    states = [
        MartState("gold.fct_orders", 1, NOW, NOW - dt.timedelta(minutes=30)),
        MartState("gold.agg_revenue_daily", 2, NOW, NOW - dt.timedelta(hours=3)),
        MartState("gold.dim_products", 3, NOW, None),  # a dimension carries no watermark: not held to the SLA
        MartState("gold.agg_orders_1m", None, None, None),
    ]
    problems = stale_marts(states, NOW, max_lag_s=3600)
    assert problems == [
        "gold.agg_revenue_daily: watermark 2026-12-07T09:00:00+00:00 is 3:00:00 old",
        "gold.agg_orders_1m: not built",
    ]
    assert stale_marts(states[:1], NOW, max_lag_s=3600) == []


def test_watermarks_are_read_as_utc_and_garbage_is_none() -> None:
    assert parse_watermark("2026-12-07T10:00:00+01:00") == dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    assert parse_watermark("2026-12-07 10:00:00") == dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    assert parse_watermark("soon") is None and parse_watermark(None) is None
    assert MartState("gold.x", 1, NOW, None).as_dict()["committed_at"] == "2026-12-07T12:00:00+00:00"
