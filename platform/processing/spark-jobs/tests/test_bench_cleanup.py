"""`make bench-batch` drops what it made: its domain's topics and Bronze/Silver tables, its Gold namespaces with their
tables and views, and nothing else (no Spark needed: the tables are made with pyiceberg)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyiceberg.view.metadata import SQLViewRepresentation, ViewRepresentation, ViewVersion

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig
from dp_ingest.topics import provision, topic_specs
from dp_spark_jobs.bench import drop_bench_data
from dp_spark_jobs.catalog import lake_catalog

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def namespaces(run_id: str) -> dict[str, str]:
    return {"bronze": f"it_{run_id}_bbronze", "silver": f"it_{run_id}_bsilver"}


def test_the_bench_drops_its_topics_tables_and_gold_namespaces_and_nothing_else(
    config: LoadedConfig, run_id: str
) -> None:
    domain, other = f"bench{run_id}", f"keep{run_id}"
    contracts = [
        Contract(name=c.name, domain=domain, path=c.path, schema=c.schema)
        for c in load_contracts(contracts_dir(config.repo_root))
    ]
    settings = config.settings
    provision(settings, topic_specs(contracts, settings))
    lake = lake_catalog(settings)
    rows = pa.table({"x": [1, 2]})
    bronze, silver = settings.iceberg.namespaces.bronze, settings.iceberg.namespaces.silver
    made = [f"{bronze}.{domain}__order_placed", f"{bronze}.{domain}__order_placed__dlq"]
    made += [f"{silver}.{domain}__product", f"{silver}.{domain}__product__versions"]
    # another domain's, and one whose name starts with the bench's domain
    kept = [f"{bronze}.{other}__order_placed", f"{silver}.{other}__product", f"{silver}.{domain}0__product"]
    for identifier in made + kept:
        lake.create_table(identifier, schema=rows.schema).append(rows)
    gold, dbt = f"{domain}_gold", f"{domain}_dbt"
    for namespace in (gold, dbt):
        lake.create_namespace(namespace)
        lake.create_table(f"{namespace}.fct_orders", schema=rows.schema).append(rows)
    sql = SQLViewRepresentation(type="sql", sql=f"select x from {dbt}.fct_orders", dialect="spark")
    view = ViewVersion(schema_id=0, representations=[ViewRepresentation(sql)], default_namespace=(dbt,))
    lake.create_view(f"{dbt}.stg_orders", rows.schema, view)  # dbt's staging models are views

    dropped = drop_bench_data(config, contracts, domain, (gold, dbt, f"{domain}_never_made"))

    topics = sorted(spec.name for spec in topic_specs(contracts, settings))
    assert len(topics) == 12
    assert sorted(d for d in dropped if d in topics) == topics
    assert sorted(d for d in dropped if d.startswith((bronze, silver))) == sorted(made)
    assert sorted(d for d in dropped if d.startswith((gold, dbt))) == sorted(
        [gold, f"{gold}.fct_orders", dbt, f"{dbt}.fct_orders", f"{dbt}.stg_orders"]
    )
    assert len(dropped) == len(topics) + len(made) + 5
    remaining = {".".join(i) for ns in (bronze, silver) for i in lake.list_tables(ns)}
    assert remaining == set(kept)
    assert not {(gold,), (dbt,)} & {tuple(ns) for ns in lake.list_namespaces()}
    # a second clean-up finds nothing left to drop
    assert drop_bench_data(config, contracts, domain, (gold, dbt)) == []
