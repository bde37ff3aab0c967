"""The simulator and the replay on real Kafka and the real registry: every valid event arrives (duplicates as sent),
every malformed one is in its dead-letter topic with its reason, counts equal the manifest exactly."""

from __future__ import annotations

import collections
import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_contracts.testing import page_view
from dp_core.config import LoadedConfig, PlatformSettings
from dp_ingest.dlq import read_dead_letter
from dp_ingest.readback import read_to_end
from dp_localstack.stack import LocalStack
from dp_localstack.testing import clean_environ, run_dp, scratch_checkout, simulate_args

pytestmark = pytest.mark.integration

EVENTS = 50_000
START = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory, run_id: str, local_stack: LocalStack, repo_root: Path) -> Path:
    """A checkout whose contracts live in a domain of this run, so topics and subjects are unique to it."""
    root = scratch_checkout(repo_root, tmp_path_factory.mktemp("ingest"), f"it{run_id}")
    result = dp(root, "ingest", "topics")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(" created") == 12
    return root


def dp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_dp(cwd, *args, env=clean_environ())


def replay(checkout: Path, name: str, lines: list[str]) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``dp ingest replay`` of a file of ``lines`` in the checkout: the file and the run."""
    file = checkout / name
    file.write_text("\n".join(lines) + "\n")
    return file, dp(checkout, "ingest", "replay", str(file))


def summary_of(result: subprocess.CompletedProcess[str]) -> Any:
    """The JSON summary a ``dp ingest`` command prints last."""
    return json.loads(result.stdout.strip().splitlines()[-1])


def page_view_of(checkout: Path) -> Contract:
    return find_contract(load_contracts(contracts_dir(checkout)), "page_view")


def drain(settings: PlatformSettings, topic: str) -> list[Any]:
    """Every record of every partition of ``topic``, from the start to the end as of now, each once."""
    return read_to_end(settings, [topic], missing_ok=False).records


def test_simulated_events_reconcile_exactly_with_the_manifest(
    checkout: Path, platform_config: LoadedConfig, run_id: str
) -> None:
    manifest_path = checkout / "manifest.json"
    fractions = {"late": 0.05, "duplicates": 0.03, "malformed": 0.02}
    result = dp(checkout, *simulate_args(EVENTS, 11, START, manifest=manifest_path, fractions=fractions))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = summary_of(result)
    manifest = json.loads(manifest_path.read_text())
    assert summary["sent"] == manifest["total_sent"] == EVENTS

    settings = platform_config.settings
    registry = SchemaRegistryClient({"url": settings.registry.url})
    deserialize = AvroDeserializer(registry)
    contracts = {c.name: c for c in load_contracts(contracts_dir(checkout))}
    assert sum(m["sent"] for m in manifest["contracts"].values()) == EVENTS

    for name, expected in manifest["contracts"].items():
        contract = contracts[name]
        id_field = contract.meta.event_id or contract.meta.key
        records = drain(settings, contract.topic)
        ids: collections.Counter[str] = collections.Counter()
        for msg in records:
            datum = deserialize(msg.value(), SerializationContext(contract.topic, MessageField.VALUE))
            assert datum is not None
            ids[str(datum[id_field])] += 1
            assert msg.key() == str(datum[contract.meta.key]).encode()
        wanted = collections.Counter(expected["valid_ids"]) + collections.Counter(expected["duplicate_ids"])
        assert ids == wanted, name
        assert len(records) == expected["valid_unique"] + expected["duplicates"]

        letters = [read_dead_letter(m.value()) for m in drain(settings, contract.dlq_topic)]
        assert len(letters) == expected["malformed"] == len(expected["malformed_events"]), name
        assert sorted(le["source"]["seq"] for le in letters) == sorted(m["seq"] for m in expected["malformed_events"])
        for letter in letters:
            assert letter["contract"] == name and letter["errors"], letter
            assert all(e["rule"] and "path" in e for e in letter["errors"])
            assert ("payload" in letter) != ("payload_base64" in letter)


def test_replay_reports_rejects_by_line_and_parks_them(checkout: Path, platform_config: LoadedConfig) -> None:
    good = page_view(session_id="replay-session")
    lines = [
        json.dumps({"contract": "page_view", "event": good}),
        json.dumps({"contract": "page_view", "event": {**good, "device": "FRIDGE"}}),
        '{"contract": "page_view", "event": {not json',
        json.dumps({"contract": "no_such_contract", "event": good}),
        "",
        json.dumps({"contract": "page_view", "event": page_view(session_id="replay-session")}),
    ]
    file, result = replay(checkout, "events.jsonl", lines)
    assert result.returncode != 0  # one line could not be routed
    assert f"{file}:2: dead-lettered: device: 'FRIDGE' is not one of DESKTOP, MOBILE, TABLET [enum]" in result.stderr
    assert f"{file}:3: dead-lettered: the line is not valid JSON: Expecting property name" in result.stderr
    assert f"{file}:4: not sent: unknown contract 'no_such_contract'" in result.stderr
    assert summary_of(result) == {"lines": 5, "accepted": 2, "dead_lettered": 2, "not_sent": 1}
    letters = [
        read_dead_letter(m.value())
        for m in drain(platform_config.settings, page_view_of(checkout).dlq_topic)
        if m.value().find(b'"kind":"file"') >= 0
    ]
    assert sorted(le["source"]["line"] for le in letters) == [2, 3]


def test_replay_parks_a_deep_and_a_too_large_line_and_goes_on_to_its_summary(
    checkout: Path, platform_config: LoadedConfig
) -> None:
    good = page_view(session_id="replay-big")
    big = page_view(session_id="replay-big", url="/" + "x" * 2_000_000)
    lines = [
        '{"contract": "page_view", "event": ' + "[" * 10_000 + "]" * 10_000 + "}",  # used to end the run
        json.dumps({"contract": "page_view", "event": big}),  # used to end it with MSG_SIZE_TOO_LARGE
        json.dumps({"contract": "page_view", "event": good}),
    ]
    file, result = replay(checkout, "big.jsonl", lines)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{file}:1: dead-lettered: the line is nested more than 64 levels deep" in result.stderr
    assert f"{file}:2: dead-lettered: (event): the encoded event is " in result.stderr
    assert summary_of(result) == {"lines": 3, "accepted": 1, "dead_lettered": 2, "not_sent": 0}
    contract = page_view_of(checkout)
    letters = [read_dead_letter(m.value()) for m in drain(platform_config.settings, contract.dlq_topic)]
    mine = {le["source"]["line"]: le for le in letters if le["source"].get("file") == str(file)}
    assert sorted(mine) == [1, 2]
    assert [e["rule"] for e in mine[1]["errors"]] == ["too_deeply_nested"]
    assert [e["rule"] for e in mine[2]["errors"]] == ["size"]
    assert mine[2]["payload_truncated"] is True
    assert mine[2]["payload_size"] == len(json.dumps(big, separators=(",", ":")).encode())
    records = drain(platform_config.settings, contract.topic)
    assert sum(1 for m in records if b"replay-big" in m.value()) == 1
