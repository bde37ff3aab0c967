"""The engines' SQL where it differs, and Trino's rows in the shape DuckDB gives them."""

from __future__ import annotations

import datetime as dt

from dp_data_api import dialect
from dp_data_api.engine import DuckDBEngine
from dp_data_api.trino_engine import plain


def test_a_table_at_a_snapshot_in_each_dialect() -> None:
    assert dialect.duckdb("lake").table("gold", "agg_orders_1m", 42) == 'lake."gold"."agg_orders_1m" AT (VERSION => 42)'
    assert (
        dialect.trino("lake").table("gold", "agg_orders_1m", 42) == 'lake."gold"."agg_orders_1m" FOR VERSION AS OF 42'
    )
    assert dialect.duckdb("lake", time_travel=False).table("gold", "t", 42) == 'lake."gold"."t"'
    assert dialect.trino("iceberg").epoch("t") == "CAST(to_unixtime(t) * 1000000 AS BIGINT)"


def test_duckdbs_epoch_and_interval_forms_are_what_the_merge_sends() -> None:
    engine = DuckDBEngine.in_memory()
    try:
        bucket = engine.dialect.epoch("date_trunc('minute', TIMESTAMPTZ '2026-12-07 12:00:59+00')")
        sql = f"SELECT {bucket}, TIMESTAMPTZ '2026-12-07 12:00:00+00' + INTERVAL '60' SECOND"
        ((epoch_us, later),) = engine.rows(sql)
        assert epoch_us == int(dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC).timestamp()) * 1_000_000
        assert later == dt.datetime(2026, 12, 7, 12, 1, tzinfo=dt.UTC)
    finally:
        engine.close()


class Row(tuple):  # type: ignore[type-arg]
    """What Trino's client gives a ROW value: a tuple with its field names (``trino.types.NamedRowTuple``)."""

    _names = ("line_number", "product_id")


def test_trinos_rows_become_dicts_inside_lists() -> None:
    line = Row((1, "p1"))
    assert plain([line, line]) == [{"line_number": 1, "product_id": "p1"}] * 2
    assert plain(("a", 1)) == ("a", 1)
    assert plain({"k": [line]}) == {"k": [{"line_number": 1, "product_id": "p1"}]}
