"""Names and layouts of the batch layer's tables, and the snapshot-summary keys that carry its progress.

Every table name follows one scheme: ``bronze.<domain>__<entity>``, ``silver.<domain>__<entity>``,
``silver.<domain>__<entity>__rejected``, ``gold.fct_<event>``, ``gold.agg_<metric>_<grain>``. Progress travels in the
same Iceberg snapshot as the data it describes, so a crash can never separate the two:

* Bronze snapshots carry ``dp.kafka.offsets``: the next offset to read per topic partition, as JSON.
* Silver snapshots carry ``dp.bronze.snapshot-id``: the Bronze snapshot up to which Bronze has been processed.
* Gold snapshots carry ``dp.silver.batch-id`` (the highest Silver ``_batch_id`` folded in) and ``dp.watermark``.
"""

from __future__ import annotations

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    BinaryType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

from dp_contracts.model import Contract
from dp_core.config import PlatformSettings

OFFSETS_KEY = "dp.kafka.offsets"
BRONZE_SNAPSHOT_KEY = "dp.bronze.snapshot-id"
SILVER_BATCH_KEY = "dp.silver.batch-id"
WATERMARK_KEY = "dp.watermark"
JOB_KEY = "dp.job"


def bronze_table(settings: PlatformSettings, contract: Contract) -> str:
    return f"{settings.iceberg.namespaces.bronze}.{contract.table_stem}"


def bronze_dlq_table(settings: PlatformSettings, contract: Contract) -> str:
    """Dead letters land in Bronze too, beside their topic's table."""
    return f"{settings.iceberg.namespaces.bronze}.{contract.table_stem}__dlq"


def silver_table(settings: PlatformSettings, contract: Contract) -> str:
    return f"{settings.iceberg.namespaces.silver}.{contract.table_stem}"


def rejected_table(settings: PlatformSettings, contract: Contract) -> str:
    return f"{settings.iceberg.namespaces.silver}.{contract.table_stem}__rejected"


def gold_table(settings: PlatformSettings, name: str) -> str:
    return f"{settings.iceberg.namespaces.gold}.{name}"


#: Bronze: the Kafka record unchanged, with its coordinates; partitioned by the day it was ingested.
BRONZE_SCHEMA = Schema(
    NestedField(1, "topic", StringType(), required=True, doc="Kafka topic"),
    NestedField(2, "partition", IntegerType(), required=True, doc="Kafka partition"),
    NestedField(3, "offset", LongType(), required=True, doc="Kafka offset"),
    NestedField(4, "kafka_timestamp", TimestamptzType(), required=False, doc="Kafka record timestamp"),
    NestedField(5, "key", BinaryType(), required=False, doc="Record key, unchanged"),
    NestedField(6, "value", BinaryType(), required=False, doc="Record value, unchanged (Confluent-framed Avro)"),
    NestedField(
        7,
        "headers",
        ListType(
            10,
            StructType(
                NestedField(11, "key", StringType(), required=True),
                NestedField(12, "value", BinaryType(), required=False),
            ),
            element_required=True,
        ),
        required=False,
        doc="Record headers",
    ),
    NestedField(8, "schema_id", IntegerType(), required=False, doc="Schema id of the wire header; null if unframed"),
    NestedField(9, "ingested_at", TimestamptzType(), required=True, doc="When the batch job landed the record"),
)
BRONZE_PARTITIONING = PartitionSpec(PartitionField(9, 1000, DayTransform(), "ingested_day"))

#: Columns Silver adds after the contract's own: where each row came from and in which batch it arrived.
SILVER_METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_topic", "string"),
    ("_source_partition", "int"),
    ("_source_offset", "bigint"),
    ("_schema_id", "int"),
    ("_ingested_at", "timestamp"),
    ("_batch_id", "bigint"),
)
