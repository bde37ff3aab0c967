"""Table maintenance: Iceberg's Spark procedures on the lakehouse's tables, safe while streaming jobs write them.

Per table, in order: ``rewrite_data_files`` (bin-pack small files to ``orchestration.maintenance.target_file_size_mb``,
applying and then dropping the delete files the enricher's upserts leave), ``rewrite_manifests``,
``expire_snapshots`` and ``remove_orphan_files``. Files and bytes are counted before and after.

Two rules keep it from losing or inventing a record:

* **Progress is never expired.** The platform's jobs find where they are in snapshot summaries (Bronze's Kafka
  offsets, the Bronze snapshot Silver has read, Gold's Silver batch, Flink's committed checkpoint): expiring the
  snapshot that carries them would make a job start over or stop. The expiry cut-off is therefore never later than
  the newest snapshot carrying a progress key, nor than a snapshot another table's progress names (the Bronze
  snapshot Silver reads from). See :func:`expiry_cutoff`.
* **A lost race is retried, then skipped.** A commit that conflicts with a concurrent writer (a Flink checkpoint, a
  batch run) fails validation and changes nothing; it is retried ``commit_retries`` times, then that step is
  skipped until the next run with the reason recorded -- never a failed or half-changed table.

The pure core (:func:`expiry_cutoff`, :func:`procedure_sql`, :func:`is_commit_conflict`) is separate from the edge
that runs the statements (:func:`maintain_table`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from dp_core.config.models import MaintenanceSettings
from dp_lakehouse.tables import BRONZE_SNAPSHOT_KEY, OFFSETS_KEY, SILVER_BATCH_KEY, WATERMARK_KEY

#: snapshot-summary keys by which a job finds its place: the newest snapshot carrying one is never expired
PROGRESS_KEYS = (OFFSETS_KEY, BRONZE_SNAPSHOT_KEY, SILVER_BATCH_KEY, WATERMARK_KEY, "flink.max-committed-checkpoint-id")
#: what Iceberg says when a commit lost the race with another writer (the table is unchanged)
CONFLICT_MARKERS = (
    "CommitFailedException",
    "ValidationException",
    "Cannot commit",
    "conflicting files",
    "Found conflicting",
    "Requirement failed",
    "found new delete",
)
STEPS = ("rewrite_data_files", "rewrite_manifests", "expire_snapshots", "remove_orphan_files")


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    committed_at: dt.datetime
    summary: Mapping[str, str]


@dataclass
class TableMaintenance:
    """What maintenance did to one table."""

    table: str
    files_before: int = 0
    bytes_before: int = 0
    delete_files_before: int = 0
    files_after: int = 0
    bytes_after: int = 0
    delete_files_after: int = 0
    snapshots_before: int = 0
    snapshots_after: int = 0
    #: per step: "ok" with its figures, or "skipped: <why>"
    steps: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def skipped(self) -> list[str]:
        return [step for step, outcome in self.steps.items() if outcome.startswith("skipped")]


def expiry_cutoff(
    now: dt.datetime,
    settings: MaintenanceSettings,
    snapshots: Iterable[SnapshotInfo],
    pinned_ids: Iterable[int] = (),
) -> dt.datetime:
    """The ``older_than`` of ``expire_snapshots``: ``now`` minus the retention, but never later than the newest
    snapshot carrying each progress key, nor than a pinned snapshot (one another table's progress names)."""
    cutoff = now - dt.timedelta(hours=settings.snapshot_retention_hours)
    ordered = sorted(snapshots, key=lambda s: s.committed_at, reverse=True)
    pinned = set(pinned_ids)
    for key in PROGRESS_KEYS:
        newest = next((s for s in ordered if key in s.summary), None)
        if newest is not None:
            cutoff = min(cutoff, newest.committed_at)
    for snapshot in ordered:
        if snapshot.snapshot_id in pinned:
            cutoff = min(cutoff, snapshot.committed_at)
    return cutoff


def pins(summaries: Iterable[Mapping[str, str]]) -> set[int]:
    """The snapshot ids other tables' progress names (Silver's ``dp.bronze.snapshot-id``)."""
    found = set()
    for summary in summaries:
        value = summary.get(BRONZE_SNAPSHOT_KEY)
        if value and value.lstrip("-").isdigit():
            found.add(int(value))
    return found


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def procedure_sql(
    step: str,
    catalog: str,
    identifier: str,
    settings: MaintenanceSettings,
    *,
    expire_before: dt.datetime | None = None,
    orphans_before: dt.datetime | None = None,
    location: str = "",
) -> str:
    """The ``CALL`` of one maintenance step on ``identifier`` (``namespace.table``) in Spark's catalog ``catalog``;
    ``location`` is the table's (``remove_orphan_files`` lists under it)."""
    table = f"table => '{catalog}.{identifier}'"
    if step == "rewrite_data_files":
        options = {
            "target-file-size-bytes": str(settings.target_file_size_mb * 2**20),
            "min-input-files": str(settings.min_input_files),
            # a data file with any delete file (the enricher's upserts) is rewritten with its deletes applied ...
            "delete-file-threshold": "1",
            # ... and the delete files nothing references any more are dropped
            "remove-dangling-deletes": "true",
            # a long compaction commits in groups, so a concurrent writer costs one group, not the whole run
            "partial-progress.enabled": "true",
            "partial-progress.max-commits": "10",
        }
        pairs = ", ".join(f"'{k}', '{v}'" for k, v in options.items())
        return f"CALL {catalog}.system.rewrite_data_files({table}, options => map({pairs}))"
    if step == "rewrite_manifests":
        return f"CALL {catalog}.system.rewrite_manifests({table})"
    if step == "expire_snapshots":
        assert expire_before is not None
        return (
            f"CALL {catalog}.system.expire_snapshots({table}, older_than => TIMESTAMP '{_ts(expire_before)}', "
            f"retain_last => {settings.retain_last_snapshots})"
        )
    if step == "remove_orphan_files":
        assert orphans_before is not None
        # The table's own FileIO lists its S3 prefix (no Hadoop S3 filesystem needed). The location ends in "/":
        # an S3 prefix is a string prefix, so s3://w/bronze/x would also list the files of s3://w/bronze/x__dlq and
        # delete that table's files as this one's orphans.
        root = location.rstrip("/") + "/"
        return (
            f"CALL {catalog}.system.remove_orphan_files({table}, older_than => TIMESTAMP '{_ts(orphans_before)}', "
            f"location => '{root}', prefix_listing => true)"
        )
    raise ValueError(f"unknown maintenance step {step!r}")


def is_commit_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` says a commit lost the race with another writer (so the table is unchanged)."""
    text = f"{type(exc).__name__}: {exc}"
    return any(marker in text for marker in CONFLICT_MARKERS)


def first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"


Run = Callable[[str], list[Any]]


def with_retries(run: Run, sql: str, retries: int, sleep: Callable[[float], None] = time.sleep) -> list[Any]:
    """``run(sql)``, again after a commit conflict, at most ``retries`` more times (the last conflict is raised)."""
    for attempt in range(retries + 1):
        try:
            return run(sql)
        except Exception as exc:
            if not is_commit_conflict(exc) or attempt == retries:
                raise
            sleep(min(2.0**attempt, 10.0))
    raise AssertionError("unreachable")


def describe_result(step: str, rows: list[Any]) -> str:
    """A step's result row (Spark ``Row``s as dicts) in a few words."""
    if step == "remove_orphan_files":
        return f"ok: {len(rows)} orphan file(s) removed"
    if not rows:
        return "ok"
    row = rows[0]
    values = row.asDict() if hasattr(row, "asDict") else dict(row)
    shown = ", ".join(f"{k}={v}" for k, v in values.items() if v not in (None, 0))
    return f"ok: {shown}" if shown else "ok: nothing to do"


# ---------------------------------------------------------------------------------------------------------- edges


def _file_stats(spark: Any, name: str) -> tuple[int, int, int]:
    """(data files, their bytes, delete files) of the table's current snapshot (its ``files`` metadata table)."""
    # name: a table the catalog listed, never user text
    sql = f"SELECT content, count(*) AS n, sum(file_size_in_bytes) AS b FROM {name}.files GROUP BY content"  # noqa: S608
    rows = spark.sql(sql).collect()
    data = next((r for r in rows if r["content"] == 0), None)
    deletes = sum(r["n"] for r in rows if r["content"] != 0)
    return (data["n"] if data else 0), int(data["b"] or 0) if data else 0, deletes


def _snapshot_count(spark: Any, name: str) -> int:
    return int(spark.sql(f"SELECT count(*) AS n FROM {name}.snapshots").collect()[0]["n"])  # noqa: S608 (as above)


def snapshot_infos(table: Any) -> list[SnapshotInfo]:
    """A pyiceberg table's snapshots as :class:`SnapshotInfo`."""
    return [
        SnapshotInfo(
            s.snapshot_id,
            dt.datetime.fromtimestamp(s.timestamp_ms / 1000, dt.UTC),
            dict(s.summary.additional_properties) if s.summary else {},
        )
        for s in table.snapshots()
    ]


def pinned_snapshots(catalog: Any, namespace: str) -> set[int]:
    """The Bronze snapshots the Silver tables of ``namespace`` have read up to (each table's newest
    ``dp.bronze.snapshot-id``): Silver's next run reads Bronze from there, so they must not be expired."""
    pinned: set[int] = set()
    for parts in catalog.list_tables(namespace):
        infos = sorted(snapshot_infos(catalog.load_table(parts)), key=lambda s: s.committed_at, reverse=True)
        pinned |= pins([next((i.summary for i in infos if BRONZE_SNAPSHOT_KEY in i.summary), {})])
    return pinned


def maintain_table(
    spark: Any,
    catalog: Any,
    spark_catalog: str,
    identifier: str,
    settings: MaintenanceSettings,
    pinned: set[int],
    now: dt.datetime,
    echo: Callable[[str], None] = lambda _: None,
) -> TableMaintenance:
    """Run the four steps on one table; a commit conflict is retried then skipped, any other error recorded as
    ``failed`` (the table is unchanged by a step that failed)."""
    began = time.monotonic()
    name = f"{spark_catalog}.{identifier}"
    result = TableMaintenance(identifier)
    spark.sql(f"REFRESH TABLE {name}")
    result.files_before, result.bytes_before, result.delete_files_before = _file_stats(spark, name)
    result.snapshots_before = _snapshot_count(spark, name)
    location = catalog.load_table(identifier).metadata.location
    for step in STEPS:
        try:
            if step == "expire_snapshots":
                cutoff = expiry_cutoff(now, settings, snapshot_infos(catalog.load_table(identifier)), pinned)
                sql = procedure_sql(step, spark_catalog, identifier, settings, expire_before=cutoff)
            else:
                orphans = now - dt.timedelta(hours=settings.orphan_age_hours)
                sql = procedure_sql(
                    step, spark_catalog, identifier, settings, orphans_before=orphans, location=location
                )
            rows = with_retries(lambda statement: spark.sql(statement).collect(), sql, settings.commit_retries)
            result.steps[step] = describe_result(step, rows)
        except Exception as exc:  # noqa: BLE001 (any step's error is this table's outcome; the others go on)
            verb = "skipped (a concurrent commit won; the next run retries)" if is_commit_conflict(exc) else "failed"
            result.steps[step] = f"{verb}: {first_line(exc)}"
        echo(f"  {identifier}: {step} {result.steps[step]}")
        spark.sql(f"REFRESH TABLE {name}")
    result.files_after, result.bytes_after, result.delete_files_after = _file_stats(spark, name)
    result.snapshots_after = _snapshot_count(spark, name)
    result.seconds = time.monotonic() - began
    return result
