"""The merge rule: Gold final up to the boundary, the speed layer provisional after it, nothing twice or skipped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dp_data_api.merge import FINAL, PROVISIONAL, Cell, Grain, Span, boundary, floor_time, merge

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
MIN = 60


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def cell(minute: int, orders: int, revenue: str = "0", currency: str = "EUR") -> Cell:
    return Cell(at(minute), (currency,), {"orders": orders, "revenue": Decimal(revenue)})


def span(speed: list[Cell], window_s: int = MIN) -> Span | None:
    """The speed layer's span as the service reads it: its first window's start to its last window's end."""
    if not speed:
        return None
    return min(c.start for c in speed), max(c.start for c in speed) + dt.timedelta(seconds=window_s)


def per_minute(
    gold: list[Cell], speed: list[Cell], watermark: dt.datetime | None, minutes: int = 10
) -> tuple[dt.datetime | None, list[tuple[int, int, str]]]:
    edge, rows = merge(
        gold, speed, gold_watermark=watermark, gold_period_s=MIN, grain="minute", start=at(0), end=at(minutes),
        speed_span=span(speed),
    )  # fmt: skip
    return edge, [(int((r.start - T0).total_seconds() // 60), int(r.values["orders"]), r.status) for r in rows]


def test_floor_time_aligns_to_the_epoch_in_utc() -> None:
    assert floor_time(dt.datetime(2026, 12, 7, 12, 3, 59, 999999, tzinfo=dt.UTC), 60) == at(3)
    assert floor_time(dt.datetime(2026, 12, 7, 13, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), 86400) == (
        dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    )
    assert floor_time(at(3), 60) == at(3)


def test_boundary_inside_a_window_makes_that_window_provisional() -> None:
    gold = [cell(m, 10 + m) for m in range(6)]  # Gold holds rows up to minute 5, complete only up to 12:03:30
    speed = [cell(m, 100 + m) for m in range(2, 8)]  # the speed layer from minute 2 on
    edge, rows = per_minute(gold, speed, at(3) + dt.timedelta(seconds=30))
    assert edge == at(3)
    assert rows == [
        (0, 10, FINAL), (1, 11, FINAL), (2, 12, FINAL),
        (3, 103, PROVISIONAL), (4, 104, PROVISIONAL), (5, 105, PROVISIONAL), (6, 106, PROVISIONAL),
        (7, 107, PROVISIONAL),
    ]  # fmt: skip


def test_every_window_comes_from_exactly_one_side() -> None:
    gold = [cell(m, 1) for m in range(10)]
    speed = [cell(m, 1000) for m in range(10)]
    for wm_minute in range(11):
        _, rows = per_minute(gold, speed, at(wm_minute))
        assert [r[0] for r in rows] == list(range(10))  # nothing skipped, nothing twice
        assert [r[2] for r in rows] == [FINAL] * wm_minute + [PROVISIONAL] * (10 - wm_minute)


def test_empty_speed_side_gives_golds_rows_after_the_boundary_as_provisional() -> None:
    gold = [cell(m, 5) for m in range(8)]
    edge, rows = per_minute(gold, [], at(4))
    assert edge == at(4)
    assert rows == [(m, 5, FINAL) for m in range(4)] + [(m, 5, PROVISIONAL) for m in range(4, 8)]


def test_after_the_boundary_gold_fills_only_what_the_speed_layer_does_not_cover() -> None:
    # the speed layer started at minute 6 and has closed windows up to minute 7; Gold holds minutes 0-8
    gold = [cell(m, 1) for m in range(9)]
    speed = [cell(6, 50), cell(7, 60)]
    _, rows = per_minute(gold, speed, at(3))
    assert rows == [
        (0, 1, FINAL), (1, 1, FINAL), (2, 1, FINAL),
        (3, 1, PROVISIONAL), (4, 1, PROVISIONAL), (5, 1, PROVISIONAL),  # before the speed layer: Gold's
        (6, 50, PROVISIONAL), (7, 60, PROVISIONAL),  # the speed layer's
        (8, 1, PROVISIONAL),  # after its last window: Gold's
    ]  # fmt: skip


def test_empty_gold_side_is_all_provisional() -> None:
    speed = [cell(m, 7) for m in range(3)]
    edge, rows = per_minute([], speed, None)
    assert edge is None
    assert rows == [(m, 7, PROVISIONAL) for m in range(3)]


def test_late_events_are_in_the_final_rows_once_gold_has_them() -> None:
    # the speed layer closed minute 1 without a late order (it went to its late table): 3 orders; Gold has all 4
    speed = [cell(0, 2), cell(1, 3), cell(2, 1)]
    gold = [cell(0, 2), cell(1, 4)]
    assert per_minute(gold, speed, None)[1] == [(0, 2, PROVISIONAL), (1, 3, PROVISIONAL), (2, 1, PROVISIONAL)]
    assert per_minute(gold, speed, at(2))[1] == [(0, 2, FINAL), (1, 4, FINAL), (2, 1, PROVISIONAL)]


def test_roll_up_sums_per_bucket_and_key_and_marks_a_straddling_bucket_provisional() -> None:
    gold = [cell(m, 1, "1.10") for m in range(0, 120)] + [cell(5, 2, "2.00", currency="USD")]
    speed = [cell(m, 10, "0.01") for m in range(90, 180)]
    edge, rows = merge(
        gold, speed, gold_watermark=at(90) + dt.timedelta(seconds=1), gold_period_s=MIN, grain="hour",
        start=at(0), end=at(180), speed_span=span(speed),
    )  # fmt: skip
    assert edge == at(90)
    got = [(r.start, r.end, r.key, r.values["orders"], r.values["revenue"], r.status) for r in rows]
    assert got == [
        (at(0), at(60), ("EUR",), 60, Decimal("66.00"), FINAL),
        (at(0), at(60), ("USD",), 2, Decimal("2.00"), FINAL),
        (at(60), at(120), ("EUR",), 30 + 30 * 10, Decimal("33.00") + Decimal("0.30"), PROVISIONAL),
        (at(120), at(180), ("EUR",), 600, Decimal("0.60"), PROVISIONAL),
    ]


def test_a_daily_gold_table_puts_the_boundary_at_midnight() -> None:
    day = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    gold = [Cell(day, ("books", "EUR"), {"orders": 40}), Cell(day + dt.timedelta(days=1), ("books", "EUR"),
            {"orders": 3})]  # fmt: skip
    speed = [Cell(day + dt.timedelta(days=1, minutes=m), ("books", "EUR"), {"orders": 1}) for m in range(5)]
    wm = day + dt.timedelta(days=1, hours=20)
    assert boundary(wm, 86400) == day + dt.timedelta(days=1)
    edge, rows = merge(
        gold, speed, gold_watermark=wm, gold_period_s=86400, grain="day", start=day, end=day + dt.timedelta(days=2),
        speed_span=span(speed),
    )  # fmt: skip
    assert edge == day + dt.timedelta(days=1)
    assert [(r.start, r.values["orders"], r.status) for r in rows] == [
        (day, 40, FINAL),
        (day + dt.timedelta(days=1), 5, PROVISIONAL),
    ]


def test_the_range_is_half_open() -> None:
    speed = [cell(m, 1) for m in range(5)]
    _, rows = merge(
        [], speed, gold_watermark=None, gold_period_s=MIN, grain="minute", start=at(1), end=at(3),
        speed_span=span(speed),
    )  # fmt: skip
    assert [r.start for r in rows] == [at(1), at(2)]


def test_the_sql_form_of_the_rule_answers_as_the_python_one() -> None:
    """The engine runs :func:`merge_sql`; :func:`merge` is the rule's reference: random sides, boundaries, spans and
    grains give the same rows."""
    import random

    from dp_data_api.engine import DuckDBEngine
    from dp_data_api.merge import Side, merge_sql, rows_of

    rng = random.Random(7)
    engine = DuckDBEngine.in_memory()
    try:
        for case in range(30):
            gold = [cell(m, rng.randint(1, 9), f"{rng.randint(0, 999)}.{rng.randint(0, 99):02d}", rng.choice("EU"))
                    for m in rng.sample(range(-30, 150), rng.randint(0, 60))]  # fmt: skip
            first = rng.randint(-10, 120)
            speed = [cell(m, rng.randint(1, 9), f"{rng.randint(0, 99)}.50", rng.choice("EU"))
                     for m in rng.sample(range(first, first + 60), rng.randint(0, 40))]  # fmt: skip
            gold = list({(c.start, c.key): c for c in gold}.values())  # one row per window and key, as the tables
            speed = list({(c.start, c.key): c for c in speed}.values())
            watermark = None if case % 5 == 0 else at(rng.randint(-20, 140)) + dt.timedelta(seconds=rng.randint(0, 59))
            grain: Grain = rng.choice(["minute", "hour", "day"])
            begin, finish = at(rng.randint(-40, 60)), at(rng.randint(61, 200))
            span_ = span(speed)
            _, want = merge(gold, speed, gold_watermark=watermark, gold_period_s=MIN, grain=grain, start=begin,
                            end=finish, speed_span=span_)  # fmt: skip
            for name, cells in (("g", gold), ("s", speed)):
                engine.execute(f"CREATE OR REPLACE TABLE lake.{name} (window_start TIMESTAMPTZ, currency VARCHAR, "
                               "orders BIGINT, revenue DECIMAL(18, 2))")  # fmt: skip
                for c in cells:
                    engine.rows(f"INSERT INTO lake.{name} VALUES (?, ?, ?, ?)",
                                [c.start, c.key[0], c.values["orders"], c.values["revenue"]])  # fmt: skip
            sides = [Side(f"lake.{n}", "window_start", ("currency",), ("orders", "revenue"), "TRUE", ())
                     for n in ("g", "s")]  # fmt: skip
            sql, params = merge_sql(*sides, edge=boundary(watermark, MIN), gold_period_s=MIN, grain=grain,
                                    start=begin, end=finish, speed_span=span_, dialect=engine.dialect)  # fmt: skip
            got = rows_of(engine.rows(sql, params), 1, ("orders", "revenue"), grain)
            assert [(r.start, r.key, dict(r.values), r.status) for r in got] == [
                (r.start, r.key, dict(r.values), r.status) for r in want
            ], f"case {case}"
    finally:
        engine.close()
