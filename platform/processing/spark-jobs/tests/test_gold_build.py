"""Gold's build (dbt) reported like the other layers, and the bench's bare-SQL baseline of it: pure parts."""

from __future__ import annotations

import json
from collections.abc import Mapping

from dp_spark_jobs.bench import baseline_statements
from dp_spark_jobs.gold import failure_message, table_runs
from dp_transform.results import parse_run_results


def _results(*nodes: Mapping[str, object]) -> str:
    return json.dumps({"results": [{"execution_time": 2.0, "message": None, "failures": None, **n} for n in nodes]})


BUILT = parse_run_results(
    _results(
        {"unique_id": "model.p.stg_orders", "status": "success", "relation_name": "g.stg_orders",
         "compiled_code": "select * from silver.d__order_placed"},
        {"unique_id": "model.p.fct_orders", "status": "success", "relation_name": "g.fct_orders",
         "compiled_code": "select o.* from g.stg_orders as o join `g`.`stg_orders_x` using (id)"},
        {"unique_id": "model.p.agg_orders_1m", "status": "success", "relation_name": "g.agg_orders_1m",
         "compiled_code": "select count(*) from `g`.`fct_orders` join g.`stg_orders` using (d) -- not g.fct_orders_old"
                          " nor xg.fct_orders"},
        {"unique_id": "test.p.unique_fct_orders_order_id", "status": "pass", "failures": 0},
    )
)  # fmt: skip


def test_each_table_reports_the_snapshots_its_build_added_and_views_none() -> None:
    before = {"fct_orders": {1: {"added-records": "5"}}, "agg_orders_1m": {7: {"added-records": "3"}}}
    after = {
        # in the order of the table's snapshot log: ids are random, the last one is the newest
        "fct_orders": {1: {"added-records": "5"}, 30: {"added-records": "4"}, 2: {"added-records": "2"}},
        "agg_orders_1m": {7: {"added-records": "3"}},
    }
    runs = table_runs(BUILT, "g", before, after)
    assert [(r.layer, r.table, r.snapshot_id, r.rows_written, r.seconds) for r in runs] == [
        ("gold", "g.fct_orders", 2, 6, 2.0),
        ("gold", "g.agg_orders_1m", None, 0, 2.0),  # a rerun with nothing new: no snapshot
    ]
    first = table_runs(BUILT, "g", {}, {"fct_orders": {9: {}}})  # a new table; no summary figure
    assert [(r.table, r.snapshot_id, r.rows_written) for r in first] == [("g.fct_orders", 9, 0)]


def test_a_failed_build_names_its_failed_nodes_and_where_the_log_is() -> None:
    failed = parse_run_results(
        _results(
            *({"unique_id": f"model.p.m{i}", "status": "error", "message": f"boom {i}\ntrace"} for i in range(7)),
            {"unique_id": "test.p.t", "status": "fail", "failures": 3, "message": "Got 3 results"},
        )
    )
    message = failure_message(1, failed, "/rt/dbt/logs/dbt.log")
    assert message.startswith("gold: dbt build failed (exit code 1): m0 (error: boom 0); m1 (error: boom 1)")
    assert "boom 5" not in message and "and 3 more" in message and "dbt's log: /rt/dbt/logs/dbt.log. " in message
    assert "\ntrace" not in message and "fix the cause and rerun" in message
    assert failure_message(2, None, "dbt.log").startswith("gold: dbt build failed (exit code 2); dbt's log: dbt.log.")


def test_a_failed_model_is_named_with_the_engines_error_class_and_text() -> None:
    message = (
        "Runtime Error in model fct_orders (models/marts/fct_orders.sql)\n  Database Error\n    org.apache.hive."
        "service.cli.HiveSQLException: Error running query: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `x` cannot"
        " be resolved.\n  :  +- RelationV2[event_id#1] lake.silver.t"
    )
    failed = parse_run_results(_results({"unique_id": "model.p.fct_orders", "status": "error", "message": message}))
    assert failure_message(1, failed, "dbt.log").startswith(
        "gold: dbt build failed (exit code 1): fct_orders (error: Runtime Error in model fct_orders "
        "(models/marts/fct_orders.sql): [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `x` cannot be resolved.); "
    )


def test_the_baseline_runs_dbts_compiled_sql_into_its_own_namespace() -> None:
    materialized = {"model.p.stg_orders": "view", "model.p.fct_orders": "incremental", "model.p.agg_orders_1m": "table"}
    assert baseline_statements(BUILT, materialized, "g", "base") == [
        "CREATE VIEW base.stg_orders AS\nselect * from silver.d__order_placed",
        "CREATE TABLE base.fct_orders USING iceberg AS\n"
        "select o.* from base.stg_orders as o join `g`.`stg_orders_x` using (id)",
        "CREATE TABLE base.agg_orders_1m USING iceberg AS\n"
        "select count(*) from base.fct_orders join base.stg_orders using (d) -- not g.fct_orders_old nor xg.fct_orders",
    ]
