"""dbt's command lines (pure): selection, full refresh and a date range, in a fixed order."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dp_transform.invocation import DateRange, Selection, dbt_args

MAY_1, MAY_31 = dt.date(2024, 5, 1), dt.date(2024, 5, 31)


def test_a_bare_command_is_passed_alone() -> None:
    assert dbt_args(["source", "freshness"]) == ["source", "freshness"]
    assert dbt_args(["test"], Selection()) == ["test"]


def test_every_option_in_dbts_spelling() -> None:
    args = dbt_args(
        ["build"],
        Selection(("a", "+b"), ("tag:slow",)),
        full_refresh=True,
        dates=DateRange(MAY_1, MAY_31),
        extra=["--target-path", "/tmp/t"],
    )
    assert args[:7] == ["build", "--select", "a", "+b", "--exclude", "tag:slow", "--full-refresh"]
    assert args[7] == "--vars"
    assert json.loads(args[8]) == {"from_date": "2024-05-01", "to_date": "2024-05-31"}
    assert args[9:] == ["--target-path", "/tmp/t"]


def test_exclude_without_select() -> None:
    assert Selection(exclude=("stg_orders",)).args() == ["--exclude", "stg_orders"]


def test_a_range_of_one_day_is_allowed_and_a_reversed_one_is_not() -> None:
    assert DateRange(MAY_1, MAY_1).dbt_vars() == {"from_date": "2024-05-01", "to_date": "2024-05-01"}
    with pytest.raises(ValueError, match=r"the range starts after it ends \(2024-05-31 > 2024-05-01\)"):
        DateRange(MAY_31, MAY_1)
