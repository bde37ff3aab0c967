"""A record that one layer accepted never stops a later layer: poison records written straight to Kafka.

The producer core would dead-letter every poison record below; a producer other than ours need not. So this test
writes them as raw Kafka records into the order topic, between the simulator's events, and runs every layer over
them: the speed layer (aggregator and enricher, PyFlink) and the batch layer (bronze, silver, gold, PySpark). Each
layer must go on, park what it cannot use with its reason, and hold exactly the rest:

* valid Avro whose event time is before year 1 or after year 9999 in UTC (fastavro cannot read those; Spark can,
  and Python cannot turn the day into a date), bytes that are not Avro of their schema, an unknown schema id;
* extreme but valid orders (the largest decimals the contract holds, empty strings, a 200 KB string, a negative
  line), which every layer keeps like any other order: Gold here is dbt's build (`fct_orders` holds them); its
  data tests over them (warnings for the negative line, no error) are checked in `test_transform.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_contracts.testing import extreme_orders as limits
from dp_contracts.testing import order_placed
from dp_core.config import load_settings
from dp_demo.speed import last_json_object
from dp_ingest.codec import ContractCodec
from dp_ingest.kafka import client_conf
from dp_ingest.wire import header
from dp_localstack.stack import LocalStack
from dp_localstack.testing import clean_environ, run_dp, scratch_checkout, simulate_args
from dp_spark.session import build_session
from dp_spark_jobs.catalog import lake_catalog
from dp_spark_jobs.tables import gold_table, rejected_table, silver_table

pytestmark = pytest.mark.e2e
BatchLayer = Callable[..., list[Any]]  # the conftest fixture
START = dt.datetime(2026, 11, 24, 22, 0, tzinfo=dt.UTC)
COUNT, SEED = 1500, 41
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROS = dt.timedelta(microseconds=1)
BEFORE_YEAR_ONE = (dt.datetime(1, 1, 1, tzinfo=dt.UTC) - EPOCH) // MICROS - 3_600_000_000
AFTER_YEAR_9999 = (dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC) - EPOCH) // MICROS + 3_600_000_000


def order(**changes: Any) -> dict[str, Any]:
    """A valid order of the simulated evening (the simulator's events start at 22:00)."""
    return order_placed(
        **{"session_id": "s-poison", "customer_id": "c-poison", "occurred_at": "2026-11-24T22:05:00Z", **changes}
    )


def extreme_orders() -> list[dict[str, Any]]:
    """Valid orders at the contract's limits: every layer keeps them (dbt's marts too: ``tests/e2e/test_transform.py``
    builds them with its second wave)."""
    return limits(session_id="s-poison", customer_id="c-poison", occurred_at="2026-11-24T22:05:00Z")


def test_poison_records_are_parked_by_every_layer_and_the_rest_is_exact(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path, batch_layer: BatchLayer
) -> None:
    scratch_checkout(repo_root, tmp_path, f"pz{run_id}")
    env = clean_environ() | {
        "DP_STREAM_CHECKPOINT_INTERVAL_S": "2",
        "DP_LOCAL_RUNTIME_DIR": str(local_stack.layout.runtime),
        "DP_ICEBERG_NAMESPACES__GOLD": f"pz_{run_id}_gold",
    }

    def dp(*args: str) -> subprocess.CompletedProcess[str]:
        result = run_dp(tmp_path, *args, env=env, timeout=900)
        assert result.returncode == 0, f"dp {' '.join(args)}:\n{result.stderr[-3000:]}"
        return result

    dp("ingest", "topics")
    manifest_path = tmp_path / "m.json"
    dp(*simulate_args(COUNT, SEED, START, manifest=manifest_path))
    manifest = json.loads(manifest_path.read_text())

    loaded = load_settings(tmp_path / "config", env)
    settings = loaded.settings
    contracts = load_contracts(contracts_dir(tmp_path))
    contract = find_contract(contracts, "order_placed")
    registry = SchemaRegistryClient({"url": settings.registry.url})
    schema_id = registry.get_latest_version(contract.subject).schema_id
    assert schema_id is not None
    codec = ContractCodec(contract, schema_id)  # no bounds: it writes what a careless producer would

    valid = extreme_orders()
    datum = codec.to_datum(order())
    poison = [
        codec.encode_datum({**datum, "occurred_at": BEFORE_YEAR_ONE}),
        codec.encode_datum({**datum, "occurred_at": AFTER_YEAR_9999}),
        header(schema_id) + b"\xff" * 40,  # not Avro of its schema
        header(2_000_000_000) + codec.encode_datum(datum)[5:],  # an id the registry never gave
    ]
    producer = Producer(client_conf(settings) | {"enable.idempotence": True, "acks": "all"})
    for value in [*poison[:2], *(codec.encode(e)[1] for e in valid), *poison[2:]]:
        producer.produce(contract.topic, value=value, key=b"poison")
    assert producer.flush(30) == 0

    # the speed layer goes on: the aggregator parks what it cannot read, the enricher holds every valid order
    summary = last_json_object(dp("stream", "run", "aggregator", "--until-idle", "1", "--json").stdout)
    assert summary is not None
    lake = lake_catalog(settings)
    rejects = lake.load_table(summary["tables"]["rejects"].split(".", 1)[1]).scan().to_arrow().to_pylist()
    assert sorted(r["reason"].split(":")[0] for r in rejects) == sorted(
        [
            f"undecodable with schema id {schema_id}",
            f"undecodable with schema id {schema_id}",
            f"undecodable with schema id {schema_id}",
            "unknown schema id 2000000000",
        ]
    )
    assert {r["kafka_topic"] for r in rejects} == {contract.topic}
    summary = last_json_object(dp("stream", "run", "enricher", "--until-idle", "1", "--json").stdout)
    assert summary is not None
    enriched_table = summary["tables"]["enriched"].split(".", 1)[1]  # an upsert table: read by Spark
    expected = sorted([*manifest["contracts"]["order_placed"]["valid_ids"], *(e["event_id"] for e in valid)])

    # the batch layer goes on: Silver quarantines the four with their rule, Gold builds from the rest
    lake.create_namespace_if_not_exists(settings.iceberg.namespaces.gold)
    spark = build_session(loaded, "e2e-poison")
    try:
        batch_layer(spark, loaded, contracts, lake)
        name = settings.iceberg.catalog.name
        enriched = spark.table(f"{name}.{enriched_table}").select("event_id").collect()
        assert sorted(r[0] for r in enriched) == expected
        ids = [r[0] for r in spark.table(f"{name}.{silver_table(settings, contract)}").select("event_id").collect()]
        assert sorted(ids) == expected
        rules = [r.rule for r in spark.table(f"{name}.{rejected_table(settings, contract)}").collect()]
        assert sorted(rules) == ["range", "range", "undecodable", "unknown_schema_id"]
        facts = spark.table(f"{name}.{gold_table(settings, 'fct_orders')}")
        assert facts.count() == len(expected)
        top = facts.where(facts.order_id == valid[0]["order_id"]).collect()
        assert [r.total for r in top] == [Decimal("9999999999.99")]
    finally:
        spark.stop()
