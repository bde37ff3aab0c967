"""Every table name follows the one scheme, Silver's metadata columns are documented, the summary keys are stable."""

from __future__ import annotations

from dataclasses import dataclass

from dp_core.config import PlatformSettings
from dp_core.config.models import IcebergSettings, NamespaceSettings
from dp_lakehouse import tables


@dataclass(frozen=True)
class Stem:
    table_stem: str


SETTINGS = PlatformSettings(
    iceberg=IcebergSettings(namespaces=NamespaceSettings(bronze="raw", silver="clean", gold="marts"))
)
ORDERS = Stem("commerce__order_placed")


def test_table_names_follow_the_scheme_in_the_configured_namespaces() -> None:
    assert tables.bronze_table(SETTINGS, ORDERS) == "raw.commerce__order_placed"
    assert tables.bronze_dlq_table(SETTINGS, ORDERS) == "raw.commerce__order_placed__dlq"
    assert tables.silver_table(SETTINGS, ORDERS) == "clean.commerce__order_placed"
    assert tables.rejected_table(SETTINGS, ORDERS) == "clean.commerce__order_placed__rejected"
    assert tables.gold_table(SETTINGS, "fct_orders") == "marts.fct_orders"


def test_default_namespaces_are_bronze_silver_gold() -> None:
    settings = PlatformSettings()
    assert tables.silver_table(settings, ORDERS) == "silver.commerce__order_placed"
    assert tables.gold_table(settings, "agg_revenue_daily") == "gold.agg_revenue_daily"


def test_every_metadata_column_is_documented_in_order() -> None:
    assert [name for name, _ in tables.SILVER_METADATA_DOCS] == [name for name, _ in tables.SILVER_METADATA_COLUMNS]
    assert all(doc for _, doc in tables.SILVER_METADATA_DOCS)
    assert dict(tables.SILVER_METADATA_COLUMNS)[tables.SILVER_INGESTED_AT] == "timestamp"


def test_snapshot_summary_keys() -> None:
    assert (
        tables.OFFSETS_KEY,
        tables.BRONZE_SNAPSHOT_KEY,
        tables.SILVER_BATCH_KEY,
        tables.WATERMARK_KEY,
        tables.JOB_KEY,
    ) == (
        "dp.kafka.offsets",
        "dp.bronze.snapshot-id",
        "dp.silver.batch-id",
        "dp.watermark",
        "dp.job",
    )
