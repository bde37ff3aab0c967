"""Fixtures of the end-to-end tests: the batch layer run in a Spark session the test opened (Gold: dbt's build)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import Catalog

from dp_contracts.model import Contract
from dp_core.config import LoadedConfig
from dp_localstack.stack import LocalStack
from dp_localstack.testing import clean_environ, scratch_checkout
from dp_spark_jobs import gold
from dp_spark_jobs.bronze import job as bronze
from dp_spark_jobs.silver import job as silver
from dp_spark_jobs.summary import TableRun

#: (Spark session, configuration, contracts, lakehouse catalog) -> the run of every table
BatchLayer = Callable[[Any, LoadedConfig, list[Contract], Catalog], list[TableRun]]


def _run_batch_layer(spark: Any, loaded: LoadedConfig, contracts: list[Contract], lake: Catalog) -> list[TableRun]:
    return [
        *bronze.run(spark, loaded, contracts, catalog=lake),
        *silver.run(spark, loaded, contracts, catalog=lake),
        *gold.run(loaded, _domain(contracts), quiet=True, catalog=lake).tables,
    ]


def _domain(contracts: list[Contract]) -> str:
    (domain,) = {c.domain for c in contracts}
    return domain


@pytest.fixture
def batch_layer() -> BatchLayer:
    """Runs Bronze and Silver in the given session, then Gold (dbt's build, quiet but for errors, on the contracts'
    domain), once each; returns every table's run."""
    return _run_batch_layer


@pytest.fixture
def demo_checkout(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> Callable[..., tuple[str, dict[str, str]]]:
    """``tmp_path`` made a scratch checkout for a `dp demo` / `dp chaos` run in a domain of its own
    (``<prefix><run id>``); returns the domain and the run's environment: this stack's runtime folder, the demo
    domain with a Gold namespace of its own (Gold's tables are not named by domain), short checkpoint and idle
    intervals, plus more ``DP_*`` settings as keywords."""

    def checkout(prefix: str, **settings: str) -> tuple[str, dict[str, str]]:
        domain = f"{prefix}{run_id}"
        scratch_checkout(repo_root, tmp_path, domain)
        return domain, clean_environ(drop=("DP_", "DEMO_")) | {
            "DP_LOCAL_RUNTIME_DIR": str(local_stack.layout.runtime),
            "DP_DEMO_DOMAIN": domain,
            "DP_ICEBERG_NAMESPACES__GOLD": f"{domain}_gold",
            "DP_STREAM_CHECKPOINT_INTERVAL_S": "2",
            "DP_STREAM_IDLE_TIMEOUT_S": "5",
            **settings,
        }

    return checkout
