"""Simulator -> Kafka -> bronze -> silver -> gold on the real stack, run by Airflow (`airflow dags test
lakehouse_batch`: the platform's commands as tasks, Gold one cosmos task per model), reconciled exactly with the
manifest and with an independent computation of revenue from the simulator's own events; a second run of every layer
changes nothing; `lakehouse_backfill` over the workload's days leaves every Gold mart as the full build made it."""

from __future__ import annotations

import collections
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dp_contracts.model import contracts_dir, load_contracts
from dp_core.config import load_settings
from dp_localstack.stack import LocalStack
from dp_localstack.testing import (
    airflow_dags_test,
    airflow_ready,
    airflow_test_env,
    clean_environ,
    run_dp,
    scratch_checkout,
    simulate_args,
)
from dp_simulator import SimulationConfig, simulate
from dp_spark.session import build_session
from dp_spark_jobs.bronze import job as bronze
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.silver import job as silver
from dp_spark_jobs.tables import bronze_dlq_table, gold_table, rejected_table, silver_table

pytestmark = pytest.mark.e2e
START = dt.datetime(2026, 11, 24, 22, 0, tzinfo=dt.UTC)
COUNT, SEED = 6000, 21


def test_lakehouse_batch_dag_reconciles_with_the_manifest_and_a_backfill_equals_the_full_build(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    domain = f"e2e{run_id}"
    scratch_checkout(repo_root, tmp_path, domain)
    env = clean_environ()
    env["DP_ICEBERG_NAMESPACES__GOLD"] = f"e2e_{run_id}_gold"
    env["DP_LOCAL_RUNTIME_DIR"] = str(local_stack.layout.runtime)  # the fetched jars of this checkout
    env["DP_DEMO_DOMAIN"] = domain  # Gold's models read this domain's Silver tables
    fractions = {"late": 0.05, "duplicates": 0.04, "malformed": 0.03}
    for args in (
        ["ingest", "topics"],
        simulate_args(COUNT, SEED, START, manifest=tmp_path / "m.json", fractions=fractions),
    ):
        result = run_dp(tmp_path, *args, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "m.json").read_text())

    loaded = load_settings(tmp_path / "config", env)
    settings = loaded.settings
    lake = lake_catalog(settings)
    lake.create_namespace_if_not_exists(settings.iceberg.namespaces.gold)
    contracts = load_contracts(contracts_dir(tmp_path))
    airflow_ready(local_stack)
    dp_vars = {k: v for k, v in env.items() if k.startswith("DP_")}
    # Gold's freshness SLA is about now; this workload's events are from November: held to it, it would fail
    airflow_env = airflow_test_env(
        local_stack,
        tmp_path / "config",
        **dp_vars,
        DP_ORCHESTRATION_GOLD_FRESHNESS_SLA_S="1e9",
        DP_ORCHESTRATION_RETRIES="0",  # a failure fails the test now, not after the retries
    )
    output = airflow_dags_test(local_stack, airflow_env, "lakehouse_batch")
    marts = sorted(p.stem for p in (tmp_path / "platform/transformation/dbt/project/models/marts").glob("*.sql"))
    for task_id in ("bronze", "silver", "silver_freshness", *(f"gold.{m}" for m in marts), "publish", "gold_freshness"):
        assert f"end task task_id={task_id} " in output, task_id  # one task per mart (and per staging model)
    stale = run_dp(tmp_path, "transform", "status", "--max-lag-s", "3600", env=env)
    assert stale.returncode == 1 and "Gold is staler than 3600 s" in stale.stderr, stale.stderr[-1000:]

    spark = build_session(loaded, "e2e-batch")
    try:
        name = settings.iceberg.catalog.name

        for contract in contracts:
            expected = manifest["contracts"][contract.name]
            id_field = contract.meta.event_id or contract.meta.key
            table = f"{name}.{silver_table(settings, contract)}"
            spark.sql(f"REFRESH TABLE {table}")
            ids = [r[0] for r in spark.table(table).select(id_field).collect()]
            assert sorted(ids) == sorted(expected["valid_ids"]), contract.name  # each valid id exactly once
            rejected = spark.table(f"{name}.{rejected_table(settings, contract)}").count()
            dead = spark.table(f"{name}.{bronze_dlq_table(settings, contract)}").count()
            assert rejected + dead == expected["malformed"], contract.name

        # revenue, independently: every valid order of the simulator's own events, by day, category (the product's
        # as of the order: unknown for a late order placed before the catalogue's first version) and currency
        products: dict[str, tuple[str, str]] = {}
        orders: dict[str, dict[str, object]] = {}
        for event in simulate(
            SimulationConfig(seed=SEED, count=COUNT, start=START, late=0.05, duplicates=0.04, malformed=0.03)
        ):
            if event.kind == "malformed" or event.payload is None:
                continue
            if event.contract == "product":
                products[str(event.payload["product_id"])] = (
                    str(event.payload["updated_at"]),
                    str(event.payload["category"]),
                )
            elif event.contract == "order_placed":
                orders[str(event.payload["order_id"])] = event.payload
        expected_gross: dict[tuple[str, str, str], Decimal] = collections.defaultdict(Decimal)
        for order in orders.values():
            day = str(order["occurred_at"])[:10]
            for line in order["lines"]:  # type: ignore[attr-defined]
                since, category = products.get(line["product_id"], ("", "unknown"))
                category = category if since <= str(order["occurred_at"]) else "unknown"
                expected_gross[(day, category, str(order["currency"]))] += Decimal(line["line_total"])
        revenue_table = f"{name}.{gold_table(settings, 'agg_revenue_daily')}"
        spark.sql(f"REFRESH TABLE {revenue_table}")
        got = {
            (str(r.order_date), r.category, r.currency): r.gross_revenue for r in spark.table(revenue_table).collect()
        }
        assert got == dict(expected_gross)
        assert sum(got.values()) > 0

        # a second run of Bronze and Silver with no new data commits nothing (Gold's rerun: tests/e2e/test_transform.py)
        again = [
            *bronze.run(spark, loaded, contracts, catalog=lake),
            *silver.run(spark, loaded, contracts, catalog=lake),
        ]
        assert {r.layer for r in again} == {"bronze", "silver"}
        assert [r.table for r in again if r.snapshot_id is not None] == []

        # a backfill over the workload's days recomputes them: every mart as the full build left it
        def mart_rows() -> dict[str, list[tuple[Any, ...]]]:
            rows = {}
            for mart in marts:
                table = f"{name}.{gold_table(settings, mart)}"
                spark.sql(f"REFRESH TABLE {table}")
                rows[mart] = sorted(tuple(str(v) for v in r) for r in spark.table(table).collect())
            return rows

        built = mart_rows()
        days = sorted({day for day, _, _ in expected_gross})
        airflow_dags_test(local_stack, airflow_env, "lakehouse_backfill", {"from": days[0], "to": days[-1]})
        assert mart_rows() == built
    finally:
        spark.stop()
