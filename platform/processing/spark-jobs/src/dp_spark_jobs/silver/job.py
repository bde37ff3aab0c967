"""etl_silver: Bronze -> Silver, incremental, decoded with each record's writer schema, deduplicated, rejects parked.

Per contract, one run:

1. reads the Bronze snapshots appended since the one recorded in Silver (``dp.bronze.snapshot-id``);
2. decodes each record with the writer schema its wire header names (from the registry) and projects it onto the
   latest contract version (new optional fields null for older records, promotions cast);
3. rejects, into ``silver.<domain>__<entity>__rejected`` with the reason and the Bronze coordinates: unframed values,
   unknown schema ids, undecodable bodies, required fields that are null;
4. drops duplicates by event id within the batch and against Silver with ``MERGE INTO`` (reference data: the
   latest version per key wins, and every version -- one per key and event time -- is kept in
   ``silver.<domain>__<entity>__versions``, for type-2 dimensions and joins as of an event's time); late events
   land in their event-time partition because Silver is partitioned by event time;
5. records the Bronze snapshot it has reached in a Silver snapshot summary.

Every write is idempotent (``MERGE`` on the event id, rejects on their Bronze coordinates), so a run that dies
anywhere and is rerun processes the same Bronze range again and ends in exactly the same state.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro
from pyspark.sql.types import ArrayType, DataType, MapType, StructField, StructType
from pyspark.sql.window import Window

from dp_contracts.compiler import to_spark
from dp_contracts.model import Contract
from dp_contracts.plausibility import EventTimeBounds
from dp_core.config import LoadedConfig, PlatformSettings
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.errors import SourceUnavailable
from dp_spark_jobs.silver.tables import METADATA_FIELDS, ensure_rejected_table, ensure_silver_table
from dp_spark_jobs.summary import TableRun
from dp_spark_jobs.tables import (
    BRONZE_SNAPSHOT_KEY,
    JOB_KEY,
    SILVER_BATCH_KEY,
    bronze_table,
    rejected_table,
    silver_table,
    versions_table,
)

REASON = "_reject_reason"
RULE = "_reject_rule"


@dataclass(frozen=True)
class WriterSchemas:
    """Writer schemas by registry id: ``None`` for an id the registry does not know."""

    by_id: dict[int, str | None]


def fetch_writer_schemas(settings: PlatformSettings, ids: list[int]) -> WriterSchemas:
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    from dp_contracts.registry import registry_client

    client = registry_client(settings)
    found: dict[int, str | None] = {}
    for schema_id in ids:
        try:
            found[schema_id] = client.get_schema(schema_id).schema_str
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                found[schema_id] = None
                continue
            raise SourceUnavailable(f"schema registry: schema {schema_id}: {exc}") from exc
        except Exception as exc:  # transport errors of the client's HTTP library
            raise SourceUnavailable(f"schema registry at {settings.registry.url} unreachable: {exc}") from exc
    return WriterSchemas(found)


# ------------------------------------------------------------------------------------------------ pure transforms


def reader_type(contract: Contract) -> StructType:
    """The latest contract version as a Spark struct: what every decoded record is projected onto."""
    return StructType.fromJson(to_spark(contract.record))


def nullable(data_type: DataType) -> DataType:
    """The same type with every nested field nullable (a cast may not produce NOT NULL fields)."""
    if isinstance(data_type, StructType):
        return StructType([StructField(f.name, nullable(f.dataType), True, f.metadata) for f in data_type.fields])
    if isinstance(data_type, ArrayType):
        return ArrayType(nullable(data_type.elementType), True)
    if isinstance(data_type, MapType):
        return MapType(data_type.keyType, nullable(data_type.valueType), True)
    return data_type


def decode(
    bronze: DataFrame, contract: Contract, writers: WriterSchemas, bounds: EventTimeBounds | None = None
) -> DataFrame:
    """Bronze rows -> the contract's columns (latest version) + metadata + a reject reason (null when valid).

    With ``bounds``, an event time outside them (before the oldest, or further ahead of the time Bronze took the
    record than the skew allows) is a reject with rule ``range``, as the producer core would have dead-lettered it:
    such a record reached Kafka some other way, and no later layer could use it (year 0 breaks Python's dates)."""
    target = reader_type(contract)
    body = F.expr("substring(value, 6, length(value) - 5)")
    parts: list[DataFrame] = []
    known = {i: s for i, s in writers.by_id.items() if s is not None}
    for schema_id, writer in known.items():
        writer_fields = {f["name"] for f in json.loads(writer).get("fields", [])}
        rows = bronze.where(F.col("schema_id") == schema_id)
        decoded = rows.withColumn("_d", from_avro(body, writer, {"mode": "PERMISSIVE"}))
        columns: list[Column] = []
        for field in target.fields:
            source = F.col(f"_d.`{field.name}`") if field.name in writer_fields else F.lit(None)
            columns.append(source.cast(nullable(field.dataType)).alias(field.name))
        # PERMISSIVE decoding yields null, or a struct of nulls, for a body its writer schema cannot read
        every_field = [F.col(f"_d.`{n}`").isNotNull() for n in sorted(writer_fields)]
        garbage = F.col("_d").isNull() | ~F.greatest(*every_field) if len(every_field) > 1 else F.col("_d").isNull()
        reason = F.when(garbage, F.lit("undecodable: the body does not match its writer schema"))
        rule = F.when(garbage, F.lit("undecodable"))
        for field in target.fields:
            if not field.nullable:
                missing = F.col(f"_d.`{field.name}`").isNull() if field.name in writer_fields else F.lit(True)
                reason = reason.when(missing, F.lit(f"required field {field.name} is null"))
                rule = rule.when(missing, F.lit("required"))
        if bounds is not None and contract.meta.event_time in writer_fields:
            moment = F.col(f"_d.`{contract.meta.event_time}`")
            skew = int(bounds.max_future_skew.total_seconds())
            early = moment < F.lit(bounds.oldest)
            ahead = moment > F.col("ingested_at") + F.expr(f"INTERVAL {skew} SECONDS")
            for implausible, why in (
                (early, f"before the oldest accepted event time {bounds.oldest.isoformat()}"),
                (ahead, f"more than {skew} s ahead of the time Bronze took the record"),
            ):
                reason = reason.when(
                    implausible,
                    F.concat(F.lit(f"{contract.meta.event_time} "), moment.cast("string"), F.lit(f" is {why}")),
                )
                rule = rule.when(implausible, F.lit("range"))
        parts.append(decoded.select(*columns, *_metadata(), reason.alias(REASON), rule.alias(RULE), "key", "value"))
    unknown = bronze.where(F.col("schema_id").isNull() | ~F.col("schema_id").isin(list(known) or [-1]))
    nulls = [F.lit(None).cast(nullable(f.dataType)).alias(f.name) for f in target.fields]
    parts.append(
        unknown.select(
            *nulls,
            *_metadata(),
            F.when(F.col("schema_id").isNull(), F.lit("the value has no Confluent wire header"))
            .otherwise(F.concat(F.lit("unknown schema id "), F.col("schema_id").cast("string")))
            .alias(REASON),
            F.when(F.col("schema_id").isNull(), F.lit("wire_format")).otherwise(F.lit("unknown_schema_id")).alias(RULE),
            "key",
            "value",
        )
    )
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def _metadata() -> list[Column]:
    return [
        F.col("topic").alias("_source_topic"),
        F.col("partition").alias("_source_partition"),
        F.col("offset").alias("_source_offset"),
        F.col("schema_id").alias("_schema_id"),
        F.col("ingested_at").alias("_ingested_at"),
    ]


#: the order records arrived in: Bronze's ingestion time, then the Kafka coordinates (a key stays on its partition)
ARRIVAL = ("_ingested_at", "_source_partition", "_source_offset")


def arrived_later(new: str, old: str) -> str:
    """SQL: a row arrived after another, by :data:`ARRIVAL`; ``new`` and ``old`` make a column's reference from its
    name (``"s.`{}`"``). A row did not arrive after itself, so a rerun of the same batch changes nothing."""
    condition = f"{new.format(ARRIVAL[-1])} > {old.format(ARRIVAL[-1])}"
    for column in reversed(ARRIVAL[:-1]):
        a, b = new.format(column), old.format(column)
        condition = f"({a} > {b} OR ({a} = {b} AND {condition}))"
    return condition


def content_differs(contract: Contract, new: str, old: str) -> str:
    """SQL: two rows differ in a contract column (null-safe; maps, which Spark cannot compare, as JSON). ``new`` and
    ``old`` as in :func:`arrived_later`. An identical re-send of a record is no new version."""
    terms = []
    for field in reader_type(contract).fields:
        a, b = new.format(field.name), old.format(field.name)
        if isinstance(field.dataType, MapType):
            a, b = f"to_json({a})", f"to_json({b})"
        terms.append(f"NOT ({a} <=> {b})")
    return "(" + " OR ".join(terms) + ")"


def replaces(contract: Contract, new: str, old: str) -> str:
    """SQL: a record of the same key and event time as a held one replaces it: it arrived later and says something
    else (of two different records with equal event times the last to arrive wins, as in the speed layer)."""
    return f"({arrived_later(new, old)} AND {content_differs(contract, new, old)})"


def distinct_versions(valid: DataFrame, contract: Contract) -> DataFrame:
    """Reference data: one row per key and event time, for the versions table. Of two records of a key with the
    same event time the one that arrived last wins, as in the latest table and the speed layer."""
    window = Window.partitionBy(contract.meta.key, contract.meta.event_time).orderBy(
        *(F.col(c).desc() for c in ARRIVAL)
    )
    return valid.withColumn("_rank", F.row_number().over(window)).where("_rank = 1").drop("_rank")


def deduplicate(valid: DataFrame, contract: Contract) -> DataFrame:
    """One row per event id (the first in Kafka order); reference data: the latest version per key (of equal event
    times, the one that arrived last)."""
    if contract.meta.kind == "reference":
        order = [F.col(contract.meta.event_time).desc(), *(F.col(c).desc() for c in ARRIVAL)]
        key = contract.meta.key
    else:
        order = [F.col("_ingested_at"), F.col("_source_partition"), F.col("_source_offset")]
        key = contract.meta.event_id or contract.meta.key
    window = Window.partitionBy(key).orderBy(*order)
    return valid.withColumn("_rank", F.row_number().over(window)).where("_rank = 1").drop("_rank")


# ---------------------------------------------------------------------------------------------------------- edges


def _processed_bronze_snapshot(catalog: Catalog, identifier: str) -> int | None:
    table = catalog.load_table(identifier)
    for snapshot in sorted(table.snapshots(), key=lambda s: s.sequence_number or 0, reverse=True):
        value = snapshot.summary.additional_properties.get(BRONZE_SNAPSHOT_KEY) if snapshot.summary else None
        if value:
            return int(value)
    return None


Hook = Callable[[str, str], None]


def run_contract(
    spark: SparkSession,
    settings: PlatformSettings,
    catalog: Catalog,
    contract: Contract,
    batch_id: int,
    hook: Hook | None = None,
) -> TableRun:
    began = time.monotonic()
    name = settings.iceberg.catalog.name
    bronze_id, silver_id, rejected_id = (
        bronze_table(settings, contract),
        silver_table(settings, contract),
        rejected_table(settings, contract),
    )
    run = TableRun(layer="silver", table=silver_id)
    # every contract's tables exist after a run, records or not: readers (dbt's staging views) need no guard
    _, added = ensure_silver_table(catalog, silver_id, contract)
    ensure_rejected_table(catalog, rejected_id)
    reference = contract.meta.kind == "reference"
    versions_id = versions_table(settings, contract) if reference else None
    if versions_id is not None:
        ensure_silver_table(catalog, versions_id, contract)
    if added:
        run.details["columns_added"] = added
    try:
        bronze = catalog.load_table(bronze_id)
    except NoSuchTableError:
        run.details["note"] = f"{bronze_id} does not exist yet (run bronze first)"
        return run
    head = bronze.current_snapshot()
    if head is None:
        run.details["note"] = f"{bronze_id} is empty"
        return run
    done = _processed_bronze_snapshot(catalog, silver_id)
    if done == head.snapshot_id:
        run.seconds = time.monotonic() - began
        return run
    for identifier in (bronze_id, silver_id, rejected_id, *([versions_id] if versions_id else [])):
        # others (pyiceberg, Bronze) may have committed
        spark.sql(f"REFRESH TABLE {name}.{identifier}")
    reader = spark.read.format("iceberg")
    if done is None:
        source = reader.option("versionAsOf", head.snapshot_id).load(f"{name}.{bronze_id}")
    else:
        source = (
            reader.option("start-snapshot-id", done)
            .option("end-snapshot-id", head.snapshot_id)
            .load(f"{name}.{bronze_id}")
        )
    source = source.cache()
    run.rows_read = source.count()
    ids = sorted(r.schema_id for r in source.select("schema_id").distinct().collect() if r.schema_id is not None)
    bounds = EventTimeBounds.from_settings(settings)
    decoded = decode(source, contract, fetch_writer_schemas(settings, ids), bounds).cache()

    rejects = decoded.where(F.col(REASON).isNotNull())
    run.rejected = rejects.count()
    if run.rejected:
        view = f"rejects_{uuid.uuid4().hex}"
        rejects.select(
            F.col(REASON).alias("reason"),
            F.col(RULE).alias("rule"),
            "_source_topic",
            "_source_partition",
            "_source_offset",
            "key",
            "value",
            "_schema_id",
            "_ingested_at",
            F.lit(batch_id).alias("_batch_id"),
            F.current_timestamp().alias("rejected_at"),
        ).createOrReplaceTempView(view)
        spark.sql(
            f"MERGE INTO {name}.{rejected_id} t USING {view} s "
            "ON t._source_topic = s._source_topic AND t._source_partition = s._source_partition "
            "AND t._source_offset = s._source_offset WHEN NOT MATCHED THEN INSERT *"
        )

    if hook is not None:  # test seam: where a crash is simulated
        hook("after-rejects", silver_id)
    columns = [f.name for f in reader_type(contract).fields] + [n for n, _, _ in METADATA_FIELDS]
    valid = decoded.where(F.col(REASON).isNull()).withColumn("_batch_id", F.lit(batch_id)).select(*columns)
    # checkpointed: a MERGE whose source still reads the Bronze table fails to plan in Spark 4.1 ("No plan for
    # TableReference"), and the batch is small enough to materialise
    if versions_id is not None:  # every version, before the latest: a crash in between redoes both (idempotent)
        run.details["versions_written"] = _merge_versions(spark, f"{name}.{versions_id}", valid, contract)
        if hook is not None:
            hook("after-versions", silver_id)
    unique = deduplicate(valid, contract).localCheckpoint()
    valid_count, unique_count = valid.count(), unique.count()
    key = contract.meta.key if contract.meta.kind == "reference" else (contract.meta.event_id or contract.meta.key)
    existing = spark.table(f"{name}.{silver_id}").select(key)
    new_rows = unique.join(existing, on=key, how="left_anti").count()
    view = f"batch_{uuid.uuid4().hex}"
    unique.createOrReplaceTempView(view)
    if contract.meta.kind == "reference":
        when = contract.meta.event_time
        newer = f"(s.`{when}` > t.`{when}` OR (s.`{when}` = t.`{when}` AND {replaces(contract, 's.`{}`', 't.`{}`')}))"
        spark.sql(
            f"MERGE INTO {name}.{silver_id} t USING {view} s ON t.`{key}` = s.`{key}` "
            f"WHEN MATCHED AND {newer} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
    else:
        spark.sql(
            f"MERGE INTO {name}.{silver_id} t USING {view} s ON t.`{key}` = s.`{key}` WHEN NOT MATCHED THEN INSERT *"
        )
    if hook is not None:
        hook("after-merge", silver_id)
    run.rows_written = new_rows
    run.duplicates_dropped = valid_count - unique_count if contract.meta.kind == "reference" else valid_count - new_rows
    run.snapshot_id = _record_progress(spark, f"{name}.{silver_id}", head.snapshot_id, batch_id)
    run.details.update({"bronze_snapshot_id": head.snapshot_id, "schema_ids": ids})
    for frame in (source, decoded):
        frame.unpersist()
    run.seconds = time.monotonic() - began
    return run


def _merge_versions(spark: SparkSession, table: str, valid: DataFrame, contract: Contract) -> int:
    """Insert the versions (key, event time) the versions table does not hold yet, and replace a held one by a
    record of the same key and event time that arrived later; return how many rows were inserted or replaced."""
    key, when = contract.meta.key, contract.meta.event_time
    versions = distinct_versions(valid, contract).localCheckpoint()
    held = [*(f.name for f in reader_type(contract).fields), *ARRIVAL]
    existing = spark.table(table).select(
        key, when, *(F.col(c).alias(f"_held_{c}") for c in held), F.lit(True).alias("_held")
    )
    joined = versions.join(existing, on=[key, when], how="left")
    written = joined.where(f"_held IS NULL OR {replaces(contract, '`{}`', '`_held_{}`')}").count()
    view = f"versions_{uuid.uuid4().hex}"
    versions.createOrReplaceTempView(view)
    if written:
        newer = replaces(contract, "s.`{}`", "t.`{}`")
        spark.sql(
            f"MERGE INTO {table} t USING {view} s ON t.`{key}` = s.`{key}` AND t.`{when}` = s.`{when}` "
            f"WHEN MATCHED AND {newer} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
    return written


def _record_progress(spark: SparkSession, table: str, bronze_snapshot: int, batch_id: int) -> int:
    """An empty append whose snapshot summary says how far Bronze has been processed (after the data is in)."""
    empty = spark.table(table).limit(0)
    (
        empty.writeTo(table)
        .option(f"snapshot-property.{BRONZE_SNAPSHOT_KEY}", str(bronze_snapshot))
        .option(f"snapshot-property.{SILVER_BATCH_KEY}", str(batch_id))
        .option(f"snapshot-property.{JOB_KEY}", "etl_silver")
        .append()
    )
    # the table name comes from config, not from data
    query = f"SELECT snapshot_id FROM {table}.snapshots ORDER BY committed_at DESC LIMIT 1"  # noqa: S608
    row = spark.sql(query).first()
    return int(row.snapshot_id) if row is not None else 0


def run(
    spark: SparkSession,
    loaded: LoadedConfig,
    contracts: list[Contract],
    *,
    catalog: Catalog | None = None,
    hook: Hook | None = None,
) -> list[TableRun]:
    """Bronze -> Silver for every contract; one batch id (milliseconds since the epoch) for the whole run.

    ``hook(point, table)`` is called after the rejects are written and after the MERGE (tests kill the job there).
    """
    settings = loaded.settings
    lake = catalog or lake_catalog(settings)
    batch_id = int(time.time() * 1000)
    return [run_contract(spark, settings, lake, contract, batch_id, hook) for contract in contracts]


__all__ = ["decode", "deduplicate", "reader_type", "run", "run_contract"]
