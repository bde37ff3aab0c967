"""``dp ingest replay`` without a broker: one bad line never ends the run, the collector's parsing rules, dead letters
that fit in a record.

The producer is the real :class:`~dp_ingest.producer.EventProducer` over an in-memory stand-in for librdkafka that,
like librdkafka, refuses a record larger than its ``message.max.bytes`` (``MSG_SIZE_TOO_LARGE``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_contracts.testing import order_placed, page_view
from dp_core.config import find_config_dir, load_settings
from dp_ingest.codec import ContractCodec
from dp_ingest.dlq import read_dead_letter
from dp_ingest.kafka import producer_conf
from dp_ingest.producer import EventProducer
from dp_stream_ingestors.collector.body import MAX_JSON_DEPTH
from dp_stream_ingestors.collector.memory import InMemoryProducer
from dp_stream_ingestors.errors import IngestRunError
from dp_stream_ingestors.replay import replay

CONFIG_DIR = find_config_dir(Path(__file__).resolve().parent, {})
CONTRACTS = load_contracts(contracts_dir(CONFIG_DIR.parent))
SETTINGS = load_settings(CONFIG_DIR, {}, env="local").settings
PAGE_VIEW = find_contract(CONTRACTS, "page_view")
ORDER = find_contract(CONTRACTS, "order_placed")
MAX_LINE = SETTINGS.ingest.collector.max_body_bytes
KEPT = 64 * 1024
Producing = tuple[EventProducer, InMemoryProducer]


@pytest.fixture
def producing(sized_kafka: Callable[[int | None], InMemoryProducer]) -> Producing:
    """The real producer core over an in-memory librdkafka that refuses a record above its ``message.max.bytes``."""
    fake = sized_kafka(None).configure(producer_conf(SETTINGS))
    return EventProducer(SETTINGS, CONTRACTS, resolve_schema_id=lambda _: 1, producer=fake), fake


def envelope(contract: str, event: Any) -> bytes:
    return json.dumps({"contract": contract, "event": event}).encode()


def letters(fake: InMemoryProducer, topic: str) -> dict[int, dict[str, Any]]:
    """The dead letters of ``topic`` by the file line they came from."""
    out = {}
    for message in fake.messages(topic):
        letter = read_dead_letter(message.value())
        out[letter["source"]["line"]] = letter
    return out


def test_bad_lines_are_dead_lettered_by_line_and_the_replay_goes_on_to_the_end(
    tmp_path: Path, producing: Producing
) -> None:
    first, big, after, last = page_view(), page_view(url="/" + "x" * 2_000_000), page_view(), page_view()
    huge_prefix = b'{"contract": "page_view", "event": {"url": "'
    file = tmp_path / "events.jsonl"
    digest = hashlib.sha256()
    with file.open("wb") as fh:
        lines: list[bytes] = [
            envelope("page_view", first),  # 1
            envelope("order_placed", order_placed(total="1" * 30)),  # 2: 30 digits (once an InvalidOperation)
            b'{"contract": "page_view", "event": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",  # 3: RecursionError
            b'{"contract": "page_view", "event": {"url": NaN}}',  # 4: not strict JSON
            envelope("page_view", page_view()).decode().encode("utf-16"),  # 5: UTF-16, so no contract to tell
            envelope("page_view", big),  # 6: fits a line, not a Kafka record (MSG_SIZE_TOO_LARGE)
        ]
        fh.write(b"\n".join(lines) + b"\n")
        fh.write(huge_prefix)  # 7: a 100 MB line
        digest.update(huge_prefix)
        for _ in range(100):
            fh.write(b"y" * 2**20)
            digest.update(b"y" * 2**20)
        fh.write(b'"}}\r\n')
        digest.update(b'"}}')
        fh.write(envelope("page_view", after) + b"\n\n  \n")  # 8, then blank lines 9 and 10
        fh.write(envelope("page_view", last))  # 11, no newline at the end
    huge_size = len(huge_prefix) + 100 * 2**20 + 3
    producer, fake = producing

    report = replay(producer, file)

    assert (report.lines, report.accepted) == (9, 3)
    assert [n for n, _ in report.rejected] == [2, 3, 4, 6, 7]
    reasons = dict(report.rejected)
    assert reasons[2] == "total: 111111111111111111111111111111 does not fit decimal(12,2) [decimal]"
    assert reasons[3] == f"the line is nested more than {MAX_JSON_DEPTH} levels deep (arrays and objects)"
    assert reasons[4] == "the line is not valid JSON: NaN is not valid JSON"
    assert reasons[6].startswith("(event): the encoded event is ") and reasons[6].endswith("[size]")
    assert reasons[7] == (
        f"the line is {huge_size} bytes, more than the {MAX_LINE} bytes a line may have "
        "(ingest.collector.max_body_bytes)"
    )
    [(number, unroutable)] = report.unroutable
    assert number == 5
    assert unroutable.startswith("the line is not UTF-8: ") and unroutable.endswith("; no contract to route it to")

    assert producer.flush(1) == 0 and producer.stats.failed == 0
    codec = ContractCodec(PAGE_VIEW, 1)
    assert [str(codec.decode(m.value())["event_id"]) for m in fake.messages(PAGE_VIEW.topic)] == [
        e["event_id"] for e in (first, after, last)
    ]
    assert list(letters(fake, ORDER.dlq_topic)) == [2]
    parked = letters(fake, PAGE_VIEW.dlq_topic)
    assert list(parked) == [3, 4, 6, 7]
    assert {n: [e["rule"] for e in le["errors"]] for n, le in parked.items()} == {
        3: ["too_deeply_nested"],
        4: ["not_json"],
        6: ["size"],
        7: ["size"],
    }
    assert all(le["source"] == {"kind": "file", "file": str(file), "line": n} for n, le in parked.items())
    assert base64.b64decode(parked[4]["payload_base64"]) == lines[3] and "payload_truncated" not in parked[4]
    six = json.dumps(big, separators=(",", ":")).encode()
    assert (parked[6]["payload_size"], parked[6]["payload_sha256"]) == (len(six), hashlib.sha256(six).hexdigest())
    assert base64.b64decode(parked[6]["payload_base64"]) == six[:KEPT]
    assert (parked[7]["payload_size"], parked[7]["payload_sha256"]) == (huge_size, digest.hexdigest())
    head = base64.b64decode(parked[7]["payload_base64"])
    assert head == (huge_prefix + b"y" * KEPT)[:KEPT] and parked[7]["payload_truncated"] is True


def test_a_line_longer_than_the_bound_is_never_held_in_memory_whole(tmp_path: Path, producing: Producing) -> None:
    file = tmp_path / "huge.jsonl"
    with file.open("wb") as fh:
        fh.write(b'{"url": "')
        for _ in range(40):
            fh.write(b"z" * 2**20)
        fh.write(b'"}\n')
        fh.write(json.dumps(page_view()).encode() + b"\n")
    producer, fake = producing
    tracemalloc.start()
    try:
        report = replay(producer, file, "page_view")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (report.lines, report.accepted, [n for n, _ in report.rejected]) == (2, 1, [1])
    assert peak < 4 * MAX_LINE, peak  # the line is 40 MiB; read 5 MiB + 1 MiB at a time
    producer.flush(1)
    [letter] = letters(fake, PAGE_VIEW.dlq_topic).values()
    assert letter["payload_size"] == 9 + 40 * 2**20 + 2


def test_lines_are_read_as_the_collector_reads_a_body(tmp_path: Path, producing: Producing) -> None:
    good = json.dumps(page_view())
    lines = [
        good.encode("utf-16"),  # json.loads(bytes) reads UTF-16 (and UTF-32); the collector does not
        good.encode("utf-16-le"),
        b'{"url": Infinity}',
        b"\xef\xbb\xbf" + good.encode(),  # a UTF-8 byte-order mark: not JSON for the collector either
        json.dumps(page_view(url=json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH))).encode(),
        good.encode(),
    ]
    file = tmp_path / "events.jsonl"
    file.write_bytes(b"\n".join(lines) + b"\n")
    producer, fake = producing

    report = replay(producer, file, "page_view")

    assert (report.lines, report.accepted, report.unroutable) == (6, 1, [])
    reasons = dict(report.rejected)
    assert reasons[1].startswith("the line is not UTF-8: ")
    assert reasons[2].startswith("the line is not valid JSON: ")
    assert reasons[3] == "the line is not valid JSON: Infinity is not valid JSON"
    assert reasons[4].startswith("the line is not valid JSON: Unexpected UTF-8 BOM")
    assert reasons[5] == f"the line is nested more than {MAX_JSON_DEPTH} levels deep (arrays and objects)"
    producer.flush(1)
    assert len(fake.messages(PAGE_VIEW.topic)) == 1
    parked = letters(fake, PAGE_VIEW.dlq_topic)
    assert list(parked) == [1, 2, 3, 4, 5]
    assert [base64.b64decode(le["payload_base64"]) for le in parked.values()] == lines[:5]


def test_a_crash_on_one_line_parks_it_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, producing: Producing
) -> None:
    producer, fake = producing
    send = producer.send

    def crashing_send(contract: str, event: Any, *args: Any, **kwargs: Any) -> Any:
        if event.get("url") == "/crash":
            raise RecursionError("maximum recursion depth exceeded")
        return send(contract, event, *args, **kwargs)

    monkeypatch.setattr(producer, "send", crashing_send)
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(json.dumps(page_view(url=u)) for u in ("/a", "/crash", "/b")) + "\n")

    report = replay(producer, file, "page_view")

    assert (report.accepted, report.rejected) == (
        2,
        [(2, "(event): RecursionError: maximum recursion depth exceeded [unexpected]")],
    )
    producer.flush(1)
    assert list(letters(fake, PAGE_VIEW.dlq_topic)) == [2]


def test_a_failure_of_kafka_stops_the_run_naming_the_line_to_resume_from(tmp_path: Path, producing: Producing) -> None:
    producer, fake = producing
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(json.dumps(page_view()) for _ in range(3)) + "\n")
    produce = fake.produce
    calls = 0

    def failing_produce(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KafkaException(KafkaError(KafkaError._FATAL, "fatal error"))
        produce(*args, **kwargs)

    fake.produce = failing_produce  # type: ignore[method-assign]
    with pytest.raises(IngestRunError) as exc:
        replay(producer, file, "page_view")
    message = str(exc.value)
    assert message.startswith(f"{file}:2: cannot produce to {PAGE_VIEW.topic}: ")
    assert message.endswith("after 1 line(s) (1 accepted, 0 dead-lettered, 0 not sent); replay the lines from 2 on")
