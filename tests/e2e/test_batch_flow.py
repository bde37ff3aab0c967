"""Simulator -> Kafka -> bronze -> silver -> gold on the real stack, reconciled exactly with the manifest and with an
independent computation of revenue from the simulator's own events; a second run changes nothing."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from dp_contracts.model import load_contracts
from dp_core.config import load_settings
from dp_localstack.stack import LocalStack
from dp_spark.session import build_session
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.jobs import bronze, gold, silver
from dp_spark_jobs.tables import bronze_dlq_table, gold_table, rejected_table, silver_table
from dp_stream_ingestors.simulator import SimulationConfig, simulate

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
DP = str(Path(sys.executable).parent / "dp")
START = dt.datetime(2026, 11, 24, 22, 0, tzinfo=dt.UTC)
COUNT, SEED = 6000, 21


def test_batch_layer_reconciles_with_the_manifest(local_stack: LocalStack, tmp_path: Path, run_id: str) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "schemas" / "avro" / "commerce", tmp_path / "schemas" / "avro" / f"e2e{run_id}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DP_")}
    env["DP_ICEBERG_NAMESPACES__GOLD"] = f"e2e_{run_id}_gold"
    env["DP_LOCAL_RUNTIME_DIR"] = str(local_stack.layout.runtime)  # the fetched jars of this checkout
    for args in (
        ["ingest", "topics"],
        [
            "ingest",
            "simulate",
            "--count",
            str(COUNT),
            "--seed",
            str(SEED),
            "--start",
            START.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "--late",
            "0.05",
            "--duplicates",
            "0.04",
            "--malformed",
            "0.03",
            "--manifest",
            str(tmp_path / "m.json"),
        ],
    ):
        result = subprocess.run(
            [DP, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "m.json").read_text())

    loaded = load_settings(tmp_path / "config", env)
    settings = loaded.settings
    lake = lake_catalog(settings)
    lake.create_namespace_if_not_exists(settings.iceberg.namespaces.gold)
    contracts = load_contracts(tmp_path / "schemas" / "avro")
    spark = build_session(loaded, "e2e-batch")
    try:
        bronze.run(spark, loaded, contracts, catalog=lake)
        silver.run(spark, loaded, contracts, catalog=lake)
        gold.run(spark, loaded, contracts=contracts, catalog=lake)
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

        # revenue, independently: every valid order of the simulator's own events, by day, category and currency
        products: dict[str, str] = {}
        orders: dict[str, dict[str, object]] = {}
        for event in simulate(
            SimulationConfig(seed=SEED, count=COUNT, start=START, late=0.05, duplicates=0.04, malformed=0.03)
        ):
            if event.kind == "malformed" or event.payload is None:
                continue
            if event.contract == "product":
                products[str(event.payload["product_id"])] = str(event.payload["category"])
            elif event.contract == "order_placed":
                orders[str(event.payload["order_id"])] = event.payload
        expected_gross: dict[tuple[str, str, str], Decimal] = collections.defaultdict(Decimal)
        for order in orders.values():
            day = str(order["occurred_at"])[:10]
            for line in order["lines"]:  # type: ignore[attr-defined]
                category = products.get(line["product_id"], "unknown")
                expected_gross[(day, category, str(order["currency"]))] += Decimal(line["line_total"])
        revenue_table = f"{name}.{gold_table(settings, 'agg_revenue_daily')}"
        spark.sql(f"REFRESH TABLE {revenue_table}")
        got = {
            (str(r.order_date), r.category, r.currency): r.gross_revenue for r in spark.table(revenue_table).collect()
        }
        assert got == dict(expected_gross)
        assert sum(got.values()) > 0

        # a second run of every layer with no new data commits nothing
        again = [
            *bronze.run(spark, loaded, contracts, catalog=lake),
            *silver.run(spark, loaded, contracts, catalog=lake),
            *gold.run(spark, loaded, contracts=contracts, catalog=lake),
        ]
        assert [r.table for r in again if r.snapshot_id is not None] == []
    finally:
        spark.stop()
