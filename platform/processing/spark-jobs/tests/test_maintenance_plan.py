"""The pure core of table maintenance: the expiry cut-off that never drops a job's progress, the procedures' SQL
(orphans listed under the table's own folder only), and which errors are lost commit races (retried, then skipped)."""

from __future__ import annotations

import datetime as dt

import pytest

from dp_core.config.models import MaintenanceSettings
from dp_spark_jobs.maintenance import (
    SnapshotInfo,
    expiry_cutoff,
    is_commit_conflict,
    pins,
    procedure_sql,
    with_retries,
)

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
SETTINGS = MaintenanceSettings(snapshot_retention_hours=24, retain_last_snapshots=2)


def snap(snapshot_id: int, hours_ago: float, **summary: str) -> SnapshotInfo:
    return SnapshotInfo(snapshot_id, NOW - dt.timedelta(hours=hours_ago), summary)


def test_the_cutoff_is_the_retention_when_no_progress_is_at_stake() -> None:
    assert expiry_cutoff(NOW, SETTINGS, [snap(1, 100), snap(2, 50), snap(3, 1)]) == NOW - dt.timedelta(hours=24)


def test_the_newest_snapshot_carrying_each_progress_key_is_never_expired() -> None:
    snapshots = [
        snap(1, 100, **{"dp.kafka.offsets": "{}"}),
        snap(2, 60, **{"dp.kafka.offsets": "{}"}),  # Bronze's newest offsets: 60 h old, older than the retention
        snap(3, 30),  # a compaction since
        snap(4, 2),
    ]
    assert expiry_cutoff(NOW, SETTINGS, snapshots) == NOW - dt.timedelta(hours=60)
    flink = [snap(1, 90, **{"flink.max-committed-checkpoint-id": "7"}), snap(2, 40)]
    assert expiry_cutoff(NOW, SETTINGS, flink) == NOW - dt.timedelta(hours=90)


def test_a_snapshot_another_tables_progress_names_is_never_expired() -> None:
    bronze = [snap(11, 80), snap(12, 70), snap(13, 1)]
    pinned = pins([{"dp.bronze.snapshot-id": "12"}, {"other": "x"}, {"dp.bronze.snapshot-id": "not a number"}])
    assert pinned == {12}
    assert expiry_cutoff(NOW, SETTINGS, bronze, pinned) == NOW - dt.timedelta(hours=70)


def test_orphans_are_listed_under_the_tables_own_folder_only() -> None:
    when = NOW - dt.timedelta(hours=72)
    sql = procedure_sql(
        "remove_orphan_files", "lake", "bronze.shop__orders", SETTINGS, orphans_before=when,
        location="s3://warehouse/bronze/shop__orders",
    )  # fmt: skip
    # "…/shop__orders" without the slash is also the prefix of "…/shop__orders__dlq": that table's files would go
    assert "location => 's3://warehouse/bronze/shop__orders/'" in sql
    assert "table => 'lake.bronze.shop__orders'" in sql
    assert "TIMESTAMP '2026-12-04 12:00:00.000000'" in sql
    assert "prefix_listing => true" in sql


def test_compaction_applies_deletes_and_commits_in_groups() -> None:
    sql = procedure_sql("rewrite_data_files", "lake", "silver.shop__orders_enriched_rt", MaintenanceSettings())
    assert sql.startswith("CALL lake.system.rewrite_data_files(table => 'lake.silver.shop__orders_enriched_rt'")
    for option in (
        "'target-file-size-bytes', '134217728'",
        "'min-input-files', '5'",
        "'delete-file-threshold', '1'",
        "'remove-dangling-deletes', 'true'",
        "'partial-progress.enabled', 'true'",
    ):
        assert option in sql
    expire = procedure_sql("expire_snapshots", "lake", "gold.fct_orders", SETTINGS, expire_before=NOW)
    assert "older_than => TIMESTAMP '2026-12-07 12:00:00.000000', retain_last => 2" in expire
    with pytest.raises(ValueError, match="unknown maintenance step"):
        procedure_sql("vacuum", "lake", "gold.fct_orders", SETTINGS)


class CommitFailedException(Exception):  # named as Iceberg's, which py4j surfaces by name
    pass


def test_a_lost_commit_race_is_retried_then_raised_and_other_errors_at_once() -> None:
    assert is_commit_conflict(CommitFailedException("Cannot commit: stale metadata"))
    assert is_commit_conflict(RuntimeError("org.apache.iceberg.exceptions.ValidationException: found new delete"))
    assert not is_commit_conflict(RuntimeError("Table not found"))
    calls: list[str] = []

    def conflicting(sql: str) -> list[object]:
        calls.append(sql)
        raise CommitFailedException("Cannot commit")

    with pytest.raises(CommitFailedException):
        with_retries(conflicting, "CALL x", retries=3, sleep=lambda _: None)
    assert len(calls) == 4
    outcomes: list[object] = [CommitFailedException("Cannot commit"), ["done"]]

    def second_time_lucky(sql: str) -> list[object]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]

    assert with_retries(second_time_lucky, "CALL x", retries=3, sleep=lambda _: None) == ["done"]
    broken: list[str] = []

    def bug(sql: str) -> list[object]:
        broken.append(sql)
        raise RuntimeError("Table not found")

    with pytest.raises(RuntimeError):
        with_retries(bug, "CALL x", retries=3, sleep=lambda _: None)
    assert len(broken) == 1
