"""Names of the lakehouse's tables, the columns Silver adds, and the snapshot-summary keys that carry progress.

Every table name follows one scheme: ``bronze.<domain>__<entity>``, ``silver.<domain>__<entity>``,
``silver.<domain>__<entity>__rejected``, ``silver.<domain>__<entity>__versions`` (reference data),
``gold.fct_<event>``, ``gold.agg_<metric>_<grain>`` (the namespaces are ``iceberg.namespaces.*``). Progress
travels in the same Iceberg snapshot as the data it describes, so a crash can never separate the two:

* Bronze snapshots carry ``dp.kafka.offsets``: the next offset to read per topic partition, as JSON.
* Silver snapshots carry ``dp.bronze.snapshot-id``: the Bronze snapshot up to which Bronze has been processed.
* Gold snapshots carry ``dp.silver.batch-id`` (the highest Silver ``_batch_id`` folded in) and ``dp.watermark``.

Pure names only: every client (the Spark jobs, dbt, readers) spells them from here; no engine is imported.
"""

from __future__ import annotations

from typing import Protocol

from dp_core.config import PlatformSettings

OFFSETS_KEY = "dp.kafka.offsets"
BRONZE_SNAPSHOT_KEY = "dp.bronze.snapshot-id"
SILVER_BATCH_KEY = "dp.silver.batch-id"
WATERMARK_KEY = "dp.watermark"
JOB_KEY = "dp.job"


class HasTableStem(Protocol):
    """What names a contract's tables: its ``<domain>__<entity>`` stem (``dp_contracts.model.Contract`` has it)."""

    @property
    def table_stem(self) -> str: ...


def bronze_table(settings: PlatformSettings, contract: HasTableStem) -> str:
    return f"{settings.iceberg.namespaces.bronze}.{contract.table_stem}"


def bronze_dlq_table(settings: PlatformSettings, contract: HasTableStem) -> str:
    """Dead letters land in Bronze too, beside their topic's table."""
    return f"{settings.iceberg.namespaces.bronze}.{contract.table_stem}__dlq"


def silver_table(settings: PlatformSettings, contract: HasTableStem) -> str:
    return f"{settings.iceberg.namespaces.silver}.{contract.table_stem}"


def rejected_table(settings: PlatformSettings, contract: HasTableStem) -> str:
    return f"{settings.iceberg.namespaces.silver}.{contract.table_stem}__rejected"


#: Reference data keeps every version it has seen in Silver beside the latest: ``silver.<domain>__<entity>__versions``
VERSIONS_SUFFIX = "__versions"


def versions_table(settings: PlatformSettings, contract: HasTableStem) -> str:
    """Every version of a reference contract's records (one row per key and event time): SCD2 and as-of joins."""
    return f"{settings.iceberg.namespaces.silver}.{contract.table_stem}{VERSIONS_SUFFIX}"


def gold_table(settings: PlatformSettings, name: str) -> str:
    return f"{settings.iceberg.namespaces.gold}.{name}"


#: Columns Silver adds after the contract's own, with their Spark SQL types: where each row came from and in which
#: batch it arrived.
SILVER_METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_topic", "string"),
    ("_source_partition", "int"),
    ("_source_offset", "bigint"),
    ("_schema_id", "int"),
    ("_ingested_at", "timestamp"),
    ("_batch_id", "bigint"),
)
#: What each of :data:`SILVER_METADATA_COLUMNS` holds, in its order (the Silver tables' column docs).
SILVER_METADATA_DOCS: tuple[tuple[str, str], ...] = (
    ("_source_topic", "Kafka topic the record came from"),
    ("_source_partition", "Kafka partition"),
    ("_source_offset", "Kafka offset"),
    ("_schema_id", "Registry id of the writer schema"),
    ("_ingested_at", "When Bronze landed the record"),
    ("_batch_id", "The Silver run that inserted the row"),
)
#: Silver's ingestion-time column: what source freshness is measured on.
SILVER_INGESTED_AT = "_ingested_at"
