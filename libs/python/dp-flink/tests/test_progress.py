"""Pairing a job's committed snapshots with its recorded progress (checkpoint id, offsets, watermark), and the SQL
that records it."""

from __future__ import annotations

from typing import Any

import pytest

from dp_contracts.model import Contract, find_contract
from dp_flink.progress import CHECKPOINT_ID_KEY, Commit, checkpoints, commits_of, job_watermark, progress_for
from dp_flink.sql import progress_ddl, progress_insert, select_at_snapshot


def summary(checkpoint: int | None, job: str = "j1", added: int | None = 10) -> dict[str, str]:
    out = {"operation": "overwrite", "flink.job-id": job}
    if checkpoint is not None:
        out[CHECKPOINT_ID_KEY] = str(checkpoint)
    if added is not None:
        out["added-records"] = str(added)
    return out


def commit(table: str, snapshot: int, ms: int, checkpoint: int, job: str = "j1") -> Commit:
    return Commit(table, snapshot, ms, checkpoint, job, "overwrite", 1, 0)


def test_commits_keep_flink_snapshots_in_commit_order() -> None:
    got = commits_of(
        "enriched",
        [
            (3, 300, summary(2) | {"added-equality-deletes": "4", "added-position-deletes": "1"}),
            (1, 100, summary(None)),  # written by something else (a compaction, a backfill): no checkpoint id
            (2, 200, summary(1, added=None)),  # a commit of deletes only has no added-records
        ],
    )
    assert got == [
        Commit("enriched", 2, 200, 1, "j1", "overwrite", 0, 0),
        Commit("enriched", 3, 300, 2, "j1", "overwrite", 10, 5),
    ]


def test_progress_of_the_same_checkpoint_and_run() -> None:
    progress = [commit("progress", 10, 100, 1), commit("progress", 11, 205, 2), commit("progress", 12, 300, 1, "j2")]
    assert progress_for(commit("enriched", 1, 200, 2), progress) == progress[1]
    # a run restarted without its checkpoints counts from 1 again: the job id tells the runs apart
    assert progress_for(commit("enriched", 2, 301, 1, "j2"), progress) == progress[2]


def test_progress_unchanged_at_a_checkpoint_is_the_newest_before_it() -> None:
    progress = [commit("progress", 10, 100, 1), commit("progress", 11, 200, 2)]
    # checkpoint 3 wrote windows (the watermark passed them) but read nothing new: offsets as of checkpoint 2
    assert progress_for(commit("orders", 1, 300, 3), progress) == progress[1]
    assert progress_for(commit("orders", 1, 50, 1, "j0"), progress) is None


def test_checkpoints_newest_first_with_their_outputs() -> None:
    outputs = [commit("enriched", 1, 100, 1), commit("enriched", 2, 200, 2), commit("orders", 3, 201, 2)]
    progress = [commit("progress", 10, 101, 1), commit("progress", 11, 202, 2)]
    got = checkpoints(outputs, progress, last=5)
    assert [(c.checkpoint_id, [o.snapshot_id for o in c.outputs], c.progress) for c in got] == [
        (2, [2, 3], progress[1]),
        (1, [1], progress[0]),
    ]
    assert [c.checkpoint_id for c in checkpoints(outputs, progress, last=1)] == [2]


@pytest.fixture(scope="module")
def order(contracts: list[Contract]) -> Contract:
    return find_contract(contracts, "order_placed")


def test_progress_sql(order: Contract) -> None:
    ddl = progress_ddl("`lake`.`silver`.`p`")
    assert "PRIMARY KEY (`kafka_topic`, `kafka_partition`) NOT ENFORCED" in ddl
    assert "'write.upsert.enabled' = 'true'" in ddl
    insert = progress_insert("`lake`.`silver`.`p`", [order, order])
    assert insert.startswith(
        "INSERT INTO `lake`.`silver`.`p` SELECT `kafka_topic`, `kafka_partition`, MAX(`kafka_offset`)"
    )
    assert insert.count("CURRENT_WATERMARK(`event_time`) AS `wm` FROM `src_order_placed`") == 2
    assert insert.endswith("GROUP BY `kafka_topic`, `kafka_partition`")
    without = progress_insert("`p`", [order], watermark=False)
    assert "CURRENT_WATERMARK" not in without and "CAST(NULL AS TIMESTAMP_LTZ(3)) AS `wm`" in without
    assert select_at_snapshot("`t`", ("a", "b"), 42) == "SELECT `a`, `b` FROM `t` /*+ OPTIONS('snapshot-id'='42') */"
    assert select_at_snapshot("`t`", ("a", "b"), 7, ("b",)).startswith("SELECT `a`, CAST(`b` AS STRING) AS `b` FROM")


def test_job_watermark_is_the_least_event_topics_source_watermark() -> None:
    rows: list[dict[str, Any]] = [
        {"kafka_topic": "orders", "watermark": "2026-11-24T22:05:23Z"},
        {"kafka_topic": "orders", "watermark": None},  # read while the source had no watermark yet
        {"kafka_topic": "views", "watermark": "2026-11-24T22:05:33Z"},
        {"kafka_topic": "views", "watermark": "2026-11-24T22:04:00Z"},
        {"kafka_topic": "products", "watermark": "2026-11-24T21:59:00Z"},  # reference data: idle, left out
    ]
    per_topic, watermark = job_watermark(rows, {"orders", "views"})
    assert per_topic == {
        "orders": "2026-11-24T22:05:23Z",
        "views": "2026-11-24T22:05:33Z",
        "products": "2026-11-24T21:59:00Z",
    }
    assert watermark == "2026-11-24T22:05:23Z"
    assert job_watermark(rows, {"orders", "carts"})[1] is None  # a source without a watermark holds the job back
