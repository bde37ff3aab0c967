"""The batch layer during the demo: Bronze and Silver in this process (Spark ``local[2]``), then Gold by dbt's build
(where ``transform.target`` says: locally the stack's Spark Thrift server)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from dp_contracts.model import Contract
from dp_core.config import LoadedConfig
from dp_spark_jobs.summary import TableRun

T = TypeVar("T")


@dataclass(frozen=True)
class LayerRun:
    layer: str
    tables: list[TableRun]
    seconds: float

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_written(self) -> int:
        return sum(t.rows_written for t in self.tables)

    @property
    def committed(self) -> int:
        return sum(t.snapshot_id is not None for t in self.tables)


def run_batch(
    loaded: LoadedConfig, contracts: list[Contract], say: Callable[[str], None], then: Callable[[Any], T]
) -> tuple[list[LayerRun], T]:
    """Kafka -> Bronze -> Silver -> Gold (dbt's build, on the Silver tables of the contracts' domain, dbt's output quiet
    but for errors); each commits only what is new (a rerun commits nothing). ``then`` is called with the
    SparkSession afterwards (reads that need Spark: tables with equality deletes)."""
    from dp_lakehouse.pyiceberg import lake_catalog
    from dp_spark.session import build_session
    from dp_spark_jobs import gold
    from dp_spark_jobs.bronze import job as bronze
    from dp_spark_jobs.silver import job as silver

    catalog = lake_catalog(loaded.settings)
    (domain,) = {c.domain for c in contracts}  # the demo's contracts are one domain's

    def build_gold() -> list[TableRun]:
        built = gold.run(loaded, domain, quiet=True, stdout=sys.stderr, catalog=catalog)  # stdout may be JSON
        say("  gold   dbt build: tests " + (", ".join(f"{n} {s}" for s, n in sorted(built.tests.items())) or "none"))
        return built.tables

    spark = build_session(loaded, "dp-demo-batch")
    runs: list[LayerRun] = []
    try:
        jobs: list[tuple[str, Callable[[], list[TableRun]]]] = [
            ("bronze", lambda: bronze.run(spark, loaded, contracts, catalog=catalog)),
            ("silver", lambda: silver.run(spark, loaded, contracts, catalog=catalog)),
            ("gold", build_gold),
        ]
        for layer, job in jobs:
            began = time.monotonic()
            tables = job()
            run = LayerRun(layer, tables, time.monotonic() - began)
            runs.append(run)
            say(
                f"  {layer:<6} {run.rows_read:>8,} rows read, {run.rows_written:>8,} written, "
                f"{run.committed} table(s) committed in {run.seconds:.1f} s"
            )
        after = then(spark)
    finally:
        spark.stop()
    return runs, after
