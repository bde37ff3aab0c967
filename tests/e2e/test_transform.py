"""``dp transform`` on the real stack, in a checkout of its own (a domain, a Silver and two Gold namespaces of its
own): simulator -> Kafka -> ``dp batch run all`` (bronze, silver and the Spark Gold job ``etl_gold``), then the dbt
project built and tested by ``dp transform build``. dbt's ``fct_orders`` equals ``etl_gold``'s row for row, after a
first wave of events and after a second one folded in incrementally; a rebuild with nothing new commits nothing."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import Catalog

from dp_core.config import load_settings
from dp_localstack.stack import LocalStack
from dp_localstack.testing import clean_environ, run_dp, scratch_checkout, simulate_args
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.gold.transforms import FCT_ORDERS

pytestmark = pytest.mark.e2e
DBT_PROJECT = Path("platform") / "transformation" / "dbt" / "project"
START = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)
FRACTIONS = {"late": 0.05, "duplicates": 0.05, "malformed": 0.02}


def rows_by_order(lake: Catalog, table: str) -> dict[str, dict[str, Any]]:
    """The table's rows with ``etl_gold``'s ``fct_orders`` columns, by order id."""
    columns = tuple(c.name for c in FCT_ORDERS.columns)
    rows = lake.load_table(table).scan(selected_fields=columns).to_arrow().to_pylist()
    by_order = {str(row["order_id"]): row for row in rows}
    assert len(by_order) == len(rows), f"an order is in {table} twice"
    return by_order


def test_transform_build_equals_the_spark_gold_job_and_a_rebuild_commits_nothing(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    domain = f"tr{run_id}"
    scratch_checkout(repo_root, tmp_path, domain)
    # the project with the sources of this checkout's contracts (its domain only), as `dp transform sources` writes
    shutil.copytree(repo_root / DBT_PROJECT, tmp_path / DBT_PROJECT)
    dbt_gold, spark_gold = f"{domain}_gold", f"{domain}_sparkgold"
    env = clean_environ(drop=("DP_",)) | {
        "DP_LOCAL_RUNTIME_DIR": str(local_stack.layout.runtime),  # the fetched jars and the dbt environment
        "DP_DEMO_DOMAIN": domain,
        "DP_ICEBERG_NAMESPACES__SILVER": f"{domain}_silver",
        "DP_ICEBERG_NAMESPACES__GOLD": spark_gold,  # etl_gold's
        "DP_TRANSFORM_NAMESPACE": dbt_gold,
    }

    def dp(*args: str) -> str:
        result = run_dp(tmp_path, *args, env=env, timeout=900)
        assert result.returncode == 0, f"dp {' '.join(args)}: {result.stdout[-4000:]}{result.stderr[-3000:]}"
        return result.stdout

    dp("transform", "sources")
    dp("transform", "sources", "--check")
    dp("ingest", "topics")
    settings = load_settings(tmp_path / "config", env).settings
    lake = lake_catalog(settings)
    lake.create_namespace_if_not_exists(dbt_gold)
    lake.create_namespace_if_not_exists(spark_gold)
    valid: list[str] = []
    for wave, (count, seed) in enumerate(((1200, 5), (600, 6))):
        start = START + dt.timedelta(hours=wave)
        dp(*simulate_args(count, seed, start, manifest=tmp_path / f"m{wave}.json", fractions=FRACTIONS))
        valid += json.loads((tmp_path / f"m{wave}.json").read_text())["contracts"]["order_placed"]["valid_ids"]
        dp("batch", "run", "all")
        assert "Completed successfully" in dp("transform", "build")

        silver = lake.load_table(f"{domain}_silver.{domain}__order_placed").scan().to_arrow()
        assert sorted(str(i) for i in silver.column("event_id").to_pylist()) == sorted(valid)
        orders = {str(i) for i in silver.column("order_id").to_pylist()}
        ours, theirs = rows_by_order(lake, f"{dbt_gold}.fct_orders"), rows_by_order(lake, f"{spark_gold}.fct_orders")
        assert set(ours) == orders == set(theirs), f"wave {wave}: the marts' orders are not Silver's"
        different = {k: (ours[k], theirs.get(k)) for k in ours if ours[k] != theirs.get(k)}
        assert not different, (
            f"wave {wave}: {len(different)} order(s) differ from etl_gold's, e.g. {next(iter(different.items()))}"
        )
        assert ours and "AUTHORISED" in {r["payment_status"] for r in ours.values()}  # (dbt's unit tests: the rest)

    snapshot = lake.load_table(f"{dbt_gold}.fct_orders").current_snapshot()
    assert snapshot is not None
    dp("transform", "build", "--select", "fct_orders")
    current = lake.load_table(f"{dbt_gold}.fct_orders").current_snapshot()
    assert current is not None and current.snapshot_id == snapshot.snapshot_id, "a rebuild with no new rows committed"
