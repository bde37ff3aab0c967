"""Fixtures of the end-to-end tests: the batch layer run in a Spark session the test opened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pyiceberg.catalog import Catalog

from dp_contracts.model import Contract
from dp_core.config import LoadedConfig
from dp_spark_jobs.bronze import job as bronze
from dp_spark_jobs.gold import job as gold
from dp_spark_jobs.silver import job as silver
from dp_spark_jobs.summary import TableRun

#: (Spark session, configuration, contracts, lakehouse catalog) -> the run of every table
BatchLayer = Callable[[Any, LoadedConfig, list[Contract], Catalog], list[TableRun]]


def _run_batch_layer(spark: Any, loaded: LoadedConfig, contracts: list[Contract], lake: Catalog) -> list[TableRun]:
    return [
        *bronze.run(spark, loaded, contracts, catalog=lake),
        *silver.run(spark, loaded, contracts, catalog=lake),
        *gold.run(spark, loaded, contracts=contracts, catalog=lake),
    ]


@pytest.fixture
def batch_layer() -> BatchLayer:
    """Runs Bronze, Silver and Gold once each, in that order, in the given session; returns every table's run."""
    return _run_batch_layer
