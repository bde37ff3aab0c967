"""Compiled contracts on the real engines: each shop contract becomes an Iceberg table through the REST catalog
(pyiceberg, from the compiler's Iceberg schema); Spark builds a DataFrame with the compiler's Spark schema and
appends a row; the row reads back through pyiceberg."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import Catalog

from dp_contracts.compiler import to_iceberg, to_spark
from dp_contracts.ir import ArrayT, DecimalT, EnumT, LogicalT, MapT, PrimitiveT, RecordT, TypeT
from dp_contracts.model import contracts_dir, load_contracts
from dp_core.config import LoadedConfig, find_repo_root

pytestmark = pytest.mark.integration

CONTRACTS = load_contracts(contracts_dir(find_repo_root(Path(__file__))))


def sample(node: TypeT) -> Any:
    """A value of the Spark-side Python type for every node of the tree."""
    if isinstance(node, PrimitiveT):
        return {"boolean": True, "int": 7, "long": 7, "float": 1.5, "double": 1.5, "bytes": b"x", "string": "s"}[
            node.kind
        ]
    if isinstance(node, LogicalT):
        if node.kind == "uuid":
            return str(uuid.UUID(int=7))
        if node.kind == "date":
            return dt.date(2026, 11, 25)
        return dt.datetime(2026, 11, 25, 10, 15, tzinfo=dt.UTC)
    if isinstance(node, DecimalT):
        return Decimal("12.34")
    if isinstance(node, EnumT):
        return node.symbols[0]
    if isinstance(node, ArrayT):
        return [sample(node.items)]
    if isinstance(node, MapT):
        return {"k": sample(node.values)}
    assert isinstance(node, RecordT)
    return tuple(sample(f.type) for f in node.fields)


def test_every_contract_round_trips_through_iceberg_and_spark(
    lake_catalog: Catalog, platform_config: LoadedConfig, run_id: str
) -> None:
    from pyspark.sql.types import StructType

    from dp_spark.session import build_session

    catalog = lake_catalog
    namespace = f"it_{run_id}_contracts"
    catalog.create_namespace_if_not_exists(namespace)
    for contract in CONTRACTS:
        catalog.create_table(f"{namespace}.{contract.name}", schema=to_iceberg(contract.record, (contract.meta.key,)))

    spark = build_session(platform_config, "it-contracts")
    try:
        for contract in CONTRACTS:
            schema = StructType.fromJson(to_spark(contract.record))
            row = tuple(sample(f.type) for f in contract.record.fields)
            frame = spark.createDataFrame([row], schema)
            frame.writeTo(f"{platform_config.settings.iceberg.catalog.name}.{namespace}.{contract.name}").append()
    finally:
        spark.stop()

    for contract in CONTRACTS:
        table = catalog.load_table(f"{namespace}.{contract.name}")
        assert table.schema() == to_iceberg(contract.record, (contract.meta.key,))
        rows = table.scan().to_arrow().to_pylist()
        assert len(rows) == 1, contract.name
        assert rows[0][contract.meta.key] is not None
