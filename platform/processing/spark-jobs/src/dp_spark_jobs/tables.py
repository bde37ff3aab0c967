"""The batch layer's table layouts: Bronze's pyiceberg schema and partitioning.

Table names, Silver's metadata columns and the snapshot-summary keys are the lakehouse's (:mod:`dp_lakehouse.tables`)
and are re-exported here for the jobs.
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

from dp_lakehouse.tables import (
    BRONZE_SNAPSHOT_KEY,
    JOB_KEY,
    OFFSETS_KEY,
    SILVER_BATCH_KEY,
    SILVER_METADATA_COLUMNS,
    WATERMARK_KEY,
    bronze_dlq_table,
    bronze_table,
    gold_table,
    rejected_table,
    silver_table,
    versions_table,
)

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

__all__ = [
    "BRONZE_PARTITIONING",
    "BRONZE_SCHEMA",
    "BRONZE_SNAPSHOT_KEY",
    "JOB_KEY",
    "OFFSETS_KEY",
    "SILVER_BATCH_KEY",
    "SILVER_METADATA_COLUMNS",
    "WATERMARK_KEY",
    "bronze_dlq_table",
    "bronze_table",
    "gold_table",
    "rejected_table",
    "silver_table",
    "versions_table",
]
