"""How etl_bronze commits, on a local SQLite-backed Iceberg catalog (no Spark, no services): offsets found in the
table's history, records staged on a private branch and published by a compare-and-swap of ``main``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog

from dp_spark_jobs.bronze import job as bronze
from dp_spark_jobs.errors import BatchJobFailed
from dp_spark_jobs.tables import BRONZE_SCHEMA, JOB_KEY, OFFSETS_KEY

TABLE = "bronze.commerce__page_view"
TOPIC = "commerce.page_view.v1"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = SqlCatalog("test", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/warehouse")
    catalog.create_namespace("bronze")
    bronze._ensure_table(catalog, TABLE)
    return catalog


def records(offsets: range) -> pa.Table:
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "topic": TOPIC,
            "partition": 0,
            "offset": o,
            "kafka_timestamp": now,
            "key": b"k",
            "value": b"\x00\x00\x00\x00\x01body",
            "headers": None,
            "schema_id": 1,
            "ingested_at": now,
        }
        for o in offsets
    ]
    return pa.Table.from_pylist(rows, schema=BRONZE_SCHEMA.as_arrow())


def stage(catalog: Catalog, offsets: range, *, base: int) -> str:
    """What the Spark write does: a private branch at ``base`` with the records and the offsets reached."""
    branch = bronze._open_branch(catalog, TABLE, base)
    catalog.load_table(TABLE).append(
        records(offsets),
        snapshot_properties={OFFSETS_KEY: json.dumps({TOPIC: {"0": offsets.stop}}), JOB_KEY: bronze.JOB},
        branch=branch,
    )
    return branch


def committed(catalog: Catalog) -> dict[str, dict[int, int]]:
    table = catalog.load_table(TABLE)
    return bronze._committed_offsets(TABLE, table, table.current_snapshot())


def test_a_new_table_has_nothing_committed_and_gets_an_empty_first_snapshot(catalog: Catalog) -> None:
    assert catalog.load_table(TABLE).current_snapshot() is None
    assert committed(catalog) == {}
    base = bronze._base_snapshot(catalog, TABLE)
    assert base.summary is not None and base.summary.additional_properties[OFFSETS_KEY] == "{}"
    assert committed(catalog) == {}
    assert bronze._base_snapshot(catalog, TABLE).snapshot_id == base.snapshot_id  # only once


def test_publishing_moves_main_to_the_staged_snapshot_and_drops_the_branch(catalog: Catalog) -> None:
    base = bronze._base_snapshot(catalog, TABLE).snapshot_id
    branch = stage(catalog, range(0, 10), base=base)
    assert committed(catalog) == {}  # staged: invisible on main

    published = bronze._publish(catalog, TABLE, branch, base)

    table = catalog.load_table(TABLE)
    assert table.current_snapshot().snapshot_id == published.snapshot_id  # type: ignore[union-attr]
    assert bronze.BRANCH_PREFIX not in "".join(table.metadata.refs)
    assert committed(catalog) == {TOPIC: {0: 10}}
    assert table.scan().to_arrow().num_rows == 10


def test_a_commit_by_another_writer_after_the_offsets_were_read_fails_the_publish(catalog: Catalog) -> None:
    base = bronze._base_snapshot(catalog, TABLE).snapshot_id
    mine = stage(catalog, range(0, 10), base=base)
    # a second run read the same offsets, landed the same range and published first (its own branch name)
    theirs = f"{bronze.BRANCH_PREFIX}other"
    table = catalog.load_table(TABLE)
    table.manage_snapshots().create_branch(base, theirs).commit()
    catalog.load_table(TABLE).append(
        records(range(0, 10)), snapshot_properties={OFFSETS_KEY: json.dumps({TOPIC: {"0": 10}})}, branch=theirs
    )
    bronze._publish(catalog, TABLE, theirs, base)

    with pytest.raises(BatchJobFailed, match=f"another writer committed since snapshot {base} was read"):
        bronze._publish(catalog, TABLE, mine, base)

    assert catalog.load_table(TABLE).scan().to_arrow().num_rows == 10  # the range landed once
    assert committed(catalog) == {TOPIC: {0: 10}}


def test_a_branch_left_by_a_killed_run_is_dropped_by_the_next_one(catalog: Catalog) -> None:
    base = bronze._base_snapshot(catalog, TABLE).snapshot_id
    abandoned = stage(catalog, range(0, 10), base=base)  # ... and the run died here

    retry = stage(catalog, range(0, 10), base=base)

    assert abandoned not in catalog.load_table(TABLE).metadata.refs
    with pytest.raises(BatchJobFailed, match="dropped by a concurrent run"):
        bronze._publish(catalog, TABLE, abandoned, base)
    bronze._publish(catalog, TABLE, retry, base)
    assert catalog.load_table(TABLE).scan().to_arrow().num_rows == 10
    assert list(catalog.load_table(TABLE).metadata.refs) == ["main"]


def test_offsets_survive_later_snapshots_that_do_not_carry_them(catalog: Catalog) -> None:
    base = bronze._base_snapshot(catalog, TABLE).snapshot_id
    bronze._publish(catalog, TABLE, stage(catalog, range(0, 5), base=base), base)
    with catalog.load_table(TABLE).transaction() as tx, tx.update_snapshot().fast_append():
        pass  # e.g. maintenance
    assert committed(catalog) == {TOPIC: {0: 5}}


def test_records_without_offsets_in_the_history_are_never_read_again_from_the_start(catalog: Catalog) -> None:
    catalog.load_table(TABLE).append(records(range(0, 3)))  # written by some other tool
    with pytest.raises(BatchJobFailed, match="holds records but no snapshot in its history records the Kafka offsets"):
        committed(catalog)
