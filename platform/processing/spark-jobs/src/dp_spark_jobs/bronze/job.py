"""etl_bronze: Kafka -> Bronze, every record landed unchanged exactly once.

For each contract, its topic lands in ``bronze.<domain>__<entity>`` and its dead letters (``<topic>.dlq``) in
``bronze.<domain>__<entity>__dlq``. Per table, one run:

1. reads the Kafka offsets committed so far from the table's history (``dp.kafka.offsets`` of the newest snapshot
   on ``main`` that carries it) -- call that snapshot's head ``base`` -- and the brokers' watermarks;
2. reads exactly ``[committed, high watermark)`` per partition with Spark's Kafka source (explicit offsets);
3. appends the records to a private branch created at ``base``; that snapshot's summary carries the new offsets, so
   data and offsets are one snapshot;
4. publishes it: moves ``main`` from ``base`` to that snapshot in one catalog commit that requires ``main`` to still
   be ``base`` (compare-and-swap on the REST catalog), and drops the branch in the same commit.

A crash before step 4 leaves ``main`` and its offsets untouched: the rerun reads the same ranges again (and drops
the abandoned branch). A crash after it leaves the new offsets: the rerun starts after them. A second writer that
published in between makes step 4 fail (:class:`BatchJobFailed`) instead of landing the same offsets twice --
which a plain append would do, since Iceberg rebases an append on a concurrent commit and retries it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from py4j.protocol import Py4JError  # type: ignore[import-untyped]
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot, ancestors_of
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from dp_contracts.model import Contract
from dp_core.config import LoadedConfig, PlatformSettings
from dp_ingest.kafka import client_conf
from dp_spark_jobs.bronze.offsets import (
    Offsets,
    OffsetsFormatError,
    TopicPlan,
    Watermarks,
    dump_offsets,
    merge_offsets,
    offsets_json,
    parse_offsets,
    plan_topic,
)
from dp_spark_jobs.bronze.source import WIRE_HEADER_SIZE, read_watermarks, spark_kafka_options
from dp_spark_jobs.catalog import CATALOG_ERRORS, lake_catalog
from dp_spark_jobs.errors import BatchJobFailed, SourceUnavailable
from dp_spark_jobs.summary import TableRun
from dp_spark_jobs.tables import (
    BRONZE_PARTITIONING,
    BRONZE_SCHEMA,
    JOB_KEY,
    OFFSETS_KEY,
    bronze_dlq_table,
    bronze_table,
)

log = logging.getLogger(__name__)

JOB = "etl_bronze"
#: where each partition was read from, beside the offsets reached (for the offset ledger and the auditor)
START_OFFSETS_KEY = "dp.kafka.start-offsets"
#: private branches a run writes to before it publishes; one left behind marks a run that died before publishing
BRANCH_PREFIX = "etl_bronze_"

#: hook points, in order, for the table being landed: before the Spark write starts; after the records are
#: committed to the private branch and before ``main`` moves
BEFORE_WRITE = "before-write"
BEFORE_PUBLISH = "before-publish"
Hook = Callable[[str, str], None]

_ENGINE_ERRORS = (PySparkException, Py4JError)


# ------------------------------------------------------------------------------------------------ pure transforms


def schema_id_column(value: Column) -> Column:
    """The schema id of a Confluent-framed value as a Spark column: the 4 bytes after magic byte 0, as a signed
    int; null when the value is null, shorter than 5 bytes or starts with another byte
    (same result as :func:`dp_spark_jobs.bronze.source.wire_schema_id`)."""
    header = F.hex(F.substring(value, 1, WIRE_HEADER_SIZE))
    unsigned = F.conv(F.substring(header, 3, 8), 16, 10).cast("bigint")
    signed = F.when(unsigned >= 2**31, unsigned - 2**32).otherwise(unsigned).cast("int")
    framed = (F.length(value) >= WIRE_HEADER_SIZE) & header.startswith("00")
    return F.when(framed, signed).otherwise(F.lit(None).cast("int"))


def to_bronze(records: DataFrame, ingested_at: dt.datetime) -> DataFrame:
    """Rows of Spark's Kafka source (with headers) -> Bronze rows: the record unchanged, its coordinates, the schema
    id of its wire header and the time of the run that landed it."""
    return records.select(
        F.col("topic"),
        F.col("partition"),
        F.col("offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.col("key"),
        F.col("value"),
        F.col("headers"),
        schema_id_column(F.col("value")).alias("schema_id"),
        F.lit(ingested_at).cast("timestamp").alias("ingested_at"),
    )


def offsets_in_history(summaries: Iterable[Mapping[str, str]]) -> Offsets | None:
    """The offsets of the newest summary (``summaries`` newest first) that carries them; ``None`` if none does.

    Snapshots other jobs add (compaction, maintenance) carry no offsets: the newest one that does is the truth.
    """
    for summary in summaries:
        if OFFSETS_KEY in summary:
            return parse_offsets(summary[OFFSETS_KEY])
    return None


# -------------------------------------------------------------------------------------------------------- the job


@dataclass
class _Context:
    spark: SparkSession
    settings: PlatformSettings
    catalog: Catalog
    ingested_at: dt.datetime
    kafka_options: dict[str, str]
    hook: Hook | None
    fail_on_data_loss: bool

    @property
    def spark_catalog(self) -> str:
        return self.settings.iceberg.catalog.name


def run(
    spark: SparkSession,
    loaded: LoadedConfig,
    contracts: list[Contract],
    *,
    catalog: Catalog | None = None,
    hook: Hook | None = None,
    fail_on_data_loss: bool = True,
) -> list[TableRun]:
    """Land every new record of the contracts' topics and dead-letter topics in Bronze; one :class:`TableRun` per
    table (``snapshot_id`` ``None`` when there was nothing new).

    Args:
        spark: a session on the shared catalog (:func:`dp_spark.session.build_session`).
        loaded: the effective configuration.
        contracts: whose topics to land.
        catalog: a pyiceberg client of the same catalog (default: one from the settings).
        hook: called with ``(point, table)`` at :data:`BEFORE_WRITE` and :data:`BEFORE_PUBLISH`.
        fail_on_data_loss: fail when records were deleted from Kafka (retention) before Bronze read them; when
            False, start at the oldest record kept and report the lost ranges in the run's details.

    Raises:
        BatchJobFailed: a table could not be landed; what it did is not published (tables landed before it are).
        SourceUnavailable: Kafka or the catalog cannot be reached.
    """
    settings = loaded.settings
    ctx = _Context(
        spark=spark,
        settings=settings,
        catalog=catalog if catalog is not None else lake_catalog(settings),
        ingested_at=dt.datetime.now(dt.UTC),
        kafka_options=spark_kafka_options(client_conf(settings)),
        hook=hook,
        fail_on_data_loss=fail_on_data_loss,
    )
    targets = [
        pair
        for contract in contracts
        for pair in (
            (contract.topic, bronze_table(settings, contract)),
            (contract.dlq_topic, bronze_dlq_table(settings, contract)),
        )
    ]
    watermarks = read_watermarks(settings, [topic for topic, _ in targets])
    runs = []
    for topic, identifier in targets:
        table_run = _land(ctx, topic, identifier, watermarks[topic])
        log.info(
            "bronze %s: %d records from %s, snapshot %s (%.1f s)",
            identifier,
            table_run.rows_written,
            topic,
            table_run.snapshot_id,
            table_run.seconds,
            extra={"table": identifier, "topic": topic, "snapshot_id": table_run.snapshot_id},
        )
        runs.append(table_run)
    return runs


def _land(ctx: _Context, topic: str, identifier: str, watermarks: Watermarks | None) -> TableRun:
    began = time.monotonic()
    result = TableRun(layer="bronze", table=identifier)
    with _catalog_errors(identifier):
        table = _ensure_table(ctx.catalog, identifier)
        base = table.current_snapshot()
        committed = _committed_offsets(identifier, table, base)
    plan = plan_topic(topic, committed, watermarks)
    result.details = {
        "topic": topic,
        "from": offsets_json({topic: plan.start}),
        "offsets": offsets_json({topic: plan.next_offsets}),
    }
    if plan.notes:
        result.details["notes"] = list(plan.notes)
        for note in plan.notes:
            log.warning("bronze %s: %s", identifier, note)
    if plan.problems:
        raise BatchJobFailed(f"{identifier}: " + "; ".join(plan.problems))
    if plan.lost:
        lost = [f"{topic}[{r.partition}] offsets {r.start}..{r.end - 1}" for r in plan.lost]
        if ctx.fail_on_data_loss:
            raise BatchJobFailed(
                f"{identifier}: records were deleted from Kafka before Bronze read them ({'; '.join(lost)}); "
                "rerun with data loss allowed to go on from the oldest records kept"
            )
        log.error("bronze %s: records lost to retention before they were read: %s", identifier, "; ".join(lost))
        result.details["lost"] = lost
    if plan.empty:
        result.seconds = time.monotonic() - began
        return result

    with _catalog_errors(identifier):
        if base is None:
            base = _base_snapshot(ctx.catalog, identifier)
        branch = _open_branch(ctx.catalog, identifier, base.snapshot_id)
    published = False
    try:
        _write_branch(ctx, identifier, branch, plan, merge_offsets(committed, {topic: plan.next_offsets}))
        if ctx.hook is not None:
            ctx.hook(BEFORE_PUBLISH, identifier)
        with _catalog_errors(identifier):
            snapshot = _publish(ctx.catalog, identifier, branch, base.snapshot_id)
        published = True
    finally:
        if not published:
            _drop_branch(ctx.catalog, identifier, branch)
    try:
        _refresh(ctx, identifier)
    except BatchJobFailed as exc:  # published all the same: only this session's cached view is stale
        log.warning("bronze %s: %s", identifier, exc)

    props = snapshot.summary.additional_properties if snapshot.summary else {}
    landed = int(props.get("added-records", "0"))
    result.rows_read = result.rows_written = landed
    result.snapshot_id = snapshot.snapshot_id
    gaps = plan.offsets_in_ranges - landed
    if gaps:  # compacted topics and transaction markers leave offsets without records
        result.details["offset_gaps"] = gaps
    result.seconds = time.monotonic() - began
    return result


def _ensure_table(catalog: Catalog, identifier: str) -> Table:
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    try:
        table = catalog.create_table(identifier, schema=BRONZE_SCHEMA, partition_spec=BRONZE_PARTITIONING)
        log.info("bronze: created %s", identifier)
        return table
    except TableAlreadyExistsError:  # created meanwhile by a concurrent run
        return catalog.load_table(identifier)
    except NoSuchNamespaceError as exc:
        raise BatchJobFailed(
            f"{identifier}: its namespace does not exist (the local stack creates the layers' namespaces)"
        ) from exc


def _committed_offsets(identifier: str, table: Table, head: Snapshot | None) -> Offsets:
    if head is None:
        return {}
    history = ancestors_of(head, table.metadata)
    try:
        found = offsets_in_history(s.summary.additional_properties if s.summary else {} for s in history)
    except OffsetsFormatError as exc:
        raise BatchJobFailed(f"{identifier}: unreadable {OFFSETS_KEY} in its history: {exc}") from exc
    if found is not None:
        return found
    total = head.summary.additional_properties.get("total-records") if head.summary else None
    if total != "0":
        # Re-reading from the earliest offsets would duplicate every record the table holds.
        raise BatchJobFailed(
            f"{identifier}: snapshot {head.snapshot_id} holds records but no snapshot in its history records the "
            f"Kafka offsets ({OFFSETS_KEY}); was it written by another tool, or were the snapshots expired?"
        )
    return {}


def _base_snapshot(catalog: Catalog, identifier: str) -> Snapshot:
    """An empty first snapshot for a table that has none, so a private branch has a point to start from."""
    table = catalog.load_table(identifier)
    if table.current_snapshot() is None:
        with table.transaction() as tx, tx.update_snapshot({OFFSETS_KEY: "{}", JOB_KEY: JOB}).fast_append():
            pass
        table = catalog.load_table(identifier)
    snapshot = table.current_snapshot()
    if snapshot is None:
        raise BatchJobFailed(f"{identifier}: could not create its first snapshot")
    return snapshot


def _open_branch(catalog: Catalog, identifier: str, base: int) -> str:
    """A new private branch at ``base``; branches left by runs that died before publishing are dropped first."""
    table = catalog.load_table(identifier)
    for stale in sorted(name for name in table.metadata.refs if name.startswith(BRANCH_PREFIX)):
        log.warning("bronze %s: dropping branch %s left by a run that did not publish", identifier, stale)
        _drop_branch(catalog, identifier, stale)
    branch = f"{BRANCH_PREFIX}{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:8]}"
    catalog.load_table(identifier).manage_snapshots().create_branch(base, branch).commit()
    return branch


def _write_branch(ctx: _Context, identifier: str, branch: str, plan: TopicPlan, offsets: Offsets) -> None:
    """Append the planned ranges to ``branch``, the offsets reached in the same snapshot's summary."""
    if ctx.hook is not None:
        ctx.hook(BEFORE_WRITE, identifier)
    target = f"{ctx.spark_catalog}.{identifier}"
    try:
        records = (
            ctx.spark.read.format("kafka")
            .options(**ctx.kafka_options)
            .option("assign", plan.assign_json())
            .option("startingOffsets", plan.starting_json())
            .option("endingOffsets", plan.ending_json())
            .option("includeHeaders", "true")
            # Offsets without records (compaction, transaction markers) are not data loss; loss to retention is
            # found before reading (plan.lost), from the watermarks.
            .option("failOnDataLoss", "false")
            .load()
        )
        _refresh(ctx, identifier)  # the branch was created outside this session's table cache
        (
            to_bronze(records, ctx.ingested_at)
            .writeTo(f"{target}.branch_{branch}")
            .option("distribution-mode", "none")  # one file per Kafka partition read: no shuffle
            .option(f"snapshot-property.{OFFSETS_KEY}", dump_offsets(offsets))
            .option(f"snapshot-property.{START_OFFSETS_KEY}", dump_offsets({plan.topic: plan.start}))
            .option(f"snapshot-property.{JOB_KEY}", JOB)
            .append()
        )
    except _ENGINE_ERRORS as exc:
        raise BatchJobFailed(
            f"{identifier}: landing {plan.topic} from offsets {plan.starting_json()} failed: {_first_line(exc)}"
        ) from exc


def _publish(catalog: Catalog, identifier: str, branch: str, base: int) -> Snapshot:
    """Move ``main`` from ``base`` to the head of ``branch`` and drop the branch, in one commit that fails if
    ``main`` moved meanwhile."""
    table = catalog.load_table(identifier)
    ref = table.metadata.refs.get(branch)
    if ref is None:
        raise BatchJobFailed(f"{identifier}: branch {branch} was dropped by a concurrent run; nothing published")
    head = table.snapshot_by_id(ref.snapshot_id)
    current = table.current_snapshot()
    if head is None or head.parent_snapshot_id != base or current is None or current.snapshot_id != base:
        raise BatchJobFailed(
            f"{identifier}: another writer committed since snapshot {base} was read "
            f"(main is now {current.snapshot_id if current else None}); nothing published, rerun to continue"
        )
    try:
        table.manage_snapshots().set_current_snapshot(snapshot_id=head.snapshot_id).remove_branch(branch).commit()
    except (CommitFailedException, CommitStateUnknownException) as exc:
        # The commit may have landed even though its answer was lost: then main is our snapshot.
        now = catalog.load_table(identifier).current_snapshot()
        if now is None or now.snapshot_id != head.snapshot_id:
            raise BatchJobFailed(
                f"{identifier}: publishing snapshot {head.snapshot_id} over {base} failed, nothing published: {exc}"
            ) from exc
    return head


def _drop_branch(catalog: Catalog, identifier: str, branch: str) -> None:
    """Best effort: a branch that cannot be dropped now is dropped by the next run."""
    try:
        table = catalog.load_table(identifier)
        if branch in table.metadata.refs:
            table.manage_snapshots().remove_branch(branch).commit()
    except (CommitFailedException, NoSuchTableError, *CATALOG_ERRORS) as exc:
        log.warning("bronze %s: could not drop branch %s: %s", identifier, branch, exc)


def _refresh(ctx: _Context, identifier: str) -> None:
    """Make this session see commits made through pyiceberg (its catalog caches tables)."""
    try:
        ctx.spark.sql(f"REFRESH TABLE {ctx.spark_catalog}.{identifier}")
    except _ENGINE_ERRORS as exc:
        raise BatchJobFailed(f"{identifier}: cannot refresh the table in Spark: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    """The gist of an engine error (a Java error's text carries its whole stack trace)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = next((line for line in lines if "Exception:" in line or "Error:" in line), lines[0] if lines else "")
    return text[:1000] or type(exc).__name__


@contextmanager
def _catalog_errors(identifier: str) -> Iterator[None]:
    try:
        yield
    except CATALOG_ERRORS as exc:
        raise SourceUnavailable(f"{identifier}: the Iceberg catalog failed: {exc}") from exc
