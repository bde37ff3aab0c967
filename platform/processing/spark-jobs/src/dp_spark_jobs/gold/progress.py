"""Gold's progress and completeness in plain Python: what a Gold snapshot records, and how the next run reads it.

Every snapshot ``etl_gold`` commits carries, in its summary (so a crash can never separate data and progress):

``dp.silver.batch-id``
    The highest Silver ``_batch_id`` folded into the table, over all the Silver tables it is computed from.
``dp.silver.batch-ids``
    The same per Silver source table, as JSON (``{"silver.commerce__order_placed": 1795640565095, ...}``). The next
    run treats as new the rows of each source whose ``_batch_id`` is above that source's value. Tracking each source
    on its own keeps Gold exact even when it reads Silver while a Silver run is half-way through its tables (one
    table already at the new batch, another not yet): a single maximum would skip the lagging table's rows.
``dp.watermark``
    The event time up to which the table is complete (ISO 8601, UTC): see :func:`completeness_watermark`.
``dp.gold.days``
    The days the snapshot recomputed, as ranges (``2026-11-20..2026-11-22,2026-11-25``): the event-time range that
    went into the snapshot, for the offset ledger and for people reading the history.
``dp.job``
    ``etl_gold``.

Nothing here imports pyspark: these are the rules, unit-tested on their own.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dp_spark_jobs.errors import BatchJobFailed
from dp_spark_jobs.tables import JOB_KEY, SILVER_BATCH_KEY, WATERMARK_KEY

BATCH_IDS_KEY = "dp.silver.batch-ids"
DAYS_KEY = "dp.gold.days"
JOB_NAME = "etl_gold"
#: "nothing folded in yet": every Silver ``_batch_id`` is above it
NOTHING_FOLDED = -1
#: how late an event may arrive, in event time, after the newest event of its source; the watermark trails by it
DEFAULT_ALLOWED_LATENESS = dt.timedelta(hours=1)


@dataclass(frozen=True)
class GoldProgress:
    """How far a Gold table has folded in Silver, as its latest snapshot that says so records it.

    Attributes:
        batch_id: ``dp.silver.batch-id``; ``None`` before the first run.
        batch_ids: ``dp.silver.batch-ids`` by Silver table; ``None`` when the snapshot predates per-source progress.
        watermark: ``dp.watermark``; ``None`` when no snapshot has claimed completeness yet.
        snapshot_id: the snapshot that carried them.
    """

    batch_id: int | None = None
    batch_ids: Mapping[str, int] | None = None
    watermark: dt.datetime | None = None
    snapshot_id: int | None = None

    def folded(self, source: str) -> int:
        """The highest ``_batch_id`` of ``source`` already in the table; rows above it are new."""
        if self.batch_ids is not None:
            return self.batch_ids.get(source, NOTHING_FOLDED)
        return self.batch_id if self.batch_id is not None else NOTHING_FOLDED


def read_progress(table: str, snapshots: Iterable[tuple[int, Mapping[str, str]]]) -> GoldProgress:
    """The progress recorded by the newest snapshot that carries ``dp.silver.batch-id``.

    Args:
        table: the Gold table, for error messages.
        snapshots: ``(snapshot id, summary)`` of the current snapshot and its ancestors, newest first. Snapshots
            without the key (table maintenance, a compaction) are skipped.

    Raises:
        BatchJobFailed: the summary holds a value this code did not write.
    """
    for snapshot_id, summary in snapshots:
        if SILVER_BATCH_KEY not in summary:
            continue
        try:
            batch_id = int(summary[SILVER_BATCH_KEY])
            raw = summary.get(BATCH_IDS_KEY)
            batch_ids = {str(k): int(v) for k, v in json.loads(raw).items()} if raw is not None else None
            mark = summary.get(WATERMARK_KEY)
            watermark = parse_watermark(mark) if mark else None
        except (ValueError, TypeError, AttributeError) as exc:
            raise BatchJobFailed(
                f"{table}: snapshot {snapshot_id} carries unreadable progress ({SILVER_BATCH_KEY}="
                f"{summary.get(SILVER_BATCH_KEY)!r}, {BATCH_IDS_KEY}={summary.get(BATCH_IDS_KEY)!r}, "
                f"{WATERMARK_KEY}={summary.get(WATERMARK_KEY)!r}): {exc}"
            ) from exc
        return GoldProgress(batch_id, batch_ids, watermark, snapshot_id)
    return GoldProgress()


def completeness_watermark(
    latest_event_times: Mapping[str, dt.datetime | None],
    allowed_lateness: dt.timedelta,
    previous: dt.datetime | None = None,
) -> dt.datetime | None:
    """The event time up to which a Gold table is complete.

    ``min`` over the table's Silver event tables of their newest ``occurred_at``, minus the allowed lateness: every
    source has seen events up to at least that point, and an event later than the lateness is not expected. The
    watermark never moves back (a backfill of old days keeps it). While a source has no events at all nothing can
    be claimed, so the previous watermark (or none) stands.

    Args:
        latest_event_times: the newest event time of each source table, ``None`` for an empty one.
        allowed_lateness: how far behind its source's newest event an event may still arrive.
        previous: the watermark the table already carries.
    """
    if allowed_lateness < dt.timedelta(0):
        raise BatchJobFailed(f"allowed lateness must not be negative, got {allowed_lateness}")
    times = list(latest_event_times.values())
    if not times or any(t is None for t in times):
        return previous
    candidate = min(t for t in times if t is not None) - allowed_lateness
    return candidate if previous is None else max(previous, candidate)


def format_watermark(when: dt.datetime) -> str:
    """ISO 8601 in UTC with microseconds: ``2026-11-25T09:15:00.000000+00:00``."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise BatchJobFailed(f"a watermark needs a time zone, got {when.isoformat()}")
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_watermark(text: str) -> dt.datetime:
    """The inverse of :func:`format_watermark` (any ISO 8601 form with an offset)."""
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"watermark {text!r} has no UTC offset")
    return when.astimezone(dt.UTC)


def days_in_range(first: dt.date, last: dt.date) -> set[dt.date]:
    """Every day from ``first`` to ``last``, both included (a backfill's ``--from``/``--to``)."""
    if first > last:
        raise BatchJobFailed(f"backfill range {first.isoformat()}..{last.isoformat()} ends before it starts")
    return {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}


def day_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days folded into inclusive ``(first, last)`` ranges, in order."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] + dt.timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def format_days(days: Iterable[dt.date]) -> str:
    """``2026-11-20..2026-11-22,2026-11-25``: the days as ranges (a single day as itself)."""
    return ",".join(
        first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
        for first, last in day_ranges(days)
    )


def snapshot_properties(
    batch_ids: Mapping[str, int], previous: GoldProgress, watermark: dt.datetime | None, days: Iterable[dt.date]
) -> dict[str, str]:
    """The summary properties of a Gold commit that folds Silver in up to ``batch_ids``.

    A source without rows keeps what the previous snapshot recorded for it, so progress never goes back.
    """
    merged = {source: max(batch, previous.folded(source)) for source, batch in batch_ids.items()}
    if previous.batch_ids is not None:
        for source, batch in previous.batch_ids.items():
            merged.setdefault(source, batch)
    overall = max([*merged.values(), previous.batch_id if previous.batch_id is not None else NOTHING_FOLDED])
    props = {
        SILVER_BATCH_KEY: str(overall),
        BATCH_IDS_KEY: json.dumps(dict(sorted(merged.items())), separators=(",", ":")),
        DAYS_KEY: format_days(days),
        JOB_KEY: JOB_NAME,
    }
    if watermark is not None:
        props[WATERMARK_KEY] = format_watermark(watermark)
    return props


__all__ = [
    "BATCH_IDS_KEY",
    "DAYS_KEY",
    "DEFAULT_ALLOWED_LATENESS",
    "JOB_NAME",
    "NOTHING_FOLDED",
    "GoldProgress",
    "completeness_watermark",
    "day_ranges",
    "days_in_range",
    "format_days",
    "format_watermark",
    "parse_watermark",
    "read_progress",
    "snapshot_properties",
]
