"""The Lambda merge rule (pure): one answer per question from Gold (final) and the speed layer (provisional).

The model is Apache Pinot's hybrid table: one logical table over an offline table (Gold) and a realtime table (the
speed layer's ``_rt`` tables), split at a *time boundary*.

* The boundary is Gold's watermark (the event time up to which Gold is complete) rounded **down** to the period of
  the Gold table that answers (a minute for ``agg_orders_1m``, a day for ``agg_revenue_daily``): only whole periods
  can be final.
* A source period that **ends at or before** the boundary comes from Gold and is ``final``; one that **starts at or
  after** it comes from the speed layer and is ``provisional``. Because the boundary is a period edge, every period
  is on exactly one side: no window is counted twice or skipped. Gold's rows after the boundary (a mart holds rows
  past its watermark while late events may still arrive) and the speed layer's rows before it are not read.
* After the boundary, a Gold period the speed layer does not cover at all (outside the span of the windows it has
  written: before it started, after its watermark) is read from Gold as ``provisional``, rather than left out: a
  speed layer that started late or stopped does not hide what Gold already holds. A Gold period that overlaps the
  speed layer's span is not read after the boundary, so again each period has one source.
* With no Gold watermark yet, everything after is provisional the same way; with no speed layer, Gold alone answers.
* Periods are then rolled up to the asked grain (minute, hour, day). A bucket is ``final`` when every period in it
  is, else ``provisional`` (it straddles the boundary, or lies after it).

Everything is in UTC; periods and buckets are aligned to the epoch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from dp_data_api.dialect import Dialect

Grain = Literal["minute", "hour", "day"]
Status = Literal["final", "provisional"]
GRAINS: Mapping[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
FINAL: Status = "final"
PROVISIONAL: Status = "provisional"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Number = int | Decimal


def floor_time(t: dt.datetime, period_s: int) -> dt.datetime:
    """``t`` rounded down to a multiple of ``period_s`` seconds since the epoch (UTC)."""
    seconds = (t - _EPOCH) // dt.timedelta(seconds=1)
    return _EPOCH + dt.timedelta(seconds=seconds - seconds % period_s)


def boundary(gold_watermark: dt.datetime | None, period_s: int) -> dt.datetime | None:
    """The time boundary: Gold's watermark rounded down to its table's period (None: Gold has no watermark yet)."""
    return None if gold_watermark is None else floor_time(gold_watermark, period_s)


@dataclass(frozen=True)
class Cell:
    """One row of a source table: a period starting at ``start``, its group key (e.g. currency) and its measures."""

    start: dt.datetime
    key: tuple[str, ...]
    values: Mapping[str, Number]


@dataclass(frozen=True)
class Row:
    """One bucket of the answer."""

    start: dt.datetime
    end: dt.datetime
    key: tuple[str, ...]
    values: Mapping[str, Number]
    status: Status


Span = tuple[dt.datetime, dt.datetime]


def split(
    gold: Iterable[Cell],
    speed: Iterable[Cell],
    edge: dt.datetime | None,
    gold_period_s: int,
    speed_span: Span | None,
) -> list[tuple[Cell, Status]]:
    """The cells of both sides that the boundary ``edge`` keeps, each with its status (see the module's rule).
    ``speed_span``: from the start of the speed layer's first window to the end of its last (None: it has none)."""
    period = dt.timedelta(seconds=gold_period_s)

    def covered(start: dt.datetime) -> bool:
        return speed_span is not None and start < speed_span[1] and start + period > speed_span[0]

    kept: list[tuple[Cell, Status]] = []
    for c in gold:
        if edge is not None and c.start + period <= edge:
            kept.append((c, FINAL))
        elif (edge is None or c.start >= edge) and not covered(c.start):
            kept.append((c, PROVISIONAL))
    kept.extend((c, PROVISIONAL) for c in speed if edge is None or c.start >= edge)
    return kept


def roll_up(cells: Iterable[tuple[Cell, Status]], grain: Grain, start: dt.datetime, end: dt.datetime) -> list[Row]:
    """The kept cells summed per bucket of ``grain`` and key, within ``[start, end)``, in time then key order."""
    step = GRAINS[grain]
    sums: dict[tuple[dt.datetime, tuple[str, ...]], dict[str, Number]] = {}
    statuses: dict[tuple[dt.datetime, tuple[str, ...]], Status] = {}
    for cell, status in cells:
        if not start <= cell.start < end:
            continue
        bucket = (floor_time(cell.start, step), cell.key)
        total = sums.setdefault(bucket, {})
        for name, value in cell.values.items():
            total[name] = total.get(name, 0) + value
        if statuses.get(bucket) != PROVISIONAL:
            statuses[bucket] = status
    width = dt.timedelta(seconds=step)
    return [
        Row(bucket_start, bucket_start + width, key, sums[(bucket_start, key)], statuses[(bucket_start, key)])
        for bucket_start, key in sorted(sums)
    ]


def merge(
    gold: Iterable[Cell],
    speed: Iterable[Cell],
    *,
    gold_watermark: dt.datetime | None,
    gold_period_s: int,
    grain: Grain,
    start: dt.datetime,
    end: dt.datetime,
    speed_span: Span | None,
) -> tuple[dt.datetime | None, list[Row]]:
    """The boundary and the answer's rows: Gold up to the boundary (final), the speed layer after it (provisional),
    rolled up to ``grain`` within ``[start, end)``."""
    edge = boundary(gold_watermark, gold_period_s)
    return edge, roll_up(split(gold, speed, edge, gold_period_s, speed_span), grain, start, end)


@dataclass(frozen=True)
class Side:
    """One source of the merge as SQL: its table (as of its snapshot), the expression of each cell's start, its key
    and measure columns, and a filter with its bound values."""

    table: str
    start: str
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    where: str
    params: tuple[object, ...]


def merge_sql(
    gold: Side | None,
    speed: Side | None,
    *,
    edge: dt.datetime | None,
    gold_period_s: int,
    grain: Grain,
    start: dt.datetime,
    end: dt.datetime,
    speed_span: Span | None,
    dialect: Dialect,
) -> tuple[str, list[object]]:
    """The same rule as :func:`split` and :func:`roll_up`, as one SQL query for the engine, in its ``dialect`` (the
    answer's rows are summed where the data is, not in Python): ``(bucket start in epoch microseconds, keys...,
    measures..., final)`` per bucket and key, in time then key order; ``final`` is true when every period in the
    bucket is.

    The two sides must name their keys and measures alike (``AS`` in the side's columns)."""
    parts: list[str] = []
    params: list[object] = []
    period = f"INTERVAL '{int(gold_period_s)}' SECOND"
    for side, kind in ((gold, "gold"), (speed, "speed")):
        if side is None:
            continue
        columns = ", ".join((f"{side.start} AS t", *side.keys, *side.measures))
        keep: list[str] = []
        keep_params: list[object] = []
        if kind == "gold":
            final = "FALSE"
            if edge is not None:
                final = f"({side.start} + {period} <= ?)"
                keep.append(final)
                keep_params.append(edge)
            after = [] if edge is None else [f"{side.start} >= ?"]
            after_params: list[object] = [] if edge is None else [edge]
            if speed_span is not None:  # not overlapping the speed layer's windows
                after.append(f"NOT ({side.start} < ? AND {side.start} + {period} > ?)")
                after_params += [speed_span[1], speed_span[0]]
            keep.append("(" + (" AND ".join(after) or "TRUE") + ")")
            keep_params += after_params
            flag = final
            flag_params: list[object] = [edge] if edge is not None else []
        else:
            keep.append("TRUE" if edge is None else f"{side.start} >= ?")
            keep_params += [] if edge is None else [edge]
            flag, flag_params = "FALSE", []
        parts.append(
            f"SELECT {columns}, {flag} AS final FROM {side.table} WHERE ({side.where}) AND ({' OR '.join(keep)})"  # noqa: S608
        )
        params += [*flag_params, *side.params, *keep_params]
    if not parts:
        return "", []
    side = gold or speed
    assert side is not None
    keys = [k.rsplit(" AS ", 1)[-1] for k in side.keys]
    measures = [m.rsplit(" AS ", 1)[-1] for m in side.measures]
    sums = ", ".join(f"sum({m}) AS {m}" for m in measures)
    group = ", ".join(["b", *keys])
    bucket = dialect.epoch(f"date_trunc('{grain}', t)")
    # the bucket is named in a subquery: Trino groups by expressions, not by the select list's aliases
    sql = (
        f"SELECT {group}, {sums}, bool_and(final) AS final FROM (SELECT {bucket} AS b, {', '.join(keys)}, "  # noqa: S608
        f"{', '.join(measures)}, final FROM ({' UNION ALL '.join(parts)}) WHERE t >= ? AND t < ?) "
        f"GROUP BY {group} ORDER BY {group}"
    )
    return sql, [*params, start, end]


def rows_of(records: Iterable[tuple[object, ...]], keys: int, measures: tuple[str, ...], grain: Grain) -> list[Row]:
    """The engine's rows of :func:`merge_sql` as :class:`Row` values."""
    width = dt.timedelta(seconds=GRAINS[grain])
    out = []
    for r in records:
        begin = _EPOCH + dt.timedelta(microseconds=int(r[0]))  # type: ignore[call-overload]
        values = dict(zip(measures, r[1 + keys : 1 + keys + len(measures)], strict=True))
        out.append(Row(begin, begin + width, tuple(str(k) for k in r[1 : 1 + keys]), values,  # type: ignore[arg-type]
                       FINAL if r[-1] else PROVISIONAL))  # fmt: skip
    return out


def rows_json_sql(sql: str, keys: tuple[str, ...], measures: tuple[str, ...], grain: Grain, dialect: Dialect) -> str:
    """The rows of :func:`merge_sql` as one JSON array the engine writes: per row ``window_start``, ``window_end``
    (RFC 3339, UTC), the keys, the measures (``revenue`` as an exact decimal string) and ``status``, in the order of
    :func:`rows_of` (the API's JSON is the same either way). DuckDB builds a list of structs; Trino an array of
    named rows cast to JSON (each becomes an object)."""
    step_us = GRAINS[grain] * 1_000_000
    names = [k.rsplit(" AS ", 1)[-1] for k in keys]
    values = [m.rsplit(" AS ", 1)[-1] for m in measures]
    status = "CASE WHEN final THEN 'final' ELSE 'provisional' END"
    order = ", ".join(["b", *names])
    if dialect.name == "trino":
        fields = [_trino_iso("b"), _trino_iso(f"(b + {step_us})"), *names,
                  *(f"CAST({m} AS VARCHAR)" if m == "revenue" else m for m in values), status]  # fmt: skip
        types = ["window_start VARCHAR", "window_end VARCHAR", *(f"{k} VARCHAR" for k in names),
                 *(f"{m} VARCHAR" if m == "revenue" else f"{m} BIGINT" for m in values), "status VARCHAR"]  # fmt: skip
        row = f"CAST(ROW({', '.join(fields)}) AS ROW({', '.join(types)}))"
        return (
            f"SELECT CASE WHEN count(*) = 0 THEN '[]' ELSE json_format(CAST(array_agg({row} ORDER BY {order}) "  # noqa: S608
            f"AS JSON)) END FROM ({sql})"
        )
    fmt = "'%Y-%m-%dT%H:%M:%SZ'"
    members = [f"'window_start': strftime(make_timestamp(b), {fmt})",
               f"'window_end': strftime(make_timestamp(b + {step_us}), {fmt})", *(f"'{k}': {k}" for k in names),
               *(f"'{m}': CAST({m} AS VARCHAR)" if m == "revenue" else f"'{m}': {m}" for m in values),
               f"'status': {status}"]  # fmt: skip
    return (
        f"SELECT CASE WHEN count(*) = 0 THEN '[]' ELSE CAST(to_json(list({{{', '.join(members)}}} ORDER BY {order})) "  # noqa: S608
        f"AS VARCHAR) END FROM ({sql})"
    )


def _trino_iso(us: str) -> str:
    """Trino: microseconds since the epoch (whole seconds) as RFC 3339 in UTC."""
    pattern = "'yyyy-MM-dd''T''HH:mm:ss''Z'''"
    return f"format_datetime(from_unixtime({us} / 1000000) AT TIME ZONE 'UTC', {pattern})"
