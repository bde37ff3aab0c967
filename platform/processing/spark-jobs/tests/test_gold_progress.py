"""Gold's progress rules without Spark: reading what a snapshot recorded, the watermark, days and ranges."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dp_spark_jobs.errors import BatchJobFailed
from dp_spark_jobs.gold.progress import (
    BATCH_IDS_KEY,
    DAYS_KEY,
    NOTHING_FOLDED,
    GoldProgress,
    completeness_watermark,
    day_ranges,
    days_in_range,
    format_days,
    format_watermark,
    parse_watermark,
    read_progress,
    snapshot_properties,
)
from dp_spark_jobs.tables import JOB_KEY, SILVER_BATCH_KEY, WATERMARK_KEY

D = dt.date(2026, 11, 20)
T = dt.datetime(2026, 11, 25, 10, 15, 30, 123456, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_progress_comes_from_the_newest_snapshot_that_records_it() -> None:
    snapshots = [
        (3, {"added-records": "0"}),  # a compaction: no progress of its own
        (2, {SILVER_BATCH_KEY: "17", BATCH_IDS_KEY: '{"s.a":17,"s.b":12}', WATERMARK_KEY: format_watermark(T)}),
        (1, {SILVER_BATCH_KEY: "5"}),
    ]
    progress = read_progress("gold.t", snapshots)
    assert progress == GoldProgress(17, {"s.a": 17, "s.b": 12}, T, 2)
    assert progress.folded("s.a") == 17
    assert progress.folded("s.b") == 12
    assert progress.folded("s.new") == NOTHING_FOLDED  # a source the table has never folded in: everything is new


def test_progress_before_per_source_ids_falls_back_to_the_overall_batch_id() -> None:
    progress = read_progress("gold.t", [(1, {SILVER_BATCH_KEY: "5"})])
    assert progress.folded("anything") == 5
    assert progress.watermark is None


def test_no_progress_at_all_means_everything_is_new() -> None:
    assert read_progress("gold.t", []) == GoldProgress()
    assert GoldProgress().folded("s.a") == NOTHING_FOLDED


def test_unreadable_progress_names_the_table_and_the_snapshot() -> None:
    with pytest.raises(BatchJobFailed, match=r"gold\.t: snapshot 9 carries unreadable progress"):
        read_progress("gold.t", [(9, {SILVER_BATCH_KEY: "seventeen"})])
    with pytest.raises(BatchJobFailed, match="snapshot 9"):
        read_progress("gold.t", [(9, {SILVER_BATCH_KEY: "1", WATERMARK_KEY: "2026-11-25T10:00:00"})])


def test_watermark_is_the_slowest_source_minus_the_lateness() -> None:
    latest = {"orders": T, "payments": T - dt.timedelta(minutes=30)}
    assert completeness_watermark(latest, HOUR) == T - dt.timedelta(minutes=90)
    assert completeness_watermark(latest, dt.timedelta(0)) == T - dt.timedelta(minutes=30)


def test_watermark_never_moves_back() -> None:
    later = T + dt.timedelta(days=1)
    assert completeness_watermark({"orders": T}, HOUR, previous=later) == later
    assert completeness_watermark({"orders": T}, HOUR, previous=T - 2 * HOUR) == T - HOUR


def test_a_source_without_events_claims_nothing() -> None:
    assert completeness_watermark({"orders": T, "payments": None}, HOUR) is None
    assert completeness_watermark({"orders": T, "payments": None}, HOUR, previous=T - HOUR) == T - HOUR
    assert completeness_watermark({}, HOUR) is None


def test_negative_lateness_is_refused() -> None:
    with pytest.raises(BatchJobFailed, match="lateness"):
        completeness_watermark({"orders": T}, -HOUR)


def test_watermark_text_round_trips_in_utc() -> None:
    text = format_watermark(T)
    assert text == "2026-11-25T10:15:30.123456+00:00"
    assert parse_watermark(text) == T
    paris = dt.datetime(2026, 11, 25, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_watermark(paris) == "2026-11-25T10:00:00.000000+00:00"
    assert parse_watermark("2026-11-25T10:00:00Z") == dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)
    with pytest.raises(BatchJobFailed, match="time zone"):
        format_watermark(dt.datetime(2026, 11, 25))  # a naive time: refused


def test_backfill_days_include_both_ends() -> None:
    assert days_in_range(D, D + dt.timedelta(days=2)) == {D, D + dt.timedelta(days=1), D + dt.timedelta(days=2)}
    assert days_in_range(D, D) == {D}
    with pytest.raises(BatchJobFailed, match=r"2026-11-20\.\.2026-11-19 ends before it starts"):
        days_in_range(D, D - dt.timedelta(days=1))


def test_days_fold_into_ranges() -> None:
    days = [D + dt.timedelta(days=n) for n in (5, 0, 1, 2, 9, 1)]
    assert day_ranges(days) == [
        (D, D + dt.timedelta(days=2)),
        (D + dt.timedelta(days=5), D + dt.timedelta(days=5)),
        (D + dt.timedelta(days=9), D + dt.timedelta(days=9)),
    ]
    assert format_days(days) == "2026-11-20..2026-11-22,2026-11-25,2026-11-29"
    assert day_ranges([]) == []


def test_snapshot_properties_record_every_source_and_never_go_back() -> None:
    previous = GoldProgress(20, {"s.a": 20, "s.b": 12, "s.gone": 3}, None, 1)
    props = snapshot_properties({"s.a": 25, "s.b": 11, "s.c": 4}, previous, T, [D, D + dt.timedelta(days=1)])
    assert json.loads(props[BATCH_IDS_KEY]) == {"s.a": 25, "s.b": 12, "s.c": 4, "s.gone": 3}
    assert props[SILVER_BATCH_KEY] == "25"
    assert props[WATERMARK_KEY] == format_watermark(T)
    assert props[DAYS_KEY] == "2026-11-20..2026-11-21"
    assert props[JOB_KEY] == "etl_gold"
    # round trip: what one run writes, the next reads back
    assert read_progress("gold.t", [(2, props)]) == GoldProgress(25, json.loads(props[BATCH_IDS_KEY]), T, 2)


def test_snapshot_properties_without_watermark_leave_the_key_out() -> None:
    props = snapshot_properties({}, GoldProgress(), None, [D])
    assert WATERMARK_KEY not in props
    assert props[SILVER_BATCH_KEY] == str(NOTHING_FOLDED)
