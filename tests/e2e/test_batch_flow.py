"""Simulator -> Kafka -> bronze -> silver -> gold on the real stack, run by Airflow (`airflow dags test
lakehouse_batch`: the platform's commands as tasks, Gold one cosmos task per model), reconciled exactly with the
manifest and with an independent computation of revenue from the simulator's own events;
`lakehouse_backfill` over the workload's days leaves every Gold mart as the full build made it, and its Silver run
commits nothing (nothing new in Bronze). Each layer's own rerun is the spark-jobs tests' (`test_bronze.py`,
`test_silver.py`) and `test_transform.py`'s."""

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
from dp_spark_jobs.catalog import lake_catalog
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

    # the tables are read with pyiceberg (Spark writes them copy-on-write: no delete files)
    def rows(identifier: str, *fields: str) -> list[dict[str, Any]]:
        table = lake.load_table(identifier)
        scan = table.scan(selected_fields=fields) if fields else table.scan()
        return list(scan.to_arrow().to_pylist())

    for contract in contracts:
        expected = manifest["contracts"][contract.name]
        id_field = contract.meta.event_id or contract.meta.key
        ids = [str(r[id_field]) for r in rows(silver_table(settings, contract), id_field)]  # pyiceberg: uuid.UUID
        assert sorted(ids) == sorted(expected["valid_ids"]), contract.name  # each valid id exactly once
        rejected = len(rows(rejected_table(settings, contract)))
        dead = len(rows(bronze_dlq_table(settings, contract)))
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
    got = {
        (str(r["order_date"]), r["category"], r["currency"]): r["gross_revenue"]
        for r in rows(gold_table(settings, "agg_revenue_daily"))
    }
    assert got == dict(expected_gross)
    assert sum(got.values()) > 0

    # a backfill over the workload's days recomputes them: every mart as the full build left it; its Silver run
    # (no new data in Bronze) commits nothing
    def mart_rows() -> dict[str, list[tuple[str, ...]]]:
        return {
            mart: sorted(tuple(str(v) for v in r.values()) for r in rows(gold_table(settings, mart))) for mart in marts
        }

    def silver_snapshots() -> dict[str, int | None]:
        snapshots = {}
        for contract in contracts:
            current = lake.load_table(silver_table(settings, contract)).current_snapshot()
            snapshots[contract.name] = current.snapshot_id if current else None
        return snapshots

    built, silver_before = mart_rows(), silver_snapshots()
    days = sorted({day for day, _, _ in expected_gross})
    output = airflow_dags_test(local_stack, airflow_env, "lakehouse_backfill", {"from": days[0], "to": days[-1]})
    assert f"--from {days[0]} --to {days[-1]}" in output
    assert mart_rows() == built
    assert silver_snapshots() == silver_before
