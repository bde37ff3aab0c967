"""etl_silver on the real catalog, registry and Spark: exact ids, rejects with reasons, duplicates dropped,
idempotent reruns, incremental runs, contract evolution with no manual DDL."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from confluent_kafka.schema_registry import Schema as RegistrySchema
from confluent_kafka.schema_registry import SchemaRegistryClient
from pyiceberg.catalog import Catalog
from pyspark.sql import SparkSession

from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_core.config import LoadedConfig
from dp_ingest.codec import ContractCodec
from dp_simulator import SimulationConfig, simulate
from dp_spark_jobs.silver import job as silver
from dp_spark_jobs.tables import (
    BRONZE_PARTITIONING,
    BRONZE_SCHEMA,
    bronze_table,
    rejected_table,
    silver_table,
    versions_table,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[4]
CONTRACTS = load_contracts(contracts_dir(REPO))
ORDER = find_contract(CONTRACTS, "order_placed")
PRODUCT = find_contract(CONTRACTS, "product")
T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def namespaces(run_id: str) -> dict[str, str]:
    return {"bronze": f"it_{run_id}_bronze", "silver": f"it_{run_id}_silver"}


def register(config: LoadedConfig, contract: Contract, run_id: str) -> int:
    client = SchemaRegistryClient({"url": config.settings.registry.url})
    return int(client.register_schema(f"it{run_id}.{contract.name}-value", RegistrySchema(contract.text, "AVRO")))


def events_of(contract: str, count: int = 4000) -> list[dict[str, Any]]:
    out = []
    for event in simulate(SimulationConfig(seed=5, count=count, start=T0)):
        if event.contract == contract and event.kind == "valid" and event.payload is not None:
            out.append(event.payload)
    return out


class Bronze:
    """Writes Bronze rows straight into the Bronze table (Kafka coordinates made up, strictly increasing)."""

    def __init__(self, catalog: Catalog, identifier: str) -> None:
        catalog.create_table_if_not_exists(identifier, schema=BRONZE_SCHEMA, partition_spec=BRONZE_PARTITIONING)
        self.table = catalog.load_table(identifier)
        self.offset = 0

    def append(self, values: list[tuple[bytes | None, int | None]], topic: str = "t") -> None:
        now = dt.datetime.now(dt.UTC)
        rows = []
        for value, schema_id in values:
            rows.append(
                {
                    "topic": topic,
                    "partition": 0,
                    "offset": self.offset,
                    "kafka_timestamp": now,
                    "key": b"k",
                    "value": value,
                    "headers": [],
                    "schema_id": schema_id,
                    "ingested_at": now,
                }
            )
            self.offset += 1
        self.table.append(pa.Table.from_pylist(rows, schema=BRONZE_SCHEMA.as_arrow()))


def silver_ids(spark: SparkSession, config: LoadedConfig, contract: Contract, column: str = "event_id") -> list[str]:
    name = config.settings.iceberg.catalog.name
    spark.sql(f"REFRESH TABLE {name}.{silver_table(config.settings, contract)}")
    return [r[0] for r in spark.table(f"{name}.{silver_table(config.settings, contract)}").select(column).collect()]


def test_orders_land_once_with_rejects_parked_and_reruns_idempotent(
    spark: SparkSession, config: LoadedConfig, catalog: Catalog, run_id: str
) -> None:
    # before Bronze holds anything, a run creates the contract's tables, empty (dbt's staging reads them)
    [early] = silver.run(spark, config, [ORDER], catalog=catalog)
    assert early.details["note"].endswith("does not exist yet (run bronze first)") and early.rows_written == 0
    for identifier in (silver_table(config.settings, ORDER), rejected_table(config.settings, ORDER)):
        assert catalog.load_table(identifier).current_snapshot() is None, identifier
    schema_id = register(config, ORDER, run_id)
    codec = ContractCodec(ORDER, schema_id)
    orders = events_of("order_placed")
    assert len(orders) > 50
    first, second = orders[: len(orders) // 2], orders[len(orders) // 2 :]
    bronze = Bronze(catalog, bronze_table(config.settings, ORDER))
    encoded: list[tuple[bytes | None, int | None]] = [(codec.encode(e)[1], schema_id) for e in first]
    duplicates = encoded[:7]
    bad: list[tuple[bytes | None, int | None]] = [
        (b"not framed at all", None),
        (b"\x00\x7f\xff\xff\xfe" + b"x", 2147483646),
        (codec.encode(first[0])[1][:5] + b"\xff" * 9, schema_id),
    ]
    # valid Avro whose event time no layer after Silver could use: written straight to Bronze, as a producer other
    # than ours could have (the producer core dead-letters them): before year 1 in UTC, before the oldest accepted
    # event time, and years ahead of the time Bronze took them
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    year_one = (dt.datetime(1, 1, 1, tzinfo=dt.UTC) - epoch) // dt.timedelta(microseconds=1)
    implausible = [year_one - 3_600_000_000, dt.datetime(1990, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31)]
    datum = codec.to_datum(first[1])
    bad += [(codec.encode_datum({**datum, "occurred_at": moment}), schema_id) for moment in implausible]
    bronze.append(encoded + duplicates + bad)

    [run] = silver.run(spark, config, [ORDER], catalog=catalog)
    assert (run.rows_read, run.rows_written, run.rejected, run.duplicates_dropped) == (
        len(first) + 13,
        len(first),
        6,
        7,
    )
    assert sorted(silver_ids(spark, config, ORDER)) == sorted(e["event_id"] for e in first)
    name = config.settings.iceberg.catalog.name
    rejects = spark.table(f"{name}.{rejected_table(config.settings, ORDER)}").orderBy("_source_offset").collect()
    assert [r.rule for r in rejects] == ["wire_format", "unknown_schema_id", "undecodable", *["range"] * 3]
    assert rejects[1].reason == "unknown schema id 2147483646"
    assert [r._source_offset for r in rejects] == [len(encoded) + 7 + i for i in range(6)]
    oldest = "is before the oldest accepted event time 2000-01-01T00:00:00+00:00"
    assert rejects[4].reason == f"occurred_at 1990-01-01 00:00:00 {oldest}" and rejects[3].reason.endswith(oldest)
    assert rejects[5].reason.endswith("is more than 86400 s ahead of the time Bronze took the record")

    [again] = silver.run(spark, config, [ORDER], catalog=catalog)
    assert again.snapshot_id is None and again.rows_read == 0
    assert len(silver_ids(spark, config, ORDER)) == len(first)

    # the next Bronze batch: the second half plus re-sends of the first half's events
    bronze.append([(codec.encode(e)[1], schema_id) for e in second + first[:5]])
    [more] = silver.run(spark, config, [ORDER], catalog=catalog)
    assert (more.rows_read, more.rows_written, more.duplicates_dropped, more.rejected) == (
        len(second) + 5,
        len(second),
        5,
        0,
    )
    ids = silver_ids(spark, config, ORDER)
    assert sorted(ids) == sorted(e["event_id"] for e in orders) and len(ids) == len(set(ids))
    assert len(spark.table(f"{name}.{rejected_table(config.settings, ORDER)}").collect()) == 6

    # amounts survive the trip exactly, late events sit in their event-time partition
    # (filtered in Python: Iceberg's pushdown of a string literal onto a uuid column finds nothing)
    table_rows = spark.table(f"{name}.{silver_table(config.settings, ORDER)}").collect()
    row = next((r for r in table_rows if r.event_id == orders[0]["event_id"]), None)
    assert row is not None and str(row.total) == orders[0]["total"]
    days = {
        r[0]
        for r in spark.sql(
            f"SELECT partition.occurred_at_day FROM {name}.{silver_table(config.settings, ORDER)}.partitions"
        ).collect()
    }
    assert days == {dt.date.fromisoformat(e["occurred_at"][:10]) for e in orders}


def test_contract_evolution_adds_the_column_and_keeps_old_rows_null(
    spark: SparkSession, config: LoadedConfig, catalog: Catalog, run_id: str
) -> None:
    products = events_of("product", 150)
    v1_id = register(config, PRODUCT, run_id)
    v2_schema = copy.deepcopy(PRODUCT.schema)
    v2_schema["fields"].append(
        {"name": "color", "type": ["null", "string"], "default": None, "doc": "Main colour.", "field-id": 9}
    )
    # a required field with its default (Avro-compatible): optional in Silver, whose older rows have no value
    v2_schema["fields"].append({"name": "size", "type": "string", "default": "M", "doc": "Size.", "field-id": 10})
    v2 = Contract(name=PRODUCT.name, domain=PRODUCT.domain, path=PRODUCT.path, schema=v2_schema)
    v2_id = register(config, v2, run_id)
    assert v2_id != v1_id
    bronze = Bronze(catalog, bronze_table(config.settings, PRODUCT))
    bronze.append([(ContractCodec(PRODUCT, v1_id).encode(p)[1], v1_id) for p in products[:40]])
    [first] = silver.run(spark, config, [PRODUCT], catalog=catalog)
    assert first.details["versions_written"] == 40
    later = dt.datetime(2026, 11, 26, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    newer = [{**p, "color": "red", "size": "L", "updated_at": later} for p in products[:10]] + [
        {**p, "color": None, "size": "M"} for p in products[40:60]
    ]
    bronze.append([(ContractCodec(v2, v2_id).encode(p)[1], v2_id) for p in newer])
    [run] = silver.run(spark, config, [v2], catalog=catalog)
    assert run.details["columns_added"] == ["color", "size"]
    assert not catalog.load_table(silver_table(config.settings, PRODUCT)).schema().find_field("size").required
    name = config.settings.iceberg.catalog.name
    rows = {r.product_id: r for r in spark.table(f"{name}.{silver_table(config.settings, PRODUCT)}").collect()}
    assert len(rows) == 60
    assert {rows[p["product_id"]].color for p in products[:10]} == {"red"}  # the newer version replaced the old
    assert {rows[p["product_id"]].color for p in products[10:60]} == {None}
    assert [{rows[p["product_id"]].size for p in ps} for ps in (products[:10], products[10:40], products[40:60])] == [
        {"L"},
        {None},
        {"M"},
    ]
    assert json.dumps(sorted(rows)) == json.dumps(sorted(p["product_id"] for p in products[:60]))

    # every version is kept beside the latest, one per product and updated_at; a re-sent version is not a new one
    assert run.details["versions_written"] == 30
    bronze.append([(ContractCodec(v2, v2_id).encode(p)[1], v2_id) for p in newer[:5]])
    [again] = silver.run(spark, config, [v2], catalog=catalog)
    assert (again.details["versions_written"], again.rows_read) == (0, 5)
    versions: dict[str, list[tuple[dt.datetime, str | None]]] = {}
    for r in spark.table(f"{name}.{versions_table(config.settings, PRODUCT)}").orderBy("updated_at").collect():
        versions.setdefault(r.product_id, []).append((r.updated_at, r.color))
    assert sum(len(v) for v in versions.values()) == 70 and sorted(versions) == sorted(rows)
    assert {p["product_id"]: [c for _, c in versions[p["product_id"]]] for p in products[:10]} == {
        p["product_id"]: [None, "red"] for p in products[:10]
    }
    assert all(len(versions[p["product_id"]]) == 1 for p in products[10:60])

    # two different records of one product with the same updated_at: the last to arrive wins, in the latest and the
    # versions table alike, within a batch and across batches
    twin = products[60]

    def colors() -> tuple[list[str | None], list[str | None]]:
        out = []
        for table in (silver_table(config.settings, PRODUCT), versions_table(config.settings, PRODUCT)):
            spark.sql(f"REFRESH TABLE {name}.{table}")
            out.append(
                [
                    r.color
                    for r in spark.table(f"{name}.{table}").where(f"product_id = '{twin['product_id']}'").collect()
                ]
            )
        return out[0], out[1]

    bronze.append([(ContractCodec(v2, v2_id).encode({**twin, "color": c})[1], v2_id) for c in ("blue", "green")])
    [tie] = silver.run(spark, config, [v2], catalog=catalog)
    assert tie.details["versions_written"] == 1 and colors() == (["green"], ["green"])
    bronze.append([(ContractCodec(v2, v2_id).encode({**twin, "color": c})[1], v2_id) for c in ("black", "black")])
    [tie] = silver.run(spark, config, [v2], catalog=catalog)
    assert tie.details["versions_written"] == 1 and colors() == (["black"], ["black"])
    bronze.append([(ContractCodec(v2, v2_id).encode({**twin, "color": "black"})[1], v2_id)])  # a re-send
    [tie] = silver.run(spark, config, [v2], catalog=catalog)
    assert tie.details["versions_written"] == 0 and colors() == (["black"], ["black"])


KILLABLE = """
import os, sys, time
from pathlib import Path
from dp_core.config import load_settings
from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_spark.session import build_session
from dp_spark_jobs.silver import job as silver

repo, target = Path(sys.argv[1]), sys.argv[2]
loaded = load_settings(repo / "config", {k: v for k, v in os.environ.items() if k.startswith("DP_")})
contract = find_contract(load_contracts(contracts_dir(repo)), "page_view")
spark = build_session(loaded, "it-silver-killed")

def hook(point, table):
    print("HOOK", point, flush=True)
    if point == target:
        time.sleep(600)

silver.run(spark, loaded, [contract], hook=hook)
print("DONE", flush=True)
"""


def run_until_killed(config: LoadedConfig, point: str, run_id: str) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("DP_")}
    env["DP_ICEBERG_NAMESPACES__BRONZE"] = config.settings.iceberg.namespaces.bronze
    env["DP_ICEBERG_NAMESPACES__SILVER"] = config.settings.iceberg.namespaces.silver
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(REPO), point],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == f"HOOK {point}":
                break
        else:
            pytest.fail(f"the job ended before reaching {point}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the Python driver and its JVM
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_field_an_evolution_adds_inside_the_order_lines_becomes_an_optional_nested_column(
    spark: SparkSession, config: LoadedConfig, catalog: Catalog, run_id: str
) -> None:
    # a required line field with its default (Avro-compatible): Silver missed fields new inside list elements, so
    # the table kept the old line struct
    v1_id = register(config, ORDER, run_id)
    v2_schema = copy.deepcopy(ORDER.schema)
    line = next(f for f in v2_schema["fields"] if f["name"] == "lines")["type"]["items"]
    line["fields"].append(
        {"name": "gift_wrap", "type": "boolean", "default": False, "doc": "Gift-wrapped.", "field-id": 90}
    )
    v2 = Contract(name=ORDER.name, domain=ORDER.domain, path=ORDER.path, schema=v2_schema)
    v2_id = register(config, v2, run_id)
    assert v2_id != v1_id
    fresh = [
        {**order, "event_id": str(uuid.uuid4()), "order_id": str(uuid.uuid4())}
        for order in events_of("order_placed")[:20]
    ]
    old, new = fresh[:10], [{**o, "lines": [{**ln, "gift_wrap": True} for ln in o["lines"]]} for o in fresh[10:]]
    bronze = Bronze(catalog, bronze_table(config.settings, ORDER))
    bronze.offset = 10**9  # after every other test's made-up offsets
    bronze.append([(ContractCodec(ORDER, v1_id).encode(o)[1], v1_id) for o in old], topic="evolution")
    [before] = silver.run(spark, config, [ORDER], catalog=catalog)
    assert (before.rows_read, before.rows_written) == (10, 10), before
    bronze.append([(ContractCodec(v2, v2_id).encode(o)[1], v2_id) for o in new], topic="evolution")
    [run] = silver.run(spark, config, [v2], catalog=catalog)
    assert (run.rows_read, run.rows_written, run.rejected) == (10, 10, 0), run
    assert run.details["columns_added"] == ["lines.element.gift_wrap"]
    table = catalog.load_table(silver_table(config.settings, ORDER))
    assert not table.schema().find_field("lines.element.gift_wrap").required
    name = config.settings.iceberg.catalog.name
    ids = {o["order_id"] for o in fresh}
    # (filtered in Python: Iceberg's pushdown of a string literal onto a uuid column finds nothing)
    rows = [r for r in spark.table(f"{name}.{silver_table(config.settings, ORDER)}").collect() if r.order_id in ids]
    wraps = {r.order_id: {ln.gift_wrap for ln in r.lines} for r in rows}
    assert wraps == {**{o["order_id"]: {None} for o in old}, **{o["order_id"]: {True} for o in new}}


def test_a_column_the_contract_only_made_optional_follows_it(
    spark: SparkSession, config: LoadedConfig, catalog: Catalog, run_id: str
) -> None:
    # nothing added, one required field made optional (the gate allows it): the table kept the column required,
    # so the first null stopped Silver for good
    payment = find_contract(CONTRACTS, "payment_processed")
    v1_id = register(config, payment, run_id)
    v2_schema = copy.deepcopy(payment.schema)
    currency = next(f for f in v2_schema["fields"] if f["name"] == "currency")
    currency.update({"type": ["null", "string"], "default": None})
    v2 = Contract(name=payment.name, domain=payment.domain, path=payment.path, schema=v2_schema)
    v2_id = register(config, v2, run_id)
    payments = events_of("payment_processed")[:10]
    assert len(payments) == 10
    bronze = Bronze(catalog, bronze_table(config.settings, payment))
    bronze.append([(ContractCodec(payment, v1_id).encode(p)[1], v1_id) for p in payments[:5]])
    [before] = silver.run(spark, config, [payment], catalog=catalog)
    assert before.rows_written == 5
    bronze.append([(ContractCodec(v2, v2_id).encode({**p, "currency": None})[1], v2_id) for p in payments[5:]])
    [run] = silver.run(spark, config, [v2], catalog=catalog)
    assert (run.rows_read, run.rows_written, run.rejected, run.details.get("columns_added")) == (5, 5, 0, None)
    assert not catalog.load_table(silver_table(config.settings, payment)).schema().find_field("currency").required
    name = config.settings.iceberg.catalog.name
    rows = spark.table(f"{name}.{silver_table(config.settings, payment)}").collect()
    by_id = {r.payment_id: r.currency for r in rows}
    assert len(by_id) == 10
    assert {by_id[p["payment_id"]] for p in payments[5:]} == {None}
    assert {by_id[p["payment_id"]] for p in payments[:5]} == {p["currency"] for p in payments[:5]}


def test_a_run_killed_anywhere_then_rerun_ends_in_the_same_state(
    spark: SparkSession, config: LoadedConfig, catalog: Catalog, run_id: str
) -> None:
    page_view = find_contract(CONTRACTS, "page_view")
    schema_id = register(config, page_view, run_id)
    codec = ContractCodec(page_view, schema_id)
    views = events_of("page_view", 1500)
    bronze = Bronze(catalog, bronze_table(config.settings, page_view))
    rows: list[tuple[bytes | None, int | None]] = [(codec.encode(v)[1], schema_id) for v in views]
    # an id no registry hands out in a test run (a small one, 9, was registered once enough schemas were)
    unknown = (b"\x00" + (2147483645).to_bytes(4, "big") + b"junk", 2147483645)
    bronze.append([*rows, *rows[:11], (b"junk", None), unknown])

    run_until_killed(config, "after-rejects", run_id)  # rejects in, Silver not yet
    run_until_killed(config, "after-merge", run_id)  # Silver in, progress not yet recorded
    [final] = silver.run(spark, config, [page_view], catalog=catalog)
    assert final.rows_read == len(views) + 13 and final.rows_written == 0  # all already merged by the killed run
    ids = silver_ids(spark, config, page_view)
    assert sorted(ids) == sorted(v["event_id"] for v in views) and len(ids) == len(set(ids))
    name = config.settings.iceberg.catalog.name
    rejects = spark.table(f"{name}.{rejected_table(config.settings, page_view)}").collect()
    assert sorted(r.rule for r in rejects) == ["unknown_schema_id", "wire_format"]
    [after] = silver.run(spark, config, [page_view], catalog=catalog)
    assert after.snapshot_id is None  # the progress is now recorded: nothing left to do
