"""etl_bronze on the real Kafka, registry, REST catalog and object store: every record lands once with its
coordinates and bytes, reruns commit nothing, runs resume where the last one stopped (new partitions too), a second
writer is refused, and a run killed with SIGKILL before it publishes leaves nothing a rerun would duplicate."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions  # type: ignore[attr-defined]
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_core.config import LoadedConfig, PlatformSettings
from dp_ingest.dlq import Source
from dp_ingest.errors import FieldError
from dp_ingest.producer import EventProducer
from dp_ingest.topics import provision, topic_specs
from dp_spark_jobs.bronze import job as bronze
from dp_spark_jobs.bronze.source import read_watermarks, wire_schema_id
from dp_spark_jobs.errors import BatchJobFailed
from dp_spark_jobs.summary import TableRun
from dp_spark_jobs.tables import BRONZE_SCHEMA, JOB_KEY, OFFSETS_KEY, bronze_dlq_table, bronze_table

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
SHOP = load_contracts(contracts_dir(REPO))
#: (catalog, table identifier) -> a listing of every object under the table's data folder (conftest.py)
DataFiles = Callable[[Catalog, str], Callable[[], set[str]]]
Record = tuple[str, int, int, bytes | None, bytes | None, tuple[tuple[str, bytes | None], ...], int]


# ------------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def namespaces(run_id: str) -> dict[str, str]:
    return {"bronze": f"it_{run_id}_bronze"}


# -------------------------------------------------------------------------------------------------------- helpers


def shop_contracts(domain: str, *names: str) -> list[Contract]:
    """Shop contracts moved to a domain of their own, so their topics, subjects and tables are unique to a test."""
    out = []
    for name in names:
        c = find_contract(SHOP, name)
        out.append(Contract(name=c.name, domain=domain, path=c.path, schema=c.schema))
    return out


def page_view(i: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "session_id": f"s-{i % 17}",
        "customer_id": None if i % 3 else f"c-{i}",
        "page_type": "PRODUCT",
        "url": f"/p/{i}",
        "product_id": f"p-{i % 11}",
        "referrer": None,
        "device": "MOBILE",
        "ip_address": None,
        "occurred_at": "2026-11-25T10:15:00.000001Z",
    }


def send_page_views(producer: EventProducer, count: int, first: int = 0) -> None:
    for i in range(first, first + count):
        assert producer.send("page_view", page_view(i), Source("test", {"seq": i})) == ()
    assert producer.flush(60) == 0
    assert producer.stats.failed == 0, producer.stats.failures


def produce_raw(settings: PlatformSettings, topic: str, records: list[dict[str, Any]]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers, "linger.ms": 50})
    for record in records:
        producer.produce(topic, **record)
        producer.poll(0)
    assert producer.flush(60) == 0


def drain(settings: PlatformSettings, topic: str) -> list[Record]:
    """Every record of ``topic`` up to its current end, as Bronze should hold it."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": f"it-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    try:
        marks = read_watermarks(settings, [topic])[topic]
        assert marks is not None
        consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in marks.items()])
        wanted = sum(high - low for low, high in marks.values())
        out: list[Record] = []
        deadline = time.monotonic() + 120
        while len(out) < wanted and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            raw: Any = msg.headers() or []
            headers = tuple((str(k), v) for k, v in raw)
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            out.append((topic, partition, offset, msg.key(), msg.value(), headers, msg.timestamp()[1]))
        assert len(out) == wanted, f"{topic}: drained {len(out)} of {wanted}"
        return out
    finally:
        consumer.close()


def bronze_rows(catalog: Catalog, identifier: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = catalog.load_table(identifier).scan().to_arrow().to_pylist()
    return rows


def as_records(rows: list[dict[str, Any]]) -> list[Record]:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return [
        (
            r["topic"],
            r["partition"],
            r["offset"],
            r["key"],
            r["value"],
            tuple((h["key"], h["value"]) for h in (r["headers"] or [])),
            (r["kafka_timestamp"] - epoch) // dt.timedelta(milliseconds=1),
        )
        for r in rows
    ]


def watermark_offsets(settings: PlatformSettings, topic: str) -> dict[str, dict[str, int]]:
    marks = read_watermarks(settings, [topic])[topic]
    assert marks is not None
    return {topic: {str(p): high for p, (_, high) in sorted(marks.items())}}


def summary(table: Table) -> dict[str, str]:
    snapshot = table.current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    return dict(snapshot.summary.additional_properties)


def private_branches(table: Table) -> list[str]:
    return [name for name in table.metadata.refs if name.startswith(bronze.BRANCH_PREFIX)]


def assert_lands_exactly(settings: PlatformSettings, catalog: Catalog, identifier: str, topic: str) -> list[Record]:
    """Bronze holds exactly the topic's records (same coordinates, key, value, headers, timestamp), each once, and
    its snapshot records the topic's high watermarks as the next offsets."""
    rows = as_records(bronze_rows(catalog, identifier))
    expected = drain(settings, topic)
    assert len(rows) == len({r[:3] for r in rows}), "duplicate (topic, partition, offset)"
    assert collections.Counter(rows) == collections.Counter(expected)
    table = catalog.load_table(identifier)
    assert json.loads(summary(table)[OFFSETS_KEY]) == watermark_offsets(settings, topic)
    assert private_branches(table) == []
    return rows


def by_table(runs: list[TableRun]) -> dict[str, TableRun]:
    return {r.table: r for r in runs}


# ---------------------------------------------------------------------------------------------------------- tests


def test_schema_id_column_reads_the_wire_header_as_the_python_function_does(spark: SparkSession) -> None:
    values = [
        None,
        b"",
        b"\x00",
        b"\x00\x00\x00\x07",
        b"\x00\x00\x00\x00\x07",
        b"\x00\x00\x00\x01\x00avro",
        b"\x00\x7f\xff\xff\xff",
        b"\x00\x80\x00\x00\x00",
        b"\x00\xff\xff\xff\xffbody",
        b"\x01\x00\x00\x00\x07body",
        b'{"format":"dp.dead-letter.v1"}',
    ]
    frame = spark.createDataFrame(
        [(i, bytearray(v) if v is not None else None) for i, v in enumerate(values)], "i int, value binary"
    )
    got = {
        r.i: r.schema_id
        for r in frame.select("i", bronze.schema_id_column(F.col("value")).alias("schema_id")).collect()
    }
    assert got == {i: wire_schema_id(v) for i, v in enumerate(values)}
    assert got[4] == 7 and got[7] == -(2**31) and got[8] == -1


def test_lands_every_record_once_commits_nothing_on_rerun_and_resumes_with_new_partitions(
    spark: SparkSession, config: LoadedConfig, catalog: Catalog, run_id: str
) -> None:
    settings = config.settings
    page_views, carts, orders = shop_contracts(f"it{run_id}bz", "page_view", "cart_updated", "order_placed")
    provision(settings, topic_specs([page_views, carts], settings))  # order_placed's topics never exist
    producer = EventProducer(settings, [page_views])
    registered = producer.codec("page_view").schema_id
    send_page_views(producer, 300)
    for i in range(4):
        producer.reject("page_view", [FieldError("url", "required", "url is missing")], Source("test", {"seq": i}))
    assert producer.flush(60) == 0 and producer.stats.dead_letters_delivered == 4
    produce_raw(
        settings,
        page_views.topic,
        [
            {"key": b"tombstone", "value": None, "partition": 0},
            {"key": None, "value": b"\x00\x00", "partition": 1},
            {"key": b"h", "value": b"plain", "partition": 2, "headers": [("trace", b"abc"), ("empty", None)]},
        ],
    )
    pv, pv_dlq = bronze_table(settings, page_views), bronze_dlq_table(settings, page_views)
    cu, cu_dlq = bronze_table(settings, carts), bronze_dlq_table(settings, carts)
    op, op_dlq = bronze_table(settings, orders), bronze_dlq_table(settings, orders)

    runs = bronze.run(spark, config, [page_views, carts, orders], catalog=catalog)

    assert [r.table for r in runs] == [pv, pv_dlq, cu, cu_dlq, op, op_dlq]
    first = by_table(runs)
    assert (first[pv].rows_read, first[pv].rows_written) == (303, 303)
    assert (first[pv_dlq].rows_read, first[pv_dlq].rows_written) == (4, 4)
    for name in (cu, cu_dlq, op, op_dlq):
        assert (first[name].snapshot_id, first[name].rows_written) == (None, 0), name
    assert first[op].details["notes"] == [f"topic {orders.topic} does not exist: skipped"]
    assert catalog.load_table(cu).current_snapshot() is None  # created, nothing committed

    rows = assert_lands_exactly(settings, catalog, pv, page_views.topic)
    assert_lands_exactly(settings, catalog, pv_dlq, page_views.dlq_topic)
    landed = bronze_rows(catalog, pv) + bronze_rows(catalog, pv_dlq)
    ids = collections.Counter(r["schema_id"] for r in landed)
    assert ids == {registered: 300, None: 3 + 4}  # tombstone, short value, plain value; dead letters are JSON
    assert {r["offset"] for r in landed if r["value"] == b"plain" and r["headers"]} == {
        r[2] for r in rows if r[5] == (("trace", b"abc"), ("empty", None))
    }
    assert len({r["ingested_at"] for r in landed}) == 1
    table = catalog.load_table(pv)
    props = summary(table)
    assert props[JOB_KEY] == "etl_bronze" and props["added-records"] == "303"
    assert json.loads(props[bronze.START_OFFSETS_KEY]) == {page_views.topic: {"0": 0, "1": 0, "2": 0}}
    assert first[pv].snapshot_id == table.current_snapshot().snapshot_id  # type: ignore[union-attr]
    assert first[pv].details["offsets"] == watermark_offsets(settings, page_views.topic)
    assert [f.name for f in table.schema().fields] == [f.name for f in BRONZE_SCHEMA.fields]
    [day] = table.spec().fields
    assert (day.name, day.transform) == ("ingested_day", DayTransform())

    # nothing new: nothing committed, nothing changed
    snapshots = {name: [s.snapshot_id for s in catalog.load_table(name).snapshots()] for name in (pv, pv_dlq, cu)}
    again = bronze.run(spark, config, [page_views, carts, orders], catalog=catalog)
    assert all(r.snapshot_id is None and r.rows_written == 0 for r in again)
    assert {name: [s.snapshot_id for s in catalog.load_table(name).snapshots()] for name in snapshots} == snapshots
    assert collections.Counter(as_records(bronze_rows(catalog, pv))) == collections.Counter(rows)

    # more records, and a partition the topic did not have
    before = watermark_offsets(settings, page_views.topic)
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    admin.create_partitions([NewPartitions(page_views.topic, 4)])[page_views.topic].result(30)
    deadline = time.monotonic() + 30
    while len(watermark_offsets(settings, page_views.topic)[page_views.topic]) < 4:
        assert time.monotonic() < deadline, "the new partition never showed up"
        time.sleep(0.5)
    send_page_views(producer, 120, first=300)
    produce_raw(settings, page_views.topic, [{"key": b"p3", "value": b"\x00\x00\x00\x00\x09x", "partition": 3}] * 5)

    [more, more_dlq] = bronze.run(spark, config, [page_views], catalog=catalog)

    assert (more.rows_written, more_dlq.snapshot_id) == (125, None)
    assert more.details["from"] == {page_views.topic: {**before[page_views.topic], "3": 0}}
    assert any("new partitions [3]" in note for note in more.details["notes"])
    rows = assert_lands_exactly(settings, catalog, pv, page_views.topic)
    assert len(rows) == 303 + 125
    name = f"{settings.iceberg.catalog.name}.{pv}"
    assert spark.table(name).count() == 428  # the session sees what pyiceberg published
    assert json.loads(summary(catalog.load_table(pv))[bronze.START_OFFSETS_KEY]) == more.details["from"]


@pytest.mark.parametrize("other", ["a second run", "another commit"])
def test_a_writer_that_lost_the_race_publishes_nothing(
    spark: SparkSession, config: LoadedConfig, catalog: Catalog, run_id: str, other: str
) -> None:
    settings = config.settings
    [contract] = shop_contracts(f"it{run_id}cc{other.split()[1][0]}", "page_view")
    provision(settings, topic_specs([contract], settings))
    send_page_views(EventProducer(settings, [contract]), 50)
    identifier = bronze_table(settings, contract)
    inner: list[TableRun] = []

    def interleave(point: str, table: str) -> None:
        if point != bronze.BEFORE_PUBLISH or table != identifier or inner:
            return
        if other == "a second run":
            inner.extend(bronze.run(spark, config, [contract], catalog=catalog))
        else:  # e.g. a maintenance job's commit
            with catalog.load_table(identifier).transaction() as tx, tx.update_snapshot().fast_append():
                pass
            inner.append(TableRun(layer="x", table=identifier))

    with pytest.raises(BatchJobFailed, match=r"concurrent run|another writer committed"):
        bronze.run(spark, config, [contract], catalog=catalog, hook=interleave)

    if other == "a second run":
        assert inner[0].rows_written == 50
    else:
        assert len(bronze_rows(catalog, identifier)) == 0
        [rerun, _] = bronze.run(spark, config, [contract], catalog=catalog)
        assert rerun.rows_written == 50
    assert len(assert_lands_exactly(settings, catalog, identifier, contract.topic)) == 50


CRASHING_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
    from dp_core.config import load_settings
    from dp_spark.session import build_session
    from dp_spark_jobs.bronze import job as bronze

    repo, namespace, domain, stop_at = sys.argv[1:5]
    loaded = load_settings(Path(repo) / "config", {"DP_ICEBERG_NAMESPACES__BRONZE": namespace})
    base = find_contract(load_contracts(contracts_dir(Path(repo))), "page_view")
    contract = Contract(name=base.name, domain=domain, path=base.path, schema=base.schema)
    spark = build_session(loaded, "it-bronze-killed")

    def hook(point, table):
        print(point, table, flush=True)
        if point in (stop_at, bronze.BEFORE_PUBLISH):
            time.sleep(3600)  # SIGKILLed here

    bronze.run(spark, loaded, [contract], hook=hook)
    print("published", flush=True)
    """
)


@pytest.mark.parametrize("kill_at", [bronze.BEFORE_PUBLISH, "writing"])
def test_a_run_killed_before_it_publishes_is_repaired_by_the_next_run(
    spark: SparkSession,
    config: LoadedConfig,
    catalog: Catalog,
    namespaces: dict[str, str],
    data_files: DataFiles,
    run_id: str,
    tmp_path: Path,
    kill_at: str,
) -> None:
    settings = config.settings
    domain = f"it{run_id}k{'p' if kill_at == bronze.BEFORE_PUBLISH else 'w'}"
    [contract] = shop_contracts(domain, "page_view")
    provision(settings, topic_specs([contract], settings))
    count = 30_000
    body = os.urandom(200)
    produce_raw(
        settings,
        contract.topic,
        [
            {"key": f"k{i}".encode(), "value": b"\x00" + struct.pack(">I", 1) + body, "partition": i % 3}
            for i in range(count)
        ],
    )
    identifier = bronze_table(settings, contract)

    stderr = (tmp_path / "stderr.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RUN, str(REPO), namespaces["bronze"], domain, kill_at],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )
    try:
        marker = bronze.BEFORE_WRITE if kill_at == "writing" else bronze.BEFORE_PUBLISH
        line = ""
        while not line.startswith(marker):  # the job prints each hook point it reaches
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, f"the job ended early: {(tmp_path / 'stderr.log').read_text()[-3000:]}"
        if kill_at == "writing":  # the Spark write has started: kill as soon as its first data file is stored
            wait_for_data_files(data_files(catalog, identifier))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        if proc.stdout:
            proc.stdout.close()
        stderr.close()

    table = catalog.load_table(identifier)
    assert len(bronze_rows(catalog, identifier)) == 0  # nothing published
    [branch] = private_branches(table)
    staged = table.snapshot_by_id(table.metadata.refs[branch].snapshot_id)
    assert staged is not None and staged.summary is not None
    if kill_at == bronze.BEFORE_PUBLISH:  # the records were committed to the private branch, not to main
        assert staged.summary.additional_properties["added-records"] == str(count)
    else:  # killed while Spark tasks were writing files: not even the branch got its snapshot
        assert staged.snapshot_id == table.metadata.refs["main"].snapshot_id, "the write had finished already"

    [rerun, _] = bronze.run(spark, config, [contract], catalog=catalog)

    assert rerun.rows_written == count
    rows = assert_lands_exactly(settings, catalog, identifier, contract.topic)  # also: the branch is gone
    assert len(rows) == count


def wait_for_data_files(listing: Callable[[], set[str]], timeout: float = 120.0) -> None:
    """Until ``listing`` (a table's data folder) shows a file (a Spark task finished writing) or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if listing():
                return
        except OSError:
            pass
        time.sleep(0.05)
