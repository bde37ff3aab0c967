"""``dp demo --reset`` on the real catalog: Gold's namespace is not named by domain, so the reset drops every relation
of dbt's build there -- tables and views -- and leaves what is not dbt's."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField
from pyiceberg.view.metadata import SQLViewRepresentation, ViewRepresentation, ViewVersion

from dp_contracts.model import contracts_dir, load_contract
from dp_core.config import LoadedConfig, load_settings
from dp_demo.reset import reset_domain
from dp_lakehouse.tables import versions_table
from dp_localstack.stack import LocalStack
from dp_spark_jobs.catalog import lake_catalog
from dp_transform.runner import DbtPaths

pytestmark = pytest.mark.integration
SCHEMA = Schema(NestedField(1, "n", LongType(), required=False))


def test_a_reset_drops_every_table_and_view_of_dbts_build_in_gold_and_nothing_else(
    local_stack: LocalStack, platform_config: LoadedConfig, run_id: str, tmp_path: Path
) -> None:
    gold = f"rs_{run_id}_gold"
    loaded = load_settings(platform_config.config_dir, {**os.environ, "DP_ICEBERG_NAMESPACES__GOLD": gold})
    lake = lake_catalog(loaded.settings)
    lake.create_namespace_if_not_exists(gold)
    models = DbtPaths.of(loaded).model_names()
    assert {"fct_order_lines", "dim_products", "stg_orders", "agg_orders_1m"} <= set(models)
    for table in ("fct_order_lines", "dim_products", "agg_orders_1m", "not_dbts"):
        lake.create_table(f"{gold}.{table}", SCHEMA)
    version = ViewVersion(
        version_id=1, schema_id=0, timestamp_ms=int(time.time() * 1000), summary={}, default_namespace=(gold,),
        representations=[ViewRepresentation(SQLViewRepresentation(type="sql", sql="select 1 as n", dialect="spark"))],
    )  # fmt: skip
    lake.create_view(f"{gold}.stg_orders", SCHEMA, version)
    said: list[str] = []
    try:
        reset_domain(loaded, lake, [], f"rs{run_id}", tmp_path / "state", said.append)
        assert [".".join(t) for t in lake.list_tables(gold)] == [f"{gold}.not_dbts"]
        assert lake.list_views(gold) == []
        assert "  dropped 4 table(s) and view(s), with their files" in said
    finally:
        for identifier in lake.list_tables(gold):
            lake.purge_table(identifier)
        for view in lake.list_views(gold):
            lake.drop_view(view)
        lake.drop_namespace(gold)


def test_a_reset_drops_the_reference_datas_versions_too(
    local_stack: LocalStack, platform_config: LoadedConfig, run_id: str, tmp_path: Path
) -> None:
    """A product's versions left in Silver would give the next workload's orders the last workload's categories."""
    silver, gold = f"rs_{run_id}_vsilver", f"rs_{run_id}_vgold"
    environ = {**os.environ, "DP_ICEBERG_NAMESPACES__SILVER": silver, "DP_ICEBERG_NAMESPACES__GOLD": gold}
    loaded = load_settings(platform_config.config_dir, environ)
    lake = lake_catalog(loaded.settings)
    domain = f"rv{run_id}"
    product = load_contract(contracts_dir(platform_config.repo_root) / "commerce" / "product.avsc", domain=domain)
    lake.create_namespace_if_not_exists(silver)
    for table in (versions_table(loaded.settings, product), f"{silver}.{product.table_stem}", f"{silver}.keep_me"):
        lake.create_table(table, SCHEMA)
    try:
        reset_domain(loaded, lake, [product], domain, tmp_path / "state", lambda _: None)
        assert [".".join(t) for t in lake.list_tables(silver)] == [f"{silver}.keep_me"]
    finally:
        for identifier in lake.list_tables(silver):
            lake.purge_table(identifier)
        lake.drop_namespace(silver)
