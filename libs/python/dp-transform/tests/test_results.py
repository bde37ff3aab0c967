"""dbt's run results read into records: what built, what tested, what failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dp_transform.results import RunResultsError, parse_run_results, read_run_results


def _result(unique_id: str, status: str, **extra: object) -> dict[str, object]:
    return {"unique_id": unique_id, "status": status, "execution_time": 1.5, "message": None, "failures": None,
            "relation_name": None, **extra}  # fmt: skip


RESULTS = {
    "elapsed_time": 12.5,
    "args": {"which": "build"},
    "results": [
        _result("model.p.stg_orders", "success", relation_name="gold.stg_orders", compiled_code="select 1"),
        _result("model.p.fct_orders", "success", relation_name="gold.fct_orders"),
        _result("test.p.not_null_fct_orders_order_id.1a", "pass", failures=0),
        _result("test.p.non_negative_fct_order_lines_quantity.2b", "warn", failures=1),
        _result("unit_test.p.fct_orders.declined_then_authorised", "pass"),
        _result("model.p.agg_revenue_daily", "error", message="Cannot cast\nmore lines"),
        _result("model.p.agg_funnel_daily", "skipped"),
    ],
}


def test_run_results_split_into_built_and_tested_with_the_failures() -> None:
    results = parse_run_results(json.dumps(RESULTS))
    assert results.command == "build" and results.elapsed_s == 12.5
    assert [n.name for n in results.built] == ["stg_orders", "fct_orders", "agg_revenue_daily", "agg_funnel_daily"]
    assert results.built[0].relation == "gold.stg_orders" and results.built[0].compiled_code == "select 1"
    assert results.test_counts() == {"pass": 2, "warn": 1}
    assert [(n.name, n.message) for n in results.failed] == [("agg_revenue_daily", "Cannot cast\nmore lines")]


@pytest.mark.parametrize("text", ["not json", "{}", '{"results": [{"status": "pass"}]}', "[]"])
def test_what_is_not_dbts_run_results_is_a_clear_error(text: str) -> None:
    with pytest.raises(RunResultsError, match="not dbt's run results"):
        parse_run_results(text)


def test_missing_run_results_say_dbt_wrote_none(tmp_path: Path) -> None:
    with pytest.raises(RunResultsError, match="dbt wrote no run results"):
        read_run_results(tmp_path / "run_results.json")
