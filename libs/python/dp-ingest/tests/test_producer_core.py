"""The producer core without a broker: framing, conversion rules, encoding, dead letters, delivery accounting."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka import KafkaError, KafkaException

from dp_contracts import testing as samples
from dp_contracts.ir import PrimitiveT
from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_contracts.plausibility import EventTimeBounds
from dp_contracts.testing import REMOVED, order_placed, payment_processed
from dp_core.config import find_repo_root, load_settings
from dp_ingest.codec import ContractCodec
from dp_ingest.convert import compile_type
from dp_ingest.dlq import Source, read_dead_letter
from dp_ingest.errors import BackpressureError, FieldError, InvalidEventError, MessageTooLargeError, WireFormatError
from dp_ingest.kafka import DEFAULT_MESSAGE_MAX_BYTES, producer_conf
from dp_ingest.producer import EventProducer, record_size
from dp_ingest.topics import ANY_TIMESTAMP, topic_specs
from dp_ingest.wire import frame, unframe

REPO = find_repo_root(Path(__file__))
CONTRACTS = load_contracts(contracts_dir(REPO))
SETTINGS = load_settings(REPO / "config", {}).settings
ORDER = find_contract(CONTRACTS, "order_placed")
GOOD = order_placed()


class FakeKafka:
    """librdkafka's producer surface, in memory: records what is produced, delivers on poll/flush.

    With ``max_bytes``, ``produce`` refuses a larger record as librdkafka does (``MSG_SIZE_TOO_LARGE``), counting its
    size as librdkafka does: 36 bytes of framing, the key, the value, each header's name and value and 2 bytes."""

    def __init__(self, capacity: int = 1_000_000, fail: bool = False, max_bytes: int | None = None) -> None:
        self.capacity, self.fail, self.max_bytes = capacity, fail, max_bytes
        self.queue: list[tuple[str, bytes | None, bytes, Any, Any]] = []
        self.delivered: list[tuple[str, bytes | None, bytes, Any]] = []
        self.timestamps: list[int | None] = []

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: Any,
        on_delivery: Any,
        timestamp: int | None = None,  # librdkafka's default is 0, "now"; None here tells "not passed"
    ) -> None:
        self.timestamps.append(timestamp)
        if self.max_bytes is not None:
            size = 36 + len(value) + len(key or b"") + sum(len(n) + len(v or b"") + 2 for n, v in headers or [])
            if size > self.max_bytes:
                raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "Broker: Message size too large"))
        if len(self.queue) >= self.capacity:
            raise BufferError("queue full")
        self.queue.append((topic, key, value, headers, on_delivery))

    def poll(self, timeout: float = 0) -> int:
        served = 0
        while self.queue:
            topic, key, value, headers, callback = self.queue.pop(0)
            msg = FakeMessage(topic, key)
            if self.fail:
                callback("Local: Message timed out", msg)
            else:
                self.delivered.append((topic, key, value, headers))
                callback(None, msg)
            served += 1
        return served

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0

    def __len__(self) -> int:
        return len(self.queue)


class FakeMessage:
    def __init__(self, topic: str, key: bytes | None) -> None:
        self._topic, self._key = topic, key

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes | None:
        return self._key


def producer(kafka: FakeKafka) -> EventProducer:
    return EventProducer(SETTINGS, CONTRACTS, resolve_schema_id=lambda c: 42, producer=kafka)


# -- wire format ---------------------------------------------------------------------------------------------------


def test_wire_header_round_trip() -> None:
    framed = frame(258, b"avro")
    assert framed == b"\x00\x00\x00\x01\x02avro"
    assert unframe(framed) == (258, b"avro")


@pytest.mark.parametrize(
    ("data", "message"), [(b"\x00\x00", "shorter than the 5-byte"), (b"\x01\x00\x00\x00\x01x", "magic")]
)
def test_wire_errors(data: bytes, message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        unframe(data)


# -- conversion rules ----------------------------------------------------------------------------------------------


def errors_of(event: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidEventError) as exc:
        ContractCodec(ORDER, 1).to_datum(event)
    return [(e.path, e.rule) for e in exc.value.errors]


def changed(**changes: Any) -> dict[str, Any]:
    """GOOD with ``changes`` (:data:`~dp_contracts.testing.REMOVED` drops a field)."""
    return samples.changed(GOOD, **changes)


def test_a_good_event_converts_to_typed_values() -> None:
    datum = ContractCodec(ORDER, 1).to_datum(GOOD)
    assert datum["total"] == Decimal("53.96")
    assert datum["occurred_at"] == dt.datetime(2026, 11, 25, 10, 15, 0, 123456, tzinfo=dt.UTC)
    assert datum["lines"][0]["unit_price"] == Decimal("19.99")
    assert datum["attributes"] == {}  # the contract's default


LINE = GOOD["lines"][0]
#: what breaks one rule each, by the path and rule reported: values of the path's field in an otherwise good order
BREAKING: dict[tuple[str, str], list[Any]] = {
    ("total", "required"): [REMOVED],
    ("coupon", "unknown_field"): ["X"],
    ("total", "type"): [53.96],
    ("total", "decimal"): [
        "53.961",
        "12345678901.00",
        "1e3",
        # quantize() used to raise InvalidOperation (a 500 in the collector) past 28 digits
        "111111111111111111111111111111",
        "1" * 5000 + ".00",
        "0." + "0" * 60 + "1",
        # what the published JSON Schema refuses is refused here too
        "\u0661\u0662.\u0663\u0664",  # Arabic-Indic digits
        "12.34\n",
    ],
    ("order_id", "format"): ["nope"],
    ("occurred_at", "format"): [
        "2026-11-25T10:15:00",
        "yesterday",
        "2026-W48-3T10:15:00Z",  # ISO week date
        "2026-11-25T10:15:00.123456789Z",  # nanoseconds
        "2026-11-25T10:15:00Z\n",
    ],
    ("event_id", "format"): [
        "{6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a11}",
        "urn:uuid:6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a11",
        "6f1c1a528a9e4a0c9b550d7d7c8f2a11",
    ],
    # valid RFC 3339, but outside the years 1-9999 once in UTC: no later layer could read it
    ("occurred_at", "range"): ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"],
    ("customer_id", "null"): [None],
    ("lines[0].quantity", "type"): [[{**LINE, "quantity": "2"}], [{**LINE, "quantity": True}]],
    ("lines[0].quantity", "range"): [[{**LINE, "quantity": 2**31}]],
    ("attributes.campaign", "type"): [{"campaign": 7}],
    ("lines", "type"): [{}],
}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        *(
            (changed(**{re.split(r"[.\[]", path)[0]: value}), [(path, rule)])
            for (path, rule), values in BREAKING.items()
            for value in values
        ),
        (["not", "an", "object"], [("", "type")]),
    ],
)
def test_each_rule_names_the_field(event: Any, expected: list[tuple[str, str]]) -> None:
    assert errors_of(event) == expected


def test_the_json_schema_and_the_converter_agree_on_hostile_values() -> None:
    import jsonschema

    from dp_contracts.compiler import to_json_schema

    validator = jsonschema.Draft202012Validator(to_json_schema(ORDER.record))
    # ("12.34\n" too, for an ECMA-262 validator; Python's re lets "$" match before a final newline)
    for value in ("\u0661\u0662.\u0663\u0664", "111111111111111111111111111111"):
        assert not validator.is_valid(changed(total=value)), value
        assert errors_of(changed(total=value)) == [("total", "decimal")]
    for value in ("{6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a11}", "6f1c1a528a9e4a0c9b550d7d7c8f2a11"):
        assert not validator.is_valid(changed(event_id=value)), value
    assert validator.is_valid(changed(event_id=GOOD["event_id"].upper()))
    assert ContractCodec(ORDER, 1).to_datum(changed(event_id=GOOD["event_id"].upper()))["event_id"] == GOOD["event_id"]


def test_a_double_must_be_finite() -> None:
    check = compile_type(PrimitiveT("double"))
    for value in (float("nan"), float("inf"), -float("inf"), 10**400):
        errors: list[FieldError] = []
        check(value, "x", errors)
        assert [e.rule for e in errors] == ["range"], value
    assert check(1.5, "x", []) == 1.5


BOUNDS = EventTimeBounds(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.timedelta(days=1))
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("occurred_at", "problem"),
    [
        ("1999-12-31T23:59:59Z", "1999-12-31T23:59:59Z is before the oldest accepted event time 2000-01-01T00:00:00Z"),
        ("2000-01-01T00:00:00Z", None),
        ("2026-12-07T12:00:00Z", None),
        ("2026-12-07T12:00:01Z", "2026-12-07T12:00:01Z is more than 86400 s ahead of the clock (2026-12-06T12:00:00Z)"),
        ("1970-01-01T00:00:00Z", "before the oldest"),
    ],
)
def test_an_implausible_event_time_is_a_range_error(occurred_at: str, problem: str | None) -> None:
    codec = ContractCodec(ORDER, 1, BOUNDS, clock=lambda: NOW)
    if problem is None:
        assert codec.to_datum(changed(occurred_at=occurred_at))["occurred_at"]
        return
    with pytest.raises(InvalidEventError) as exc:
        codec.to_datum(changed(occurred_at=occurred_at))
    [error] = exc.value.errors
    assert (error.path, error.rule) == ("occurred_at", "range") and problem in error.message


def test_the_producer_dead_letters_an_implausible_event_time() -> None:
    kafka = FakeKafka()
    p = EventProducer(SETTINGS, CONTRACTS, resolve_schema_id=lambda c: 1, producer=kafka)
    errors = p.send("order_placed", changed(occurred_at="0001-01-01T00:00:00+01:00"), Source("test", {}))
    assert [(e.path, e.rule) for e in errors] == [("occurred_at", "range")]
    errors = p.send("order_placed", changed(occurred_at="1990-01-01T00:00:00Z"), Source("test", {}))
    assert [(e.path, e.rule) for e in errors] == [("occurred_at", "range")]
    p.flush(1)
    assert [t for t, *_ in kafka.delivered] == ["commerce.order_placed.v1.dlq"] * 2


def test_all_errors_of_an_event_are_reported_together() -> None:
    found = errors_of(changed(total=REMOVED, coupon=1, currency=3))
    assert sorted(found) == [("coupon", "unknown_field"), ("currency", "type"), ("total", "required")]


def test_enum_and_nullable_rules() -> None:
    payment = find_contract(CONTRACTS, "payment_processed")
    with pytest.raises(InvalidEventError) as exc:
        ContractCodec(payment, 1).to_datum(payment_processed(status="PAID"))
    assert [(e.path, e.rule) for e in exc.value.errors] == [("status", "enum")]
    assert "'PAID' is not one of AUTHORISED, DECLINED, REFUNDED" in str(exc.value)


# -- encoding ------------------------------------------------------------------------------------------------------


def test_encoded_record_is_framed_avro_that_fastavro_reads() -> None:
    codec = ContractCodec(ORDER, 7)
    key, value = codec.encode(GOOD)
    assert key == GOOD["order_id"].encode()
    assert unframe(value)[0] == 7
    record = fastavro.schemaless_reader(io.BytesIO(value[5:]), fastavro.parse_schema(ORDER.schema), None)
    assert isinstance(record, dict)
    assert record["total"] == Decimal("53.96") and str(record["order_id"]) == GOOD["order_id"]
    assert codec.decode(value)["lines"][0]["product_id"] == "SKU-1"


# -- producer ------------------------------------------------------------------------------------------------------


def test_valid_events_go_to_the_topic_keyed_invalid_ones_to_the_dlq() -> None:
    kafka = FakeKafka()
    p = producer(kafka)
    assert p.send("order_placed", GOOD, Source("http", {"request_id": "r1", "index": 0})) == ()
    errors = p.send("order_placed", changed(total=REMOVED), Source("http", {"request_id": "r1", "index": 1}))
    assert [(e.path, e.rule) for e in errors] == [("total", "required")]
    assert p.flush(1) == 0
    assert [(t, k) for t, k, _, _ in kafka.delivered] == [
        ("commerce.order_placed.v1", GOOD["order_id"].encode()),
        ("commerce.order_placed.v1.dlq", GOOD["order_id"].encode()),
    ]
    letter = read_dead_letter(kafka.delivered[1][2])
    assert letter["contract"] == "order_placed"
    assert letter["errors"] == [{"path": "total", "rule": "required", "message": "missing required field"}]
    assert letter["source"] == {"kind": "http", "request_id": "r1", "index": 1}
    assert letter["payload"]["order_id"] == GOOD["order_id"] and "total" not in letter["payload"]
    assert dict(kafka.delivered[1][3])["dp-error"] == b"total:required"
    stats = p.stats
    assert (stats.accepted, stats.rejected, stats.delivered, stats.dead_letters_delivered, stats.failed) == (
        1,
        1,
        1,
        1,
        0,
    )


def test_raw_bytes_are_kept_in_the_dead_letter() -> None:
    kafka = FakeKafka()
    p = producer(kafka)
    from dp_ingest.errors import FieldError

    p.reject(
        "page_view", [FieldError("", "not_json", "the body is not JSON")], Source("file", {"line": 3}), raw=b"{oops"
    )
    p.flush(1)
    letter = read_dead_letter(kafka.delivered[0][2])
    assert letter["payload_base64"] == "e29vcHM=" and letter["source"] == {"kind": "file", "line": 3}


def test_full_buffer_is_backpressure_not_a_silent_drop() -> None:
    kafka = FakeKafka(capacity=1)
    p = producer(kafka)
    p.send("order_placed", GOOD, Source("t"))
    kafka.poll = lambda timeout=0: 0  # type: ignore[method-assign]  # the broker does not drain the queue
    with pytest.raises(BackpressureError, match="the producer buffer is full"):
        p.send("order_placed", GOOD, Source("t"), block_s=0.1)
    assert p.stats.accepted == 1


def test_delivery_failures_are_counted_and_kept() -> None:
    kafka = FakeKafka(fail=True)
    p = producer(kafka)
    outcomes: list[tuple[bool, str | None]] = []
    p.send("order_placed", GOOD, Source("t"), on_delivery=lambda ok, err: outcomes.append((ok, err)))
    p.flush(1)
    assert outcomes == [(False, "Local: Message timed out")]
    assert p.stats.failed == 1 and p.stats.delivered == 0
    assert p.stats.failures == [f"commerce.order_placed.v1 key={GOOD['order_id'].encode()!r}: Local: Message timed out"]


def test_producer_guarantees_cannot_be_configured_away() -> None:
    overrides = {"acks": "1", "linger.ms": 5, "max.in.flight.requests.per.connection": 5}
    settings = load_settings(REPO / "config", {"DP_KAFKA_PRODUCER": json.dumps(overrides)}).settings
    conf = producer_conf(settings)
    assert conf["acks"] == "all" and conf["enable.idempotence"] is True
    # one request in flight: a broker restart cannot make librdkafka bump the epoch and re-send written records
    assert conf["max.in.flight.requests.per.connection"] == 1
    assert conf["linger.ms"] == 5 and conf["compression.type"] == "zstd"
    assert conf["queue.buffering.max.messages"] == settings.ingest.max_buffered_messages


def test_topics_from_contracts() -> None:
    specs = {s.name: s for s in topic_specs(CONTRACTS, SETTINGS)}
    assert len(specs) == 12
    assert specs["commerce.customer.v1"].config["cleanup.policy"] == "compact"
    any_timestamp = {
        "message.timestamp.after.max.ms": "9223372036854775807",
        "message.timestamp.before.max.ms": "9223372036854775807",
    }
    assert any_timestamp == ANY_TIMESTAMP
    assert specs["commerce.order_placed.v1"].config == {
        "cleanup.policy": "delete",
        "retention.ms": "-1",  # time retention counts from the event time: it would delete old replays unread
        "retention.bytes": str(1 << 30),
        **any_timestamp,
    }
    assert specs["commerce.customer.v1"].config == {
        "cleanup.policy": "compact",
        "min.compaction.lag.ms": "0",
        **any_timestamp,
    }
    assert specs["commerce.order_placed.v1"].partitions == 3
    dlq = specs["commerce.order_placed.v1.dlq"]
    assert dlq.partitions == 1
    assert dlq.config == {"cleanup.policy": "delete", "retention.ms": str(SETTINGS.ingest.dlq_retention_ms)}


def test_event_and_reference_topics_accept_any_timestamp_dead_letters_do_not() -> None:
    for spec in topic_specs(CONTRACTS, SETTINGS):
        stamped = {k: spec.config.get(k) for k in ANY_TIMESTAMP}
        assert stamped == (ANY_TIMESTAMP if spec.role in ("events", "reference") else dict.fromkeys(ANY_TIMESTAMP)), (
            spec.name
        )
    roles = sorted(s.role for s in topic_specs(CONTRACTS, SETTINGS))
    assert roles == ["dead letters"] * 6 + ["events"] * 4 + ["reference"] * 2


# -- record timestamps: the event time -----------------------------------------------------------------------------

#: GOOD's occurred_at, 2026-11-25T10:15:00.123456Z, in epoch milliseconds (the microseconds truncated)
GOOD_MS = 1795601700123


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        (dt.datetime(2026, 11, 25, 10, 15, 0, 123456, tzinfo=dt.UTC), GOOD_MS),
        (dt.datetime(2026, 11, 25, 10, 15, 0, 123456), GOOD_MS),  # naive: read as UTC
        (dt.datetime(2026, 11, 25, 11, 15, 0, 123999, tzinfo=dt.timezone(dt.timedelta(hours=1))), GOOD_MS),
        (dt.datetime(2026, 11, 25, 10, 15, 0, 124000, tzinfo=dt.UTC), GOOD_MS + 1),
        (dt.datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=dt.UTC), 1),
        (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), None),  # 0 would mean "no timestamp" to librdkafka
        (dt.datetime(1969, 12, 31, tzinfo=dt.UTC), None),
        (1795601700123456, GOOD_MS),  # timestamp-micros as a number
        (None, None),
    ],
)
def test_timestamp_ms_is_the_event_time(occurred_at: Any, expected: int | None) -> None:
    codec = ContractCodec(ORDER, 1)
    assert codec.timestamp_ms({**codec.to_datum(GOOD), "occurred_at": occurred_at}) == expected


def test_timestamp_ms_of_a_reference_record_uses_its_event_time_field() -> None:
    customer = ContractCodec(find_contract(CONTRACTS, "customer"), 1)
    assert customer.timestamp_ms({"updated_at": dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)}) == 1772355600000
    assert customer.timestamp_ms({"occurred_at": dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)}) is None


def test_producer_stamps_records_with_the_event_time_and_dead_letters_with_none() -> None:
    kafka = FakeKafka()
    p = producer(kafka)
    p.send("order_placed", GOOD, Source("t"))
    p.send_datum("order_placed", {**ContractCodec(ORDER, 1).to_datum(GOOD), "occurred_at": dt.datetime(2026, 1, 1)})
    p.send("order_placed", changed(total=REMOVED), Source("t"))
    assert kafka.timestamps == [GOOD_MS, 1767225600000, None]
    p.flush(1)
    assert [t for t, _, _, _ in kafka.delivered] == ["commerce.order_placed.v1"] * 2 + ["commerce.order_placed.v1.dlq"]


# -- records larger than Kafka takes -------------------------------------------------------------------------------

LIMIT = DEFAULT_MESSAGE_MAX_BYTES
SIZE_MESSAGE = re.compile(
    r"the encoded event is (\d+) bytes, more than the 1000000 bytes Kafka takes \(message.max.bytes\)"
)


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def test_the_producer_conf_bounds_a_record_from_the_settings_or_at_1_000_000_bytes() -> None:
    assert LIMIT == 1_000_000 and producer_conf(SETTINGS)["message.max.bytes"] == LIMIT
    assert producer(FakeKafka()).max_message_bytes == LIMIT
    overrides = {"message.max.bytes": 500_000}
    settings = load_settings(REPO / "config", {"DP_KAFKA_PRODUCER": json.dumps(overrides)}).settings
    assert producer_conf(settings)["message.max.bytes"] == 500_000
    assert EventProducer(
        settings, CONTRACTS, resolve_schema_id=lambda c: 1, producer=FakeKafka()
    ).max_message_bytes == (500_000)


def test_an_event_larger_than_kafka_takes_is_a_size_rejection_with_a_truncated_dead_letter() -> None:
    kafka = FakeKafka(max_bytes=LIMIT)  # librdkafka used to raise MSG_SIZE_TOO_LARGE out of send (a 500)
    p = producer(kafka)
    event = changed(attributes={"note": "x" * 1_500_000})
    [error] = p.send("order_placed", event, Source("http", {"request_id": "r1", "index": 0}))
    assert (error.path, error.rule) == ("", "size")
    match = SIZE_MESSAGE.fullmatch(error.message)
    assert match is not None, error.message
    assert 1_500_000 < int(match.group(1)) < 1_501_000
    assert p.flush(1) == 0
    [(topic, key, value, headers)] = kafka.delivered
    assert topic == ORDER.dlq_topic and key == GOOD["order_id"].encode() and len(value) < LIMIT
    letter = read_dead_letter(value)
    whole = compact(event)
    assert "payload" not in letter and letter["payload_truncated"] is True
    assert letter["payload_size"] == len(whole)
    assert letter["payload_sha256"] == hashlib.sha256(whole).hexdigest()
    assert base64.b64decode(letter["payload_base64"]) == whole[: 64 * 1024]
    assert letter["errors"] == [error.as_dict()] and letter["source"] == {
        "kind": "http",
        "request_id": "r1",
        "index": 0,
    }
    assert dict(headers)["dp-error"] == b":size"
    stats = p.stats
    assert (stats.accepted, stats.rejected, stats.delivered, stats.dead_letters_delivered) == (0, 1, 0, 1)


def test_an_event_of_exactly_the_bound_is_accepted_one_byte_more_is_not() -> None:
    kafka = FakeKafka(max_bytes=LIMIT)
    p = producer(kafka)
    [error] = p.send("order_placed", changed(attributes={"note": "x" * LIMIT}), Source("t"))
    match = SIZE_MESSAGE.fullmatch(error.message)
    assert match is not None
    fits = LIMIT - (int(match.group(1)) - LIMIT)
    assert p.send("order_placed", changed(attributes={"note": "x" * fits}), Source("t")) == ()
    [error] = p.send("order_placed", changed(attributes={"note": "x" * (fits + 1)}), Source("t"))
    assert error.message.startswith(f"the encoded event is {LIMIT + 1} bytes")
    assert p.flush(1) == 0
    assert [t for t, *_ in kafka.delivered] == [ORDER.dlq_topic, ORDER.topic, ORDER.dlq_topic]
    assert record_size(kafka.delivered[1][1], kafka.delivered[1][2], kafka.delivered[1][3]) == LIMIT


def test_librdkafka_refusing_a_record_as_too_large_is_the_same_rejection() -> None:
    kafka = FakeKafka(max_bytes=2000)  # librdkafka's own bound, lower than the 1,000,000 the producer read
    p = producer(kafka)
    event = changed(attributes={"note": "x" * 3000})
    [error] = p.send("order_placed", event, Source("t"))
    assert (error.path, error.rule) == ("", "size")
    assert error.message.startswith("the encoded event is ") and "Message size too large" in error.message
    assert p.flush(1) == 0
    [(topic, _, value, _)] = kafka.delivered  # the dead letter too was cut down until librdkafka took it
    letter = read_dead_letter(value)
    assert topic == ORDER.dlq_topic and letter["payload_truncated"] is True
    assert letter["payload_size"] == len(compact(event)) and len(value) < 2000


@pytest.mark.parametrize(
    "event",
    [
        changed(coupon="x" * 2_000_000),  # a contract error on a large event: the payload is cut
        {**GOOD, "k" * 2_000_000: 1},  # the reason itself is large (an unknown field's name)
        {**GOOD, **{f"unknown_{i:06d}_{'y' * 20}": i for i in range(60_000)}},  # and many
        changed(order_id="x" * 2_000_000),  # the key of the dead letter is large: it has none
    ],
    ids=["payload", "long-reason", "many-reasons", "long-key"],
)
def test_a_dead_letter_always_fits_in_a_record(event: dict[str, Any]) -> None:
    kafka = FakeKafka(max_bytes=LIMIT)
    p = producer(kafka)
    errors = p.send("order_placed", event, Source("t"))
    assert errors and errors[0].rule != "size"
    assert p.flush(1) == 0
    [(topic, key, value, headers)] = kafka.delivered
    assert topic == ORDER.dlq_topic and record_size(key, value, headers) <= LIMIT
    assert key is None or len(key) <= 1024
    letter = read_dead_letter(value)
    assert letter["payload_truncated"] is True and letter["payload_size"] == len(compact(event))
    assert len(dict(headers)["dp-error"]) < 300
    if len(compact([e.as_dict() for e in errors])) > LIMIT // 2:
        assert letter["errors_total"] == len(errors) and 1 <= len(letter["errors"]) <= 100


def test_raw_bytes_too_large_for_kafka_are_kept_truncated() -> None:
    kafka = FakeKafka(max_bytes=LIMIT)
    p = producer(kafka)
    raw = b"{" + b"x" * 3_000_000
    p.reject("page_view", [FieldError("", "not_json", "not JSON")], Source("file", {"line": 7}), raw=raw)
    assert p.flush(1) == 0
    letter = read_dead_letter(kafka.delivered[0][2])
    assert base64.b64decode(letter["payload_base64"]) == raw[: 64 * 1024]
    assert (letter["payload_size"], letter["payload_sha256"]) == (len(raw), hashlib.sha256(raw).hexdigest())
    assert letter["errors"] == [{"path": "", "rule": "not_json", "message": "not JSON"}]


def test_send_datum_refuses_a_record_larger_than_kafka_takes() -> None:
    p = producer(FakeKafka(max_bytes=LIMIT))
    datum = {**ContractCodec(ORDER, 1).to_datum(GOOD), "attributes": {"note": "x" * LIMIT}}
    with pytest.raises(MessageTooLargeError, match=r"the encoded event is \d+ bytes, more than the 1000000 bytes"):
        p.send_datum("order_placed", datum)
    assert p.stats.accepted == 0


def test_a_dead_letter_is_strict_json_even_with_a_non_finite_number() -> None:
    kafka = FakeKafka()
    p = EventProducer(SETTINGS, CONTRACTS, resolve_schema_id=lambda c: 1, producer=kafka)
    errors = p.send("order_placed", changed(total=float("inf"), tax=float("nan")), Source("test", {}))
    assert errors
    p.flush(1)
    [(topic, _, value, _)] = kafka.delivered
    body = json.loads(value, parse_constant=lambda name: pytest.fail(f"bare {name} in a dead letter"))
    assert topic == "commerce.order_placed.v1.dlq" and (body["payload"]["total"], body["payload"]["tax"]) == (
        "inf",
        "nan",
    )
