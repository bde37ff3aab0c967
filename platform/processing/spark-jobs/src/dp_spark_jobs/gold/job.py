"""etl_gold: Silver -> Gold for the shop, recomputing only the days the Silver changes touch.

Tables (definitions of every measure in :mod:`dp_spark_jobs.gold.transforms`):

* ``gold.fct_orders``: one row per order with its lines summed up and its payment outcome;
* ``gold.agg_revenue_daily``: per order day x product category x currency, revenue of the orders whose payment
  status is AUTHORISED (paid, not refunded) and gross revenue of every placed order;
* ``gold.agg_funnel_daily``: per day, sessions that viewed, added to a cart, ordered, paid.

Each table is partitioned by its day column (``days(order_date)``, ``days(event_date)``) and has its own progress.
A run, per table:

1. reads which Silver ``_batch_id`` each source table has been folded in up to, from the table's latest snapshot
   that records it (``dp.silver.batch-ids``, see :mod:`dp_spark_jobs.gold.progress`);
2. reads every Silver source at one pinned snapshot, so all steps of the run see the same data;
3. finds the days the new Silver rows (``_batch_id`` above the recorded one) touch: the UTC days of new page views
   and cart updates (funnel), and for every table the days of the orders that got a new ``order_placed`` or
   ``payment_processed`` event (a payment changes its order's day, not its own; a late event lands on its own,
   old, day);
4. recomputes those days in full from Silver (plus the ``days`` of a backfill) and replaces exactly them in one
   commit (``overwrite`` on the day column: other partitions keep their files; a day that has become empty is
   emptied), with the progress, the days and the watermark in the commit's snapshot summary;
5. copies the watermark and batch id into table properties (``dp.watermark``, ``dp.silver.batch-id``) so readers
   need not scan snapshots; a run also repairs them should a crash have struck between commit and copy.

No new Silver rows and no backfill: nothing is committed (``TableRun.snapshot_id`` is ``None``). A rerun after a
crash recomputes the same days from the same Silver rows into the same values: overwrite makes it idempotent.

The watermark (``dp.watermark``) is the minimum, over the table's Silver event tables, of their newest
``occurred_at``, minus the allowed lateness (1 hour by default); it never moves back. It states that every event
up to it has reached the table. An event after it can still change an older row -- a refund hours after the
order changes that order's payment status -- and the next run then rewrites that order's day.

Each :class:`TableRun` reports ``rows_read`` = the new Silver rows the run considered (``_batch_id`` above the
recorded one, over the table's sources), ``rows_written`` = the rows of the recomputed days, and in ``details``
the days, the rows those days held before (``rows_deleted``), the Silver snapshots read, the batch id and the
watermark committed.

Reference data (products) is read as it is at the run: a category change reaches the days recomputed from then on;
a backfill (``days=``) applies it to history.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from py4j.protocol import Py4JError  # type: ignore[import-untyped]  # py4j ships no types
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    NoSuchNamespaceError,
    NoSuchTableError,
    RESTError,
    ServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from pyiceberg.table import Table
from pyiceberg.table.snapshots import ancestors_of
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, IntegerType, LongType, StringType, StructField, StructType, TimestampType

from dp_contracts.compiler import to_spark
from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_core.config import LoadedConfig, PlatformSettings
from dp_core.errors import PlatformError
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.errors import BatchJobFailed, SourceUnavailable
from dp_spark_jobs.gold.progress import (
    DEFAULT_ALLOWED_LATENESS,
    JOB_NAME,
    GoldProgress,
    completeness_watermark,
    days_in_range,
    format_watermark,
    read_progress,
    snapshot_properties,
)
from dp_spark_jobs.gold.transforms import (
    AGG_FUNNEL_DAILY,
    AGG_REVENUE_DAILY,
    FCT_ORDERS,
    GOLD_TABLES,
    GoldTable,
    fct_orders,
    funnel_daily,
    in_days,
    order_facts,
    revenue_daily,
    utc_date,
)
from dp_spark_jobs.summary import TableRun
from dp_spark_jobs.tables import SILVER_BATCH_KEY, SILVER_METADATA_COLUMNS, WATERMARK_KEY, gold_table, silver_table

PAGE_VIEW, CART_UPDATED, ORDER_PLACED, PAYMENT_PROCESSED, PRODUCT = (
    "page_view",
    "cart_updated",
    "order_placed",
    "payment_processed",
    "product",
)
ORDER_SOURCES = (ORDER_PLACED, PAYMENT_PROCESSED)
#: the Silver event tables each Gold table is computed from (and whose event times bound its watermark)
SOURCES: dict[str, tuple[str, ...]] = {
    FCT_ORDERS.name: ORDER_SOURCES,
    AGG_REVENUE_DAILY.name: ORDER_SOURCES,
    AGG_FUNNEL_DAILY.name: (PAGE_VIEW, CART_UPDATED, *ORDER_SOURCES),
}

#: hook points, in order, for each Gold table a run rewrites: before its overwrite starts; after the overwrite (the
#: rows and the progress, one snapshot) is committed and before the table properties are copied from it
BEFORE_WRITE = "before-write"
AFTER_COMMIT = "after-commit"
Hook = Callable[[str, str], None]


@dataclass
class SilverSource:
    """One Silver table as this run reads it: pinned at one snapshot (or empty when it has none yet)."""

    contract: Contract
    table: str  # namespace.name
    snapshot_id: int | None
    frame: DataFrame
    max_batch: int | None = None
    latest_event: dt.datetime | None = None

    def new_rows(self, progress: GoldProgress) -> DataFrame:
        return self.frame.where(F.col("_batch_id") > F.lit(progress.folded(self.table)))


@dataclass
class _Plan:
    """What one table's run is to do."""

    days: set[dt.date]
    rows_read: int
    batch_ids: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class GoldJob:
    """The edge: opens Silver, plans and writes each Gold table. One instance per run."""

    spark: SparkSession
    settings: PlatformSettings
    catalog: Catalog
    contracts: list[Contract]
    allowed_lateness: dt.timedelta
    hook: Hook | None = None  # test seam: where a crash is simulated
    # what the run has read or computed already: Silver sources, order days, order facts (see their methods)
    _sources: dict[str, SilverSource] = field(default_factory=dict, init=False)
    _order_days: dict[tuple[int, int], set[dt.date]] = field(default_factory=dict, init=False)
    _facts: dict[frozenset[dt.date], DataFrame] = field(default_factory=dict, init=False)

    @property
    def catalog_name(self) -> str:
        return self.settings.iceberg.catalog.name

    # ------------------------------------------------------------------------------------------------ Silver

    def source(self, name: str) -> SilverSource:
        """The Silver table of contract ``name``, read at its current snapshot (once per run)."""
        if name not in self._sources:
            self._sources[name] = self._open(find_contract(self.contracts, name))
        return self._sources[name]

    def _open(self, contract: Contract) -> SilverSource:
        table = silver_table(self.settings, contract)
        full = f"{self.catalog_name}.{table}"
        try:
            snapshot = self.catalog.load_table(table).current_snapshot()
        except NoSuchTableError:
            snapshot = None
            frame = self.spark.createDataFrame([], silver_struct(contract))
        else:
            self.spark.sql(f"REFRESH TABLE {full}")
            if snapshot is None:
                frame = self.spark.table(full).where(F.lit(False))
            else:
                frame = self.spark.sql(f"SELECT * FROM {full} VERSION AS OF {snapshot.snapshot_id}")  # noqa: S608
        source = SilverSource(contract, table, snapshot.snapshot_id if snapshot else None, frame)
        columns = [F.max("_batch_id").alias("max_batch")]
        if contract.meta.kind == "event":
            columns.append(F.unix_micros(F.max(contract.meta.event_time)).alias("latest"))
        row = frame.agg(*columns).first()
        if row is not None:
            source.max_batch = row["max_batch"]
            if contract.meta.kind == "event" and row["latest"] is not None:
                source.latest_event = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=row["latest"])
        return source

    def touched_order_days(self, progress: GoldProgress) -> set[dt.date]:
        """Days of every order that has a new ``order_placed`` or ``payment_processed`` event (all its events' days)."""
        orders, payments = self.source(ORDER_PLACED), self.source(PAYMENT_PROCESSED)
        key = (progress.folded(orders.table), progress.folded(payments.table))
        if key not in self._order_days:
            touched = (
                orders.new_rows(progress).select("order_id").union(payments.new_rows(progress).select("order_id"))
            ).distinct()
            days = orders.frame.join(touched, on="order_id", how="left_semi").select(utc_date("occurred_at")).distinct()
            self._order_days[key] = {r[0] for r in days.collect()}
        return self._order_days[key]

    def facts(self, days: set[dt.date]) -> DataFrame:
        """:func:`order_facts` of the orders placed on ``days``, from all the events of those orders (cached)."""
        key = frozenset(days)
        if key not in self._facts:
            orders, payments = self.source(ORDER_PLACED).frame, self.source(PAYMENT_PROCESSED).frame
            ids = orders.where(in_days("occurred_at", days)).select("order_id").distinct()
            facts = order_facts(
                orders.join(ids, on="order_id", how="left_semi"), payments.join(ids, on="order_id", how="left_semi")
            ).where(F.col("order_date").isin(sorted(days)))
            self._facts[key] = facts.persist()
        return self._facts[key]

    def release(self) -> None:
        for frame in self._facts.values():
            frame.unpersist()
        self._facts.clear()

    # -------------------------------------------------------------------------------------------------- Gold

    def ensure_tables(self) -> None:
        self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {self.catalog_name}.{self.settings.iceberg.namespaces.gold}")
        for spec in GOLD_TABLES:
            self.spark.sql(spec.create_sql(self._full(spec), {"dp.job": JOB_NAME}))

    def _full(self, spec: GoldTable) -> str:
        return f"{self.catalog_name}.{gold_table(self.settings, spec.name)}"

    def plan(self, spec: GoldTable, progress: GoldProgress, forced: set[dt.date]) -> _Plan:
        """The days to recompute and the Silver batches they fold in."""
        sources = [self.source(name) for name in SOURCES[spec.name]]
        plan = _Plan(days=set(forced), rows_read=0)
        plan.batch_ids = {s.table: s.max_batch for s in sources if s.max_batch is not None}
        fresh = [s for s in sources if s.max_batch is not None and s.max_batch > progress.folded(s.table)]
        if not fresh:
            return plan
        for source in fresh:
            stats = source.new_rows(progress).groupBy(utc_date("occurred_at").alias("day")).count().collect()
            plan.rows_read += sum(int(r["count"]) for r in stats)
            if source.contract.name not in ORDER_SOURCES:
                plan.days |= {r["day"] for r in stats}
        if any(s.contract.name in ORDER_SOURCES for s in fresh):
            plan.days |= self.touched_order_days(progress)
        return plan

    def compute(self, spec: GoldTable, days: set[dt.date]) -> DataFrame:
        if spec is FCT_ORDERS:
            return fct_orders(self.facts(days))
        if spec is AGG_REVENUE_DAILY:
            return revenue_daily(self.facts(days), self.source(PRODUCT).frame)
        views = self.source(PAGE_VIEW).frame.where(in_days("occurred_at", days))
        carts = self.source(CART_UPDATED).frame.where(in_days("occurred_at", days))
        return funnel_daily(views, carts, self.facts(days))

    def run_table(self, spec: GoldTable, forced: set[dt.date]) -> TableRun:
        began = time.monotonic()
        identifier = gold_table(self.settings, spec.name)
        run = TableRun(layer="gold", table=identifier)
        gold = self.catalog.load_table(identifier)
        progress = read_progress(identifier, _snapshots(gold))
        plan = self.plan(spec, progress, forced)
        run.rows_read = plan.rows_read
        run.details["silver_snapshots"] = {s.table: s.snapshot_id for s in (self.source(n) for n in SOURCES[spec.name])}
        if not plan.days:
            run.details["note"] = "no new Silver rows" if not plan.rows_read else "new Silver rows touch no day"
            self._sync_properties(spec, gold, progress)
            run.seconds = time.monotonic() - began
            return run

        latest = {s.table: s.latest_event for s in (self.source(n) for n in SOURCES[spec.name])}
        watermark = completeness_watermark(latest, self.allowed_lateness, progress.watermark)
        props = snapshot_properties(plan.batch_ids, progress, watermark, plan.days)
        writer = self.compute(spec, plan.days).writeTo(self._full(spec))
        for key, value in props.items():
            writer = writer.option(f"snapshot-property.{key}", value)
        if self.hook is not None:
            self.hook(BEFORE_WRITE, identifier)
        writer.overwrite(F.col(spec.day_column).isin(sorted(plan.days)))
        if self.hook is not None:
            self.hook(AFTER_COMMIT, identifier)

        gold = self.catalog.load_table(identifier)
        snapshot = gold.current_snapshot()
        if snapshot is None or snapshot.summary is None:
            raise BatchJobFailed(f"{identifier}: the overwrite left no snapshot")
        summary = snapshot.summary.additional_properties
        run.snapshot_id = snapshot.snapshot_id
        run.rows_written = int(summary.get("added-records", 0))
        run.details.update(
            {
                "days": [d.isoformat() for d in sorted(plan.days)],
                "forced_days": len(forced),
                "rows_deleted": int(summary.get("deleted-records", 0)),
                SILVER_BATCH_KEY: int(props[SILVER_BATCH_KEY]),
                WATERMARK_KEY: props.get(WATERMARK_KEY),
            }
        )
        self._sync_properties(spec, gold, read_progress(identifier, _snapshots(gold)))
        run.seconds = time.monotonic() - began
        return run

    def _sync_properties(self, spec: GoldTable, gold: Table, progress: GoldProgress) -> None:
        """Table properties ``dp.watermark`` and ``dp.silver.batch-id`` = what the latest progress snapshot says."""
        wanted: dict[str, str] = {}
        if progress.watermark is not None:
            wanted[WATERMARK_KEY] = format_watermark(progress.watermark)
        if progress.batch_id is not None:
            wanted[SILVER_BATCH_KEY] = str(progress.batch_id)
        stale = {k: v for k, v in wanted.items() if gold.properties.get(k) != v}
        if stale:
            assignments = ", ".join(f"'{k}' = '{v}'" for k, v in sorted(stale.items()))
            self.spark.sql(f"ALTER TABLE {self._full(spec)} SET TBLPROPERTIES ({assignments})")


def _snapshots(table: Table) -> Iterator[tuple[int, Mapping[str, str]]]:
    """The current snapshot and its ancestors, newest first, with their summaries."""
    current = table.current_snapshot()
    if current is None:
        return
    for snapshot in ancestors_of(current, table.metadata):
        summary = snapshot.summary.additional_properties if snapshot.summary is not None else {}
        yield snapshot.snapshot_id, {str(k): str(v) for k, v in summary.items()}


def silver_struct(contract: Contract) -> StructType:
    """The Spark schema of a Silver table: the contract's columns, then the metadata columns."""
    base = StructType.fromJson(to_spark(contract.record))
    extra = [StructField(name, _METADATA_TYPES[kind], True) for name, kind in SILVER_METADATA_COLUMNS]
    return StructType([*base.fields, *extra])


_METADATA_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "int": IntegerType(),
    "bigint": LongType(),
    "timestamp": TimestampType(),
}


@contextmanager
def _step(what: str) -> Iterator[None]:
    """Engine and catalog failures of one step, as the batch layer's errors naming the step."""
    try:
        yield
    except PlatformError:
        raise
    except (ServiceUnavailableError, ServerError, TooManyRequestsError, OSError) as exc:
        raise SourceUnavailable(f"etl_gold: {what}: the catalog or the object store is unavailable: {exc}") from exc
    except (PySparkException, Py4JError, RESTError, NoSuchTableError, NoSuchNamespaceError) as exc:
        raise BatchJobFailed(f"etl_gold: {what}: {exc}") from exc


def run(
    spark: SparkSession,
    loaded: LoadedConfig,
    *,
    days: tuple[dt.date, dt.date] | None = None,
    allowed_lateness: dt.timedelta = DEFAULT_ALLOWED_LATENESS,
    contracts: list[Contract] | None = None,
    catalog: Catalog | None = None,
    hook: Hook | None = None,
) -> list[TableRun]:
    """Silver -> Gold: each Gold table recomputes the days its new Silver rows touch, and ``days`` if given.

    Args:
        spark: a session on the shared catalog (:func:`dp_spark.session.build_session`).
        loaded: the effective configuration (namespaces, catalog).
        days: ``(first, last)``, both included: recompute these days too, whatever Silver says (a backfill).
        allowed_lateness: how far the watermark trails the sources' newest event times.
        contracts: the contracts (default: ``<repo>/schemas/avro``).
        catalog: a pyiceberg client of the catalog (default: built from ``loaded``).
        hook: called with ``(point, table)`` at :data:`BEFORE_WRITE` and :data:`AFTER_COMMIT` of each table it
            rewrites (tests kill the job there).

    Returns:
        One :class:`TableRun` per Gold table; ``snapshot_id`` is ``None`` where nothing was committed.

    Raises:
        BatchJobFailed: a step failed; the tables committed before it keep their consistent state, the rest theirs.
        SourceUnavailable: the catalog or the object store cannot be reached.
    """
    settings = loaded.settings
    forced = days_in_range(*days) if days is not None else set()
    job = GoldJob(
        spark,
        settings,
        catalog or lake_catalog(settings),
        contracts if contracts is not None else load_contracts(contracts_dir(loaded.repo_root)),
        allowed_lateness,
        hook,
    )
    runs: list[TableRun] = []
    try:
        with _step("create the Gold tables"):
            job.ensure_tables()
        for spec in GOLD_TABLES:
            with _step(gold_table(settings, spec.name)):
                runs.append(job.run_table(spec, forced))
    finally:
        job.release()
    return runs


__all__ = ["AFTER_COMMIT", "BEFORE_WRITE", "SOURCES", "GoldJob", "SilverSource", "run", "silver_struct"]
