"""``dp transform`` on the real stack: simulator -> Kafka -> bronze -> silver by ``dp batch``, then the dbt project
built and tested by ``dp transform build`` in a checkout of its own (a domain, a Silver and a Gold namespace of its
own); the orders mart holds each valid order of the simulator's manifest exactly once, and a second build commits
nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dp_core.config import load_settings
from dp_localstack.stack import LocalStack
from dp_localstack.testing import clean_environ, run_dp, scratch_checkout, simulate_args
from dp_spark_jobs.catalog import lake_catalog

pytestmark = pytest.mark.e2e
COUNT, SEED = 1500, 5
DBT_PROJECT = Path("platform") / "transformation" / "dbt" / "project"


def test_transform_build_makes_the_orders_mart_from_silver_and_a_rebuild_commits_nothing(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    domain = f"tr{run_id}"
    scratch_checkout(repo_root, tmp_path, domain)
    # the project with the sources of this checkout's contracts (its domain only), as `dp transform sources` writes
    shutil.copytree(repo_root / DBT_PROJECT, tmp_path / DBT_PROJECT)
    env = clean_environ(drop=("DP_",)) | {
        "DP_LOCAL_RUNTIME_DIR": str(local_stack.layout.runtime),  # the fetched jars and the dbt environment
        "DP_DEMO_DOMAIN": domain,
        "DP_ICEBERG_NAMESPACES__SILVER": f"{domain}_silver",
        "DP_TRANSFORM_NAMESPACE": f"{domain}_gold",
    }
    fractions = {"late": 0.05, "duplicates": 0.05, "malformed": 0.02}
    for args in (
        ["transform", "sources"],
        ["ingest", "topics"],
        simulate_args(COUNT, SEED, manifest=tmp_path / "m.json", fractions=fractions),
        ["batch", "run", "bronze"],
        ["batch", "run", "silver"],
        ["transform", "sources", "--check"],
    ):
        result = run_dp(tmp_path, *args, env=env)
        assert result.returncode == 0, f"dp {' '.join(args)}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    valid_orders = json.loads((tmp_path / "m.json").read_text())["contracts"]["order_placed"]["valid_ids"]

    settings = load_settings(tmp_path / "config", env).settings
    lake = lake_catalog(settings)
    lake.create_namespace_if_not_exists(f"{domain}_gold")
    built = run_dp(tmp_path, "transform", "build", env=env, timeout=900)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-3000:]
    assert "Completed successfully" in built.stdout, built.stdout[-3000:]
    mart = lake.load_table(f"{domain}_gold.fct_orders")
    rows = mart.scan(selected_fields=("order_id",)).to_arrow().column("order_id").to_pylist()
    # the manifest's valid ids are event ids; an order is one order_placed event, its duplicates share the order id
    assert len(rows) == len(set(rows)), "an order is in the mart twice"
    silver = lake.load_table(f"{domain}_silver.{domain}__order_placed")
    silver_rows = silver.scan(selected_fields=("event_id", "order_id")).to_arrow()
    assert sorted(str(i) for i in silver_rows.column("event_id").to_pylist()) == sorted(valid_orders)
    assert sorted(rows) == sorted({str(i) for i in silver_rows.column("order_id").to_pylist()})

    snapshot = mart.current_snapshot()
    assert snapshot is not None
    again = run_dp(tmp_path, "transform", "build", "--select", "fct_orders", env=env, timeout=900)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-3000:]
    current = lake.load_table(f"{domain}_gold.fct_orders").current_snapshot()
    assert current is not None and current.snapshot_id == snapshot.snapshot_id, "a rebuild with no new rows committed"
