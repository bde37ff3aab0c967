"""The simulator and the replay on real Kafka and the real registry: every valid event arrives (duplicates as sent),
every malformed one is in its dead-letter topic with its reason, counts equal the manifest exactly."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from dp_contracts.model import load_contracts
from dp_core.config import LoadedConfig
from dp_ingest.dlq import read_dead_letter
from dp_localstack.stack import LocalStack

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[4]
DP = str(Path(sys.executable).parent / "dp")
EVENTS = 50_000


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory, run_id: str, local_stack: LocalStack) -> Path:
    """A checkout whose contracts live in a domain of this run, so topics and subjects are unique to it."""
    root = tmp_path_factory.mktemp("ingest")
    shutil.copytree(REPO / "config", root / "config")
    target = root / "schemas" / "avro" / f"it{run_id}"
    shutil.copytree(REPO / "schemas" / "avro" / "commerce", target)
    result = dp(root, "ingest", "topics")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(" created") == 12
    return root


def dp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DP_")}
    return subprocess.run([DP, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def drain(bootstrap: str, topic: str) -> list[Any]:
    """Every record of every partition of ``topic``, from the start to the end as of now."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"it-{time.time_ns()}", "enable.auto.commit": False}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        out: list[Any] = []
        done = {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + 120
        while len(done) < len(partitions) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append(msg)
            if (msg.offset() or 0) + 1 >= ends[msg.partition()]:
                done.add(msg.partition())
        assert len(done) == len(partitions), f"{topic}: not drained"
        return out
    finally:
        consumer.close()


def test_simulated_events_reconcile_exactly_with_the_manifest(
    checkout: Path, platform_config: LoadedConfig, run_id: str
) -> None:
    manifest_path = checkout / "manifest.json"
    result = dp(
        checkout,
        "ingest",
        "simulate",
        "--count",
        str(EVENTS),
        "--seed",
        "11",
        "--start",
        "2026-11-25T08:00:00+0000",
        "--late",
        "0.05",
        "--duplicates",
        "0.03",
        "--malformed",
        "0.02",
        "--manifest",
        str(manifest_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    manifest = json.loads(manifest_path.read_text())
    assert summary["sent"] == manifest["total_sent"] == EVENTS

    settings = platform_config.settings
    registry = SchemaRegistryClient({"url": settings.registry.url})
    deserialize = AvroDeserializer(registry)
    contracts = {c.name: c for c in load_contracts(checkout / "schemas" / "avro")}
    assert sum(m["sent"] for m in manifest["contracts"].values()) == EVENTS

    for name, expected in manifest["contracts"].items():
        contract = contracts[name]
        id_field = contract.meta.event_id or contract.meta.key
        records = drain(settings.kafka.bootstrap_servers, contract.topic)
        ids: collections.Counter[str] = collections.Counter()
        for msg in records:
            datum = deserialize(msg.value(), SerializationContext(contract.topic, MessageField.VALUE))
            assert datum is not None
            ids[str(datum[id_field])] += 1
            assert msg.key() == str(datum[contract.meta.key]).encode()
        wanted = collections.Counter(expected["valid_ids"]) + collections.Counter(expected["duplicate_ids"])
        assert ids == wanted, name
        assert len(records) == expected["valid_unique"] + expected["duplicates"]

        letters = [read_dead_letter(m.value()) for m in drain(settings.kafka.bootstrap_servers, contract.dlq_topic)]
        assert len(letters) == expected["malformed"] == len(expected["malformed_events"]), name
        assert sorted(le["source"]["seq"] for le in letters) == sorted(m["seq"] for m in expected["malformed_events"])
        for letter in letters:
            assert letter["contract"] == name and letter["errors"], letter
            assert all(e["rule"] and "path" in e for e in letter["errors"])
            assert ("payload" in letter) != ("payload_base64" in letter)


def test_replay_reports_rejects_by_line_and_parks_them(checkout: Path, platform_config: LoadedConfig) -> None:
    good = {
        "event_id": "6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a99",
        "session_id": "replay-session",
        "customer_id": None,
        "page_type": "HOME",
        "url": "/",
        "product_id": None,
        "referrer": None,
        "device": "MOBILE",
        "ip_address": None,
        "occurred_at": "2026-11-25T10:15:00.000001Z",
    }
    lines = [
        json.dumps({"contract": "page_view", "event": good}),
        json.dumps({"contract": "page_view", "event": {**good, "device": "FRIDGE"}}),
        '{"contract": "page_view", "event": {not json',
        json.dumps({"contract": "no_such_contract", "event": good}),
        "",
        json.dumps({"contract": "page_view", "event": {**good, "event_id": "6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a98"}}),
    ]
    file = checkout / "events.jsonl"
    file.write_text("\n".join(lines) + "\n")
    result = dp(checkout, "ingest", "replay", str(file))
    assert result.returncode != 0  # one line could not be routed
    assert f"{file}:2: dead-lettered: device: 'FRIDGE' is not one of DESKTOP, MOBILE, TABLET [enum]" in result.stderr
    assert f"{file}:3: dead-lettered: the line is not valid JSON: Expecting property name" in result.stderr
    assert f"{file}:4: not sent: unknown contract 'no_such_contract'" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "lines": 5,
        "accepted": 2,
        "dead_lettered": 2,
        "not_sent": 1,
    }
    page_view = next(c for c in load_contracts(checkout / "schemas" / "avro") if c.name == "page_view")
    letters = [
        read_dead_letter(m.value())
        for m in drain(platform_config.settings.kafka.bootstrap_servers, page_view.dlq_topic)
        if m.value().find(b'"kind":"file"') >= 0
    ]
    assert sorted(le["source"]["line"] for le in letters) == [2, 3]


def test_replay_parks_a_deep_and_a_too_large_line_and_goes_on_to_its_summary(
    checkout: Path, platform_config: LoadedConfig
) -> None:
    good = {
        "event_id": "6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a97",
        "session_id": "replay-big",
        "customer_id": None,
        "page_type": "HOME",
        "url": "/",
        "product_id": None,
        "referrer": None,
        "device": "MOBILE",
        "ip_address": None,
        "occurred_at": "2026-11-25T10:15:00.000001Z",
    }
    big = {**good, "event_id": "6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a96", "url": "/" + "x" * 2_000_000}
    lines = [
        '{"contract": "page_view", "event": ' + "[" * 10_000 + "]" * 10_000 + "}",  # used to end the run
        json.dumps({"contract": "page_view", "event": big}),  # used to end it with MSG_SIZE_TOO_LARGE
        json.dumps({"contract": "page_view", "event": good}),
    ]
    file = checkout / "big.jsonl"
    file.write_text("\n".join(lines) + "\n")
    result = dp(checkout, "ingest", "replay", str(file))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{file}:1: dead-lettered: the line is nested more than 64 levels deep" in result.stderr
    assert f"{file}:2: dead-lettered: (event): the encoded event is " in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "lines": 3,
        "accepted": 1,
        "dead_lettered": 2,
        "not_sent": 0,
    }
    page_view = next(c for c in load_contracts(checkout / "schemas" / "avro") if c.name == "page_view")
    bootstrap = platform_config.settings.kafka.bootstrap_servers
    letters = [read_dead_letter(m.value()) for m in drain(bootstrap, page_view.dlq_topic)]
    mine = {le["source"]["line"]: le for le in letters if le["source"].get("file") == str(file)}
    assert sorted(mine) == [1, 2]
    assert [e["rule"] for e in mine[1]["errors"]] == ["too_deeply_nested"]
    assert [e["rule"] for e in mine[2]["errors"]] == ["size"]
    assert mine[2]["payload_truncated"] is True
    assert mine[2]["payload_size"] == len(json.dumps(big, separators=(",", ":")).encode())
    records = drain(bootstrap, page_view.topic)
    assert sum(1 for m in records if b"replay-big" in m.value()) == 1
