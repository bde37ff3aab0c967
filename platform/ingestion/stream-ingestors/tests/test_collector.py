"""The HTTP collector on an in-memory producer: every status code, the dead letters, metrics, health, shutdown.

The producer is the real :class:`~dp_ingest.producer.EventProducer` (real validation, real Avro encoding, real
dead letters) over :class:`~dp_stream_ingestors.collector.memory.InMemoryProducer`, which stands in for
librdkafka: a bounded buffer, delivery reports served by ``poll``, a cluster that can go down.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import KafkaError
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import ClientDisconnect
from starlette.types import Message

from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_contracts.testing import page_view
from dp_core.config import PlatformSettings, find_config_dir, load_settings
from dp_core.errors import ConfigError
from dp_ingest.codec import ContractCodec
from dp_ingest.dlq import read_dead_letter
from dp_ingest.producer import EventProducer, record_size
from dp_stream_ingestors.collector import Collector, Tuning, create_app
from dp_stream_ingestors.collector import errors as collector_errors
from dp_stream_ingestors.collector.body import (
    MAX_JSON_DEPTH,
    Batch,
    body_format,
    nesting_exceeds,
    parse_body,
    read_body,
    read_limited,
)
from dp_stream_ingestors.collector.deps import HttpTuning
from dp_stream_ingestors.collector.health import BrokerHealth, RequestSlots
from dp_stream_ingestors.collector.memory import InMemoryProducer
from dp_stream_ingestors.collector.metrics import Metrics
from dp_stream_ingestors.collector.service import RequestDelivery, _ranges

CONFIG_DIR = find_config_dir(Path(__file__).resolve().parent, {})
REPO = CONFIG_DIR.parent
CONTRACTS = load_contracts(contracts_dir(REPO))
PAGE_VIEW = find_contract(CONTRACTS, "page_view")
TOPIC, DLQ = PAGE_VIEW.topic, PAGE_VIEW.dlq_topic
MAX_BODY = 4096
MAX_EVENTS = 8
BUFFER = 10
RETRY_AFTER = 7
NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}
#: today's behaviour: a 202 once the records are in the producer's buffer (tests of what happens before delivery)
BUFFERED = {"DP_INGEST_COLLECTOR__ACK": "buffered"}
TIMED_OUT = KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out")
FAST = Tuning(stall_s=30.0, send_block_s=0.05, poll_interval_s=0.01, probe_interval_s=0.02, probe_timeout_s=0.1)
DEFAULT_HTTP = HttpTuning()


def limited_settings(**env: str) -> PlatformSettings:
    """The repo's settings with small, exact limits (through the loader, as ``DP_*`` variables set them)."""
    environ = {
        "DP_INGEST_COLLECTOR__MAX_BODY_BYTES": str(MAX_BODY),
        "DP_INGEST_COLLECTOR__MAX_EVENTS_PER_REQUEST": str(MAX_EVENTS),
        "DP_INGEST_COLLECTOR__RETRY_AFTER_S": str(RETRY_AFTER),
        "DP_INGEST_MAX_BUFFERED_MESSAGES": str(BUFFER),
        "DP_INGEST_COLLECTOR__ACK_TIMEOUT_S": "5",  # a request waiting for reports that never come fails fast
        **env,
    }
    return load_settings(CONFIG_DIR, environ, env="local").settings


class Harness:
    """A collector app over an in-memory producer, with a test client running its lifespan."""

    def __init__(
        self, fake: InMemoryProducer, settings: PlatformSettings, tuning: Tuning, http_tuning: HttpTuning
    ) -> None:
        self.fake = fake
        self.settings = settings

        def factory(s: PlatformSettings, contracts: list[Contract], conf: Mapping[str, Any]) -> EventProducer:
            return EventProducer(s, contracts, resolve_schema_id=lambda _: 1, producer=fake.configure(conf))

        self.app: FastAPI = create_app(
            settings, CONTRACTS, factory, broker_probe=fake.probe, tuning=tuning, http_tuning=http_tuning
        )
        self.collector: Collector = self.app.state.collector
        self.client = TestClient(self.app)
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-post")

    def post(self, events: Any, contract: str = "page_view", **kwargs: Any) -> Any:
        return self.client.post(f"/v1/events/{contract}", json=events, **kwargs)

    def post_waiting(self, events: Any, produced: int) -> Future[Any]:
        """Post from another thread; return once the request has produced ``produced`` records (it may be waiting
        for their delivery reports now)."""
        answer = self.pool.submit(self.post, events)
        self.wait_for(lambda: len(self.fake) == produced or answer.done(), f"{produced} records produced")
        return answer

    def ack_waits(self) -> dict[str, float]:
        """``dp_collector_ack_wait_seconds_count`` by outcome."""
        metric = "dp_collector_ack_wait_seconds_count"
        values = self.metrics()
        return {o: values[f'{metric}{{outcome="{o}"}}'] for o in ("delivered", "not_delivered", "delivery_pending")}

    def async_client(self) -> httpx.AsyncClient:
        """A client calling the app in the test's own event loop (the lifespan runs in ``client``'s)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://collector")

    def metrics(self) -> dict[str, float]:
        return metric_values(self.client.get("/metrics").text)

    def topic(self, name: str = TOPIC) -> list[dict[str, Any]]:
        codec = ContractCodec(PAGE_VIEW, 1)
        return [codec.decode(m.value()) for m in self.fake.messages(name)]

    def ids(self) -> list[str]:
        """The event ids on the page_view topic, in order."""
        return [str(e["event_id"]) for e in self.topic()]

    def dead_letters(self) -> list[dict[str, Any]]:
        return [read_dead_letter(m.value()) for m in self.fake.messages(DLQ)]

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.01)

    def settle(self) -> None:
        """Wait until the background poller has served every delivery report."""
        self.wait_for(lambda: self.collector.records_pending() == 0, "deliveries")


HarnessFactory = Callable[..., Harness]


@pytest.fixture
def make_harness() -> Iterator[HarnessFactory]:
    harnesses: list[Harness] = []

    def make(
        capacity: int | None = None,
        auto_deliver: bool = True,
        tuning: Tuning = FAST,
        http_tuning: HttpTuning = DEFAULT_HTTP,
        **env: str,
    ) -> Harness:
        harness = Harness(InMemoryProducer(capacity, auto_deliver), limited_settings(**env), tuning, http_tuning)
        harness.client.__enter__()
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        harness.client.__exit__(None, None, None)
        harness.pool.shutdown(cancel_futures=True)


@pytest.fixture
def harness(make_harness: HarnessFactory) -> Harness:
    return make_harness()


def health(**changes: Any) -> dict[str, Any]:
    """The ``/healthz`` answer of a connected collector with nothing in flight, ``changes`` on top."""
    return {
        "status": "ok",
        "broker": "up",
        "detail": "connected",
        "draining": False,
        "records_pending": 0,
        "requests": "ok",
        "in_flight": 0,
        "max_concurrent_requests": FAST.max_concurrent_requests,
        **changes,
    }


def metric_values(text: str) -> dict[str, float]:
    """``name{labels}`` -> value of every sample line."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


# ---------------------------------------------------------------------------------------------------------- 202


def test_mixed_batch_is_accepted_with_exact_per_event_errors_and_rejects_are_dead_lettered(harness: Harness) -> None:
    good = [page_view(), page_view(device="TABLET"), page_view()]
    bad_unknown = page_view(color="red")
    bad_format = page_view(event_id="not-a-uuid", page_type="LANDING")
    not_an_object = ["a list"]
    events = [good[0], bad_unknown, good[1], bad_format, not_an_object, good[2]]

    response = harness.post(events)

    assert response.status_code == 202
    body = response.json()
    request_id = body["request_id"]
    assert response.headers["x-request-id"] == request_id
    assert body == {
        "request_id": request_id,
        "accepted": 3,
        "rejected": 3,
        "errors": [
            {
                "index": 1,
                "errors": [{"path": "color", "rule": "unknown_field", "message": "not a field of the contract"}],
            },
            {
                "index": 3,
                "errors": [
                    {
                        "path": "event_id",
                        "rule": "format",
                        "message": "'not-a-uuid' is not a uuid (8-4-4-4-12 hex digits)",
                    },
                    {
                        "path": "page_type",
                        "rule": "enum",
                        "message": "'LANDING' is not one of HOME, CATEGORY, PRODUCT, SEARCH, CART, CHECKOUT, OTHER",
                    },
                ],
            },
            {"index": 4, "errors": [{"path": "", "rule": "type", "message": "expected object, got list"}]},
        ],
    }
    harness.settle()
    produced = harness.topic()
    assert [str(e["event_id"]) for e in produced] == [e["event_id"] for e in good]
    assert produced[1]["device"] == "TABLET" and produced[0]["url"] == "/p/42?ref=home"
    assert [m.key() for m in harness.fake.messages(TOPIC)] == [e["session_id"].encode() for e in good]

    letters = harness.dead_letters()
    assert [letter["payload"] for letter in letters] == [bad_unknown, bad_format, not_an_object]
    assert [letter["source"] for letter in letters] == [
        {"kind": "http", "request_id": request_id, "index": i} for i in (1, 3, 4)
    ]
    assert [letter["errors"] for letter in letters] == [e["errors"] for e in body["errors"]]
    assert {letter["contract"] for letter in letters} == {"page_view"}
    assert {letter["topic"] for letter in letters} == {TOPIC}
    headers = dict(harness.fake.messages(DLQ)[1].headers() or [])
    assert headers["dp-error"] == b"event_id:format"
    assert headers["dp-source"] == f"http request_id={request_id} index=3".encode()


def test_a_single_object_is_one_event_and_an_empty_array_is_nothing(harness: Harness) -> None:
    event = page_view()
    response = harness.post(event)
    assert response.status_code == 202
    assert (response.json()["accepted"], response.json()["rejected"]) == (1, 0)
    empty = harness.post([])
    assert empty.status_code == 202 and (empty.json()["accepted"], empty.json()["rejected"]) == (0, 0)
    harness.settle()
    assert harness.ids() == [event["event_id"]]


def test_ndjson_reports_lines_and_skips_blank_ones(harness: Harness) -> None:
    events = [page_view(), page_view(url=None), page_view()]
    text = f"{json.dumps(events[0])}\n\n{json.dumps(events[1])}\r\n{json.dumps(events[2])}\n"
    response = harness.client.post("/v1/events/page_view", content=text.encode(), headers=NDJSON)
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"] == [
        {"index": 1, "line": 3, "errors": [{"path": "url", "rule": "null", "message": "must not be null"}]}
    ]
    harness.settle()
    assert harness.ids() == [events[0]["event_id"], events[2]["event_id"]]
    assert harness.dead_letters()[0]["source"] == {
        "kind": "http",
        "request_id": body["request_id"],
        "index": 1,
        "line": 3,
    }


# ---------------------------------------------------------------------------------------------------------- 4xx


def test_bad_json_is_400_and_nothing_is_produced(harness: Harness) -> None:
    response = harness.client.post(
        "/v1/events/page_view", content=b'[{"event_id": 1},', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "malformed_body"
    assert body["message"] == "the body is not valid JSON: Expecting value at line 1, column 18"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    assert len(harness.fake) == 0 and harness.fake.topics == {}


def test_a_bad_ndjson_line_rejects_the_whole_request_naming_the_line(harness: Harness) -> None:
    text = "\n".join([json.dumps(page_view()), json.dumps(page_view()), '{"event_id": "x",', json.dumps(page_view())])
    response = harness.client.post("/v1/events/page_view", content=text.encode(), headers=NDJSON)
    assert response.status_code == 400
    body = response.json()
    assert body["line"] == 3
    assert body["message"].startswith("line 3 is not valid JSON: Expecting property name enclosed in double quotes")
    assert body["message"].endswith("nothing of this request was taken")
    time.sleep(0.05)
    assert len(harness.fake) == 0 and harness.fake.topics == {}
    assert harness.collector.accepted == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'"a string"', "the body is a JSON str; expected a JSON array of events or one event object"),
        (b"", "the body is empty; expected a JSON array of events or one event object"),
        (b"[NaN]", "the body is not valid JSON: NaN is not valid JSON"),
        (b"[\xff]", "the body is not UTF-8: 'utf-8' codec can't decode byte 0xff in position 1: invalid start byte"),
    ],
)
def test_other_unparsable_bodies_are_400(harness: Harness, content: bytes, message: str) -> None:
    response = harness.client.post(
        "/v1/events/page_view", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == message


def nested(depth: int, inner: str = "") -> str:
    """``depth`` arrays one in the other: ``[[...]]``."""
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    ("body", "headers", "line"),
    [
        (nested(10_000), JSON, None),
        (nested(MAX_JSON_DEPTH + 1), JSON, None),
        ('[{"event_id": ' + nested(5_000) + "}]", JSON, None),
        (json.dumps(page_view()) + "\n" + nested(10_000), NDJSON, 2),
        (json.dumps(page_view()) + '\n\n{"url": ' + nested(MAX_JSON_DEPTH) + "}\n", NDJSON, 3),
    ],
    ids=["array-10000", "array-65", "in-a-field", "ndjson-10000", "ndjson-65"],
)
def test_deeply_nested_json_is_400_and_nothing_is_produced(
    make_harness: HarnessFactory,
    caplog: pytest.LogCaptureFixture,
    body: str,
    headers: dict[str, str],
    line: int | None,
) -> None:
    harness = make_harness(DP_INGEST_COLLECTOR__MAX_BODY_BYTES=str(64 * 1024))
    with caplog.at_level(logging.ERROR):
        response = harness.client.post("/v1/events/page_view", content=body.encode(), headers=headers)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["request_id"] == response.headers["x-request-id"]
    assert answer["error"] == "too_deeply_nested" and answer["limit"] == MAX_JSON_DEPTH
    where = "the body" if line is None else f"line {line}"
    assert answer["message"].startswith(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep")
    assert answer.get("line") == line
    assert "Traceback" not in response.text and not caplog.records
    harness.settle()
    assert len(harness.fake) == 0 and harness.fake.topics == {}


def test_nesting_up_to_the_limit_is_parsed_and_judged_by_the_contract(harness: Harness) -> None:
    response = harness.client.post("/v1/events/page_view", content=nested(MAX_JSON_DEPTH).encode(), headers=JSON)
    assert response.status_code == 202  # the outer array is the batch, its one event a 63-level list
    assert response.json()["errors"][0]["errors"][0]["rule"] == "type"
    line = json.dumps({**page_view(), "url": json.loads(nested(MAX_JSON_DEPTH - 1))})
    response = harness.client.post("/v1/events/page_view", content=line.encode(), headers=NDJSON)
    assert response.status_code == 202 and response.json()["rejected"] == 1
    harness.settle()
    assert len(harness.dead_letters()) == 2


def test_unknown_contract_is_404_listing_the_known_ones(harness: Harness) -> None:
    response = harness.post([page_view()], contract="page_views")
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "unknown_contract"
    assert body["known"] == ["cart_updated", "customer", "order_placed", "page_view", "payment_processed", "product"]
    assert "unknown contract 'page_views'" in body["message"]
    assert harness.client.get("/v2/nothing").status_code == 404
    assert harness.client.get("/v1/events/page_view").status_code == 405


def test_a_body_above_max_body_bytes_is_413_by_its_declared_length(harness: Harness) -> None:
    events = [page_view(url="/" + "x" * 1500) for _ in range(3)]
    content = json.dumps(events).encode()
    assert len(content) > MAX_BODY
    response = harness.client.post(
        "/v1/events/page_view", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "body_too_large" and body["limit"] == MAX_BODY
    assert f"the body has {len(content)} bytes; at most {MAX_BODY} are accepted" in body["message"]
    assert harness.fake.topics == {}


def test_a_body_without_length_is_413_as_soon_as_it_grows_past_the_limit(harness: Harness) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield b"["
        for i in range(50):  # 50 x 200 bytes, far above the limit
            sent.append(i)
            yield json.dumps(page_view(url="/" + "y" * 120)).encode() + b","
        yield b"{}]"

    response = harness.client.post(
        "/v1/events/page_view", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["message"] == f"the body is larger than {MAX_BODY} bytes (ingest.collector.max_body_bytes)"
    assert harness.fake.topics == {}


def test_more_events_than_max_events_per_request_is_413(harness: Harness) -> None:
    response = harness.post([{} for _ in range(MAX_EVENTS + 1)])
    assert response.status_code == 413
    assert response.json()["error"] == "too_many_events" and response.json()["limit"] == MAX_EVENTS
    ndjson = "\n".join("{}" for _ in range(MAX_EVENTS + 1)).encode()
    response = harness.client.post("/v1/events/page_view", content=ndjson, headers=NDJSON)
    assert response.status_code == 413
    assert harness.post([{} for _ in range(MAX_EVENTS)]).status_code == 202  # the limit itself is fine


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "application/json; charset=latin-1"},
        {"content-type": "application/json", "content-encoding": "gzip"},
        {},
    ],
)
def test_unsupported_content_types_are_415(harness: Harness, headers: dict[str, str]) -> None:
    response = harness.client.post("/v1/events/page_view", content=b"[]", headers=headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert "application/x-ndjson" in response.json()["supported"]


def test_json_with_utf8_charset_is_fine(harness: Harness) -> None:
    headers = {"content-type": "application/json; charset=UTF-8"}
    assert harness.client.post("/v1/events/page_view", content=b"[]", headers=headers).status_code == 202


# ---------------------------------------------------------------------------------------------------------- 503


def test_a_full_buffer_is_503_with_retry_after_and_nothing_of_the_request_is_taken(
    make_harness: HarnessFactory,
) -> None:
    harness = make_harness(auto_deliver=False)
    first = [page_view() for _ in range(7)]
    waiting = harness.post_waiting(first, 7)  # waits for Kafka, its 7 records in the buffer
    second = [page_view() for _ in range(4)]  # 7 + 4 > 10

    refused = harness.post(second)

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(RETRY_AFTER)
    body = refused.json()
    assert body["error"] == "unavailable" and body["retry_after_s"] == RETRY_AFTER
    assert body["buffered"] == 7 and body["capacity"] == BUFFER
    assert "nothing of it was taken" in body["message"]
    assert len(harness.fake) == 7
    assert not waiting.done()
    harness.fake.auto_deliver = True  # Kafka catches up
    assert waiting.result(5).status_code == 202
    assert harness.post(second).status_code == 202
    assert harness.ids() == [e["event_id"] for e in first + second]


def test_a_buffer_refusal_part_way_says_exactly_how_far_the_request_got(make_harness: HarnessFactory) -> None:
    harness = make_harness()
    harness.fake.buffer_error_after = 3  # e.g. librdkafka's byte bound, which the headroom check cannot see
    events = [page_view(), page_view(url=None), page_view(), page_view(), page_view()]

    response = harness.post(events)

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER)
    body = response.json()
    assert body["error"] == "interrupted"
    assert (body["processed"], body["accepted"], body["rejected"]) == (3, 2, 1)
    assert body["errors"] == [{"index": 1, "errors": [{"path": "url", "rule": "null", "message": "must not be null"}]}]
    assert "resend the events from index 3 on" in body["message"]
    harness.fake.buffer_error_after = None
    harness.settle()
    assert harness.ids() == [events[0]["event_id"], events[2]["event_id"]]
    assert len(harness.dead_letters()) == 1
    assert harness.collector.accepted == 2 and harness.collector.rejected == 1


def test_an_event_larger_than_kafka_takes_is_rejected_in_the_202_and_dead_lettered_truncated(
    make_harness: HarnessFactory, size_rejected: Callable[..., Any]
) -> None:
    # the body fits (max_body_bytes 4096), the record does not (message.max.bytes 2000): it used to be a 500
    # "interrupted, resend from 1" that no resend could ever get past
    harness = make_harness(DP_KAFKA_PRODUCER=json.dumps({"message.max.bytes": 2000}))
    assert harness.collector.producer.max_message_bytes == 2000
    big = page_view(url="/" + "x" * 2500)
    events = [page_view(), big, page_view(), page_view()]

    response = harness.post(events)

    rejection = size_rejected(response, 3, 1, 2000)
    body, problem = rejection.body, rejection.problem
    assert 2500 < rejection.size < 2700
    harness.settle()
    assert harness.ids() == [events[i]["event_id"] for i in (0, 2, 3)]
    [letter] = harness.dead_letters()
    whole = json.dumps(big, separators=(",", ":")).encode()
    assert letter["source"] == {"kind": "http", "request_id": body["request_id"], "index": 1}
    assert letter["errors"] == [problem] and "payload" not in letter
    assert letter["payload_truncated"] is True and letter["payload_size"] == len(whole)
    assert letter["payload_sha256"] == hashlib.sha256(whole).hexdigest()
    head = base64.b64decode(letter["payload_base64"])
    assert 0 < len(head) < len(whole) and whole.startswith(head)
    for message in [*harness.fake.messages(TOPIC), *harness.fake.messages(DLQ)]:
        assert record_size(message.key(), message.value(), message.headers()) <= 2000
    assert harness.collector.accepted == 3 and harness.collector.rejected == 1


def test_librdkafka_refusing_a_record_as_too_large_is_a_rejection_never_a_500(
    sized_kafka: Callable[[int | None], InMemoryProducer],
) -> None:
    # librdkafka with a lower message.max.bytes than the producer core read
    harness = Harness(sized_kafka(1500), limited_settings(), FAST, DEFAULT_HTTP)
    with harness.client:
        events = [page_view(), page_view(url="/" + "x" * 2500), page_view()]
        response = harness.post(events)
        assert response.status_code == 202, response.text
        body = response.json()
        assert (body["accepted"], body["rejected"]) == (2, 1)
        [problem] = body["errors"][0]["errors"]
        assert problem["rule"] == "size" and "Message size too large" in problem["message"]
        harness.settle()
        assert harness.ids() == [events[0]["event_id"], events[2]["event_id"]]
        [letter] = harness.dead_letters()
        assert letter["payload_truncated"] is True and letter["source"]["index"] == 1


def test_broker_down_is_503_until_it_is_back(harness: Harness) -> None:
    assert harness.client.get("/healthz").status_code == 200
    harness.fake.take_down()  # the next poll serves _ALL_BROKERS_DOWN; probes fail
    harness.wait_for(lambda: harness.client.get("/healthz").status_code == 503, "healthz 503")

    health = harness.client.get("/healthz").json()
    assert health["broker"] == "down" and health["status"] == "unavailable"
    assert "all broker connections are down" in health["detail"] or "unreachable" in health["detail"]
    refused = harness.post([page_view()])
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(RETRY_AFTER)
    assert refused.json()["broker"] == "down"
    assert refused.json()["message"].startswith("Kafka is not taking records: ")

    harness.fake.bring_back()
    harness.wait_for(lambda: harness.client.get("/healthz").status_code == 200, "healthz 200")
    event = page_view()
    assert harness.post([event]).status_code == 202
    harness.settle()
    assert harness.ids() == [event["event_id"]]


def test_records_waiting_with_no_delivery_for_stall_s_is_503(make_harness: HarnessFactory) -> None:
    harness = make_harness(
        auto_deliver=False,
        tuning=Tuning(stall_s=0.5, send_block_s=0.05, poll_interval_s=0.01, probe_interval_s=0.02),
        **BUFFERED,
    )
    assert harness.post([page_view()]).status_code == 202
    assert harness.post([page_view()]).status_code == 202  # not stalled yet
    time.sleep(0.6)
    refused = harness.post([page_view()])
    assert refused.status_code == 503
    assert "no delivery acknowledged for" in refused.json()["message"]
    assert harness.client.get("/healthz").status_code == 503
    harness.fake.deliver()
    harness.settle()
    assert harness.post([page_view()]).status_code == 202


def test_too_many_requests_in_flight_is_503(make_harness: HarnessFactory) -> None:
    harness = make_harness(tuning=Tuning(max_concurrent_requests=0, probe_interval_s=0.02))
    response = harness.post([page_view()])
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER)
    assert "requests are being processed" in response.json()["message"]


def test_while_shutting_down_every_request_is_503(harness: Harness) -> None:
    harness.collector.begin_drain()
    for response in (harness.post([page_view()]), harness.client.get("/healthz"), harness.client.get("/metrics")):
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER)
        assert response.headers["connection"] == "close"
        assert "shutting down" in response.json()["message"]
    assert harness.fake.topics == {}


def test_a_request_in_flight_when_the_shutdown_begins_is_finished(harness: Harness) -> None:
    produce = harness.fake.produce

    def produce_then_signal(*args: Any, **kwargs: Any) -> None:
        harness.collector.begin_drain()  # SIGTERM arrives while the request is being produced
        produce(*args, **kwargs)

    harness.fake.produce = produce_then_signal  # type: ignore[method-assign]
    events = [page_view() for _ in range(5)]
    response = harness.post(events)
    assert response.status_code == 202 and response.json()["accepted"] == 5
    assert harness.post([page_view()]).status_code == 503  # the next one is refused
    summary = harness.collector.drain(5.0)
    assert summary.ok and summary.delivered == 5
    assert harness.ids() == [e["event_id"] for e in events]


# ---------------------------------------------------------------------------------------- ack: delivered / buffered


def test_a_202_waits_until_kafka_has_every_record_of_the_request(make_harness: HarnessFactory) -> None:
    harness = make_harness(auto_deliver=False)  # ack: delivered, the default
    events = [page_view(), page_view(url=None), page_view()]

    waiting = harness.post_waiting(events, 3)
    time.sleep(0.2)
    assert not waiting.done() and harness.collector.in_flight == 1  # waiting for Kafka, in its request slot
    assert harness.fake.topics == {}
    harness.fake.auto_deliver = True  # the poll thread serves the delivery reports
    response = waiting.result(5)

    assert response.status_code == 202, response.text
    assert (response.json()["accepted"], response.json()["rejected"]) == (2, 1)
    # at answer time Kafka has every record of the request, event and dead letter
    assert harness.ids() == [events[0]["event_id"], events[2]["event_id"]]
    assert [letter["source"]["index"] for letter in harness.dead_letters()] == [1]
    assert harness.collector.records_pending() == 0 and harness.collector.in_flight == 0
    event = page_view()
    assert harness.post([event]).status_code == 202
    assert harness.ids()[-1] == event["event_id"]  # no settle(): answered after its delivery
    assert harness.post([]).status_code == 202  # nothing to wait for
    assert harness.ack_waits() == {"delivered": 3, "not_delivered": 0, "delivery_pending": 0}


def delivery_503(waiting: Future[Any]) -> dict[str, Any]:
    """The answer of a request that waited for its delivery reports: a 503 with ``Retry-After``; its body without
    ``request_id`` (checked against ``X-Request-Id``) and ``retry_after_s`` (checked)."""
    response = waiting.result(5)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER)
    body: dict[str, Any] = response.json()
    assert body.pop("request_id") == response.headers["x-request-id"]
    assert body.pop("retry_after_s") == RETRY_AFTER
    return body


def test_an_interrupted_request_waits_for_what_it_produced_and_names_what_kafka_lacks(
    make_harness: HarnessFactory,
) -> None:
    harness = make_harness(auto_deliver=False, DP_INGEST_COLLECTOR__ACK_TIMEOUT_S="0.3")
    harness.fake.buffer_error_after = 3  # the producer refuses the fourth record: events 0-2 were taken
    events = [page_view(), page_view(url=None), page_view(), page_view(), page_view()]
    waiting = harness.post_waiting(events, 3)
    time.sleep(0.1)
    assert not waiting.done()  # it waits for the reports of the three records it produced
    harness.fake.deliver(1)  # event 0 written
    harness.fake.deliver(1, error=TIMED_OUT)  # the dead letter of event 1 refused; event 2 never acknowledged

    answer = delivery_503(waiting)

    assert answer["error"] == "interrupted"
    assert (answer["processed"], answer["accepted"], answer["rejected"]) == (3, 2, 1)
    assert answer["undelivered"] == [1] and answer["pending"] == [2]
    assert harness.ids() == [events[0]["event_id"]]


def test_records_kafka_refuses_are_a_503_naming_exactly_their_events(make_harness: HarnessFactory) -> None:
    harness = make_harness(auto_deliver=False)
    events = [page_view(), page_view(url=None), page_view(), page_view(), page_view()]
    waiting = harness.post_waiting(events, 5)
    for error in (None, TIMED_OUT, None, TIMED_OUT, None):  # the reports, in produce order
        harness.fake.deliver(1, error=error)

    answer = delivery_503(waiting)

    assert answer == {
        "error": "not_delivered",
        "message": "Kafka did not take the record(s) of 2 event(s) of this request; the others are written: "
        "resend only the events listed in undelivered",
        "accepted": 4,
        "rejected": 1,
        "errors": [{"index": 1, "errors": [{"path": "url", "rule": "null", "message": "must not be null"}]}],
        "undelivered": [1, 3],  # the dead letter of event 1, event 3
    }
    assert harness.ids() == [events[i]["event_id"] for i in (0, 2, 4)]
    assert harness.dead_letters() == []
    collector = harness.collector
    assert (collector.accepted, collector.rejected, collector.delivered, collector.failed) == (4, 1, 3, 2)
    assert harness.ack_waits() == {"delivered": 0, "not_delivered": 1, "delivery_pending": 0}
    assert harness.metrics()['dp_collector_requests_total{route="events",status="503"}'] == 1


def test_a_cluster_that_stops_acknowledging_is_a_503_naming_the_pending_events(make_harness: HarnessFactory) -> None:
    harness = make_harness(auto_deliver=False, DP_INGEST_COLLECTOR__ACK_TIMEOUT_S="0.3")
    events = [page_view() for _ in range(5)]
    waiting = harness.post_waiting(events, 5)
    harness.fake.deliver(2)
    harness.fake.take_down()  # the rest wait in the producer, which keeps retrying them

    answer = delivery_503(waiting)

    assert answer == {
        "error": "delivery_pending",
        "message": "Kafka has not acknowledged the record(s) of 3 event(s) of this request after 0.3 s "
        "(ingest.collector.ack_timeout_s); the producer retries them until ingest.delivery_timeout_ms, so they "
        "will most likely be written: resending the events listed in pending may write them twice",
        "accepted": 5,
        "rejected": 0,
        "errors": [],
        "pending": [2, 3, 4],
    }
    assert harness.ids() == [e["event_id"] for e in events[:2]]
    assert harness.collector.records_pending() == 3  # still in the ledger...
    harness.fake.bring_back()
    harness.fake.auto_deliver = True
    harness.settle()
    assert harness.ids() == [e["event_id"] for e in events]  # ...and written after all, once each
    assert harness.collector.failed == 0
    assert harness.ack_waits() == {"delivered": 0, "not_delivered": 0, "delivery_pending": 1}


def test_ack_buffered_answers_once_the_records_are_in_the_producer_buffer(make_harness: HarnessFactory) -> None:
    harness = make_harness(auto_deliver=False, **BUFFERED)
    events = [page_view(), page_view(url=None)]

    response = harness.post(events)

    assert response.status_code == 202 and (response.json()["accepted"], response.json()["rejected"]) == (1, 1)
    assert harness.fake.topics == {} and harness.collector.records_pending() == 2  # not in Kafka yet
    harness.fake.auto_deliver = True
    harness.settle()
    assert harness.ids() == [events[0]["event_id"]] and len(harness.dead_letters()) == 1
    assert harness.ack_waits() == {"delivered": 0, "not_delivered": 0, "delivery_pending": 0}


def test_ack_settings() -> None:
    collector = limited_settings().ingest.collector
    assert (collector.ack, collector.ack_timeout_s) == ("delivered", 5)
    assert load_settings(CONFIG_DIR, {}, env="local").settings.ingest.collector.ack_timeout_s == 30
    for key, value, problem in [
        ("ACK", "sometimes", "ingest.collector.ack: Input should be 'delivered' or 'buffered'"),
        ("ACK_TIMEOUT_S", "0", "ingest.collector.ack_timeout_s: Input should be greater than 0"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(problem)):
            limited_settings(**{f"DP_INGEST_COLLECTOR__{key}": value})


def test_request_delivery_completes_once_sealed_and_every_report_is_in() -> None:
    calls: list[str] = []
    delivery = RequestDelivery(lambda: calls.append("done"), pending={0, 1, 2})
    delivery.report(1, ok=False)
    delivery.report(0, ok=True)
    assert not calls  # index 2 still waits
    delivery.report(2, ok=True)
    assert not calls  # the request is still producing
    delivery.seal()
    assert calls == ["done"] and delivery.done and delivery.undelivered == [1]
    delivery.report(2, ok=True)
    assert calls == ["done"]  # once
    empty = RequestDelivery(lambda: calls.append("empty"))
    empty.seal()
    assert calls == ["done", "empty"]


# ------------------------------------------------------------------------------------ slow and vanished clients


def http_scope(path: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """The ASGI scope of an HTTP/1.1 POST, as uvicorn builds it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8090),
    }


def test_a_body_slower_than_the_deadline_is_408_and_frees_its_slot(make_harness: HarnessFactory) -> None:
    harness = make_harness(http_tuning=HttpTuning(body_timeout_s=0.2))

    async def trickle() -> Any:  # announces 1000 bytes, sends 14, then stalls
        yield b'[{"event_id": '
        await asyncio.sleep(30)
        yield b"1}]"

    async def scenario() -> tuple[httpx.Response, float, int]:
        async with harness.async_client() as client:
            started = time.monotonic()
            post = asyncio.create_task(
                client.post("/v1/events/page_view", content=trickle(), headers={**JSON, "content-length": "1000"})
            )
            while harness.collector.in_flight == 0 and not post.done():
                await asyncio.sleep(0.005)
            held = harness.collector.in_flight
            response = await asyncio.wait_for(post, 5)
            return response, time.monotonic() - started, held

    response, elapsed, held = asyncio.run(scenario())

    assert held == 1  # the stalled body held a request slot...
    assert response.status_code == 408, response.text
    assert elapsed < 2
    assert response.json() == {
        "request_id": response.headers["x-request-id"],
        "error": "body_timeout",
        "message": "the body was not complete after 0.2 s; nothing of this request was taken",
        "timeout_s": 0.2,
    }
    assert response.headers["connection"] == "close"
    assert harness.collector.in_flight == 0  # ...and gave it back
    assert harness.metrics()['dp_collector_requests_total{route="events",status="408"}'] == 1
    assert harness.post([page_view()]).status_code == 202


def test_healthz_says_saturated_while_every_request_slot_is_held(make_harness: HarnessFactory) -> None:
    harness = make_harness(tuning=Tuning(max_concurrent_requests=2, poll_interval_s=0.01, probe_interval_s=0.02))
    events = [page_view(), page_view()]

    async def scenario() -> tuple[httpx.Response, httpx.Response, list[httpx.Response], httpx.Response]:
        release = asyncio.Event()

        async def held_body(event: dict[str, Any]) -> Any:
            yield b"["
            await release.wait()
            yield json.dumps(event).encode() + b"]"

        async with harness.async_client() as client:
            posts = [
                asyncio.create_task(client.post("/v1/events/page_view", content=held_body(e), headers=JSON))
                for e in events
            ]
            while harness.collector.in_flight < 2:
                await asyncio.sleep(0.005)
            saturated = await client.get("/healthz")
            refused = await client.post("/v1/events/page_view", json=[page_view()])
            release.set()
            taken = await asyncio.wait_for(asyncio.gather(*posts), 5)
            healthy = await client.get("/healthz")
        return saturated, refused, taken, healthy

    saturated, refused, taken, healthy = asyncio.run(scenario())

    assert saturated.status_code == 503
    assert saturated.json() == health(
        status="unavailable",
        detail="all 2 request slots are taken: new POSTs are answered 503",
        requests="saturated",
        in_flight=2,
        max_concurrent_requests=2,
    )
    assert refused.status_code == 503 and "requests are being processed" in refused.json()["message"]
    assert [r.status_code for r in taken] == [202, 202]
    assert healthy.status_code == 200
    assert (healthy.json()["requests"], healthy.json()["in_flight"]) == ("ok", 0)
    harness.settle()
    assert sorted(harness.ids()) == sorted(e["event_id"] for e in events)  # the two requests in either order


def test_a_client_gone_mid_body_is_counted_499_and_logged_without_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    incoming: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b'[{"event_id": ', "more_body": True},
            {"type": "http.disconnect"},  # what uvicorn's receive() says once the connection is lost
        ]
    )

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:  # uvicorn drops what is sent to a lost connection
        pass

    scope = http_scope("/v1/events/page_view", {**JSON, "content-length": "1000"})
    with caplog.at_level(logging.DEBUG, logger="dp_stream_ingestors"):
        asyncio.run(harness.app(scope, receive, send))

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    gone = [r for r in caplog.records if "the client closed the connection" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno in (logging.INFO, logging.WARNING)
    values = harness.metrics()
    assert values['dp_collector_requests_total{route="events",status="499"}'] == 1
    assert 'dp_collector_requests_total{route="events",status="500"}' not in values
    assert harness.collector.in_flight == 0
    assert harness.fake.topics == {}


# ---------------------------------------------------------------------------------------------------- internals


def test_an_unexpected_error_is_a_json_500_without_traceback_and_is_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    harness.fake.produce = explode  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        response = harness.post([page_view(), page_view()])
    assert response.status_code == 500
    assert response.json() == {
        "request_id": response.headers["x-request-id"],
        "error": "internal",
        "message": "internal error; see the collector's log",
    }
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert any(r.getMessage() == "unexpected error" and r.exc_info for r in caplog.records)
    assert harness.collector.records_pending() == 0  # nothing was produced, nothing is tracked
    del harness.fake.produce  # the service keeps serving
    assert harness.post([page_view()]).status_code == 202


def test_every_request_gets_its_own_id(harness: Harness) -> None:
    ids = {harness.post([page_view()]).headers["x-request-id"] for _ in range(5)}
    ids.add(harness.client.get("/healthz").headers["x-request-id"])
    assert len(ids) == 6
    assert all(str(uuid.UUID(i)) == i for i in ids)


def test_metrics_count_accepted_rejected_produced_failures_and_latency(make_harness: HarnessFactory) -> None:
    harness = make_harness(auto_deliver=False, **BUFFERED)
    assert harness.post([page_view(), page_view(), page_view(url=None)]).status_code == 202
    assert harness.post([page_view()], contract="nope").status_code == 404
    harness.fake.deliver(2)
    harness.fake.deliver(1, error=TIMED_OUT)
    assert harness.post([page_view(occurred_at="yesterday")]).status_code == 202
    harness.wait_for(lambda: harness.collector.records_pending() == 1, "the delivery reports")

    response = harness.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    values = metric_values(response.text)
    expected = {
        'dp_collector_events_accepted_total{contract="page_view"}': 2,
        'dp_collector_events_rejected_total{contract="page_view"}': 2,
        'dp_collector_events_accepted_total{contract="order_placed"}': 0,
        "dp_collector_records_produced_total": 2,
        "dp_collector_delivery_failures_total": 1,
        "dp_collector_records_pending": 1,
        "dp_collector_producer_queue": 1,
        "dp_collector_broker_up": 1,
        'dp_collector_requests_total{route="events",status="202"}': 2,
        'dp_collector_requests_total{route="events",status="404"}': 1,
        'dp_collector_request_seconds_count{route="events"}': 3,
        'dp_collector_request_seconds_bucket{route="events",le="+Inf"}': 3,
        'dp_collector_request_seconds_bucket{route="events",le="10"}': 3,
    }
    assert {name: values.get(name) for name in expected} == expected
    assert values['dp_collector_request_seconds_sum{route="events"}'] > 0
    # the identity the metrics keep: taken = acknowledged + failed + waiting
    taken = sum(v for k, v in values.items() if k.startswith("dp_collector_events_"))
    assert taken == values["dp_collector_records_produced_total"] + 1 + 1
    assert "# TYPE dp_collector_request_seconds histogram" in response.text
    assert "# TYPE dp_collector_events_accepted_total counter" in response.text


def test_healthz_says_ok_when_connected(harness: Harness) -> None:
    response = harness.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == health()


# ---------------------------------------------------------------------------------------------------- shutdown


def test_drain_reports_what_was_delivered_and_what_was_not(make_harness: HarnessFactory) -> None:
    harness = make_harness(auto_deliver=False, **BUFFERED)
    first = harness.post([page_view(), page_view(url=None), page_view()]).json()
    second = harness.post([page_view(), page_view(), page_view(), page_view()]).json()
    harness.fake.deliver(3)  # the first request
    harness.fake.deliver(2, error=TIMED_OUT)

    summary = harness.collector.drain(0.05)

    assert (summary.accepted, summary.rejected) == (6, 1)
    assert (summary.delivered, summary.dead_letters_delivered) == (2, 1)
    assert (summary.failed, summary.still_waiting, summary.undeliverable_count) == (2, 2, 4)
    assert not summary.ok
    lines = summary.lines()
    assert lines[0] == (
        "collector summary: accepted 6, rejected 1; delivered 2 event(s) and 1 dead letter(s); undeliverable 4"
    )
    failed_reason = 'KafkaError{code=_MSG_TIMED_OUT,val=-192,str="Local: Message timed out"}'
    assert f"  request {second['request_id']} page_view indexes 0-1: {failed_reason}" in lines
    assert (
        f"  request {second['request_id']} page_view indexes 2-3: not acknowledged before the shutdown timeout" in lines
    )
    assert first["request_id"] not in "\n".join(lines)
    assert harness.post([page_view()]).status_code == 503  # drained: no new requests


def test_drain_flushes_everything_and_is_ok(make_harness: HarnessFactory) -> None:
    harness = make_harness(**BUFFERED)
    harness.fake.auto_deliver = False
    assert harness.post([page_view() for _ in range(5)]).status_code == 202
    harness.fake.auto_deliver = True  # the flush delivers
    summary = harness.collector.drain(5.0)
    assert summary.ok and (summary.accepted, summary.delivered, summary.undeliverable_count) == (5, 5, 0)
    assert summary.lines() == [
        "collector summary: accepted 5, rejected 0; delivered 5 event(s) and 0 dead letter(s); undeliverable 0"
    ]
    assert len(harness.topic()) == 5


# ------------------------------------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", "json"),
        ("Application/JSON; charset=utf-8", "json"),
        ("application/x-ndjson", "ndjson"),
        ("application/jsonl", "ndjson"),
    ],
)
def test_body_format(content_type: str, expected: str) -> None:
    assert body_format(content_type) == expected


def test_body_format_refuses_others() -> None:
    with pytest.raises(collector_errors.UnsupportedMediaTypeError, match="Content-Type 'text/csv' is not supported"):
        body_format("text/csv")
    with pytest.raises(collector_errors.UnsupportedMediaTypeError, match="no Content-Type"):
        body_format(None)


def test_parse_body() -> None:
    assert parse_body(b'[{"a": 1}, 2]', "json", 5) == Batch([{"a": 1}, 2])
    assert parse_body(b'{"a": 1}', "json", 5) == Batch([{"a": 1}])
    assert parse_body(b'{"a": 1}\n\n  \n[1]\n', "ndjson", 5) == Batch([{"a": 1}, [1]], [1, 4])
    with pytest.raises(collector_errors.MalformedBodyError, match="line 2 is not valid JSON"):
        parse_body(b'{"a": 1}\nnope\n', "ndjson", 5)
    with pytest.raises(collector_errors.MalformedBodyError, match="no events"):
        parse_body(b"\n\n", "ndjson", 5)
    with pytest.raises(collector_errors.TooManyEventsError):
        parse_body(b"[1, 2, 3]", "json", 2)


def test_read_limited_stops_at_the_limit() -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 100

    async def read(limit: int) -> bytes:
        return await read_limited(chunks(), limit)

    assert len(asyncio.run(read(1000))) == 1000
    with pytest.raises(collector_errors.BodyTooLargeError):
        asyncio.run(read(999))


def test_nesting_exceeds() -> None:
    assert not nesting_exceeds(1, 0) and not nesting_exceeds("[[[", 1)
    assert not nesting_exceeds([], 1) and nesting_exceeds([], 0)
    assert not nesting_exceeds({"a": [1, {"b": []}]}, 4) and nesting_exceeds({"a": [1, {"b": []}]}, 3)
    assert nesting_exceeds(json.loads(nested(900)), MAX_JSON_DEPTH)  # no recursion: any depth is walked


def test_parse_body_refuses_deep_nesting_at_the_limit() -> None:
    assert parse_body(nested(MAX_JSON_DEPTH).encode(), "json", 5).events == [json.loads(nested(MAX_JSON_DEPTH - 1))]
    with pytest.raises(
        collector_errors.TooDeeplyNestedError, match=f"the body is nested more than {MAX_JSON_DEPTH} levels"
    ):
        parse_body(nested(MAX_JSON_DEPTH + 1).encode(), "json", 5)
    with pytest.raises(collector_errors.TooDeeplyNestedError, match="the body is nested") as caught:
        parse_body(nested(100_000).encode(), "json", 5)  # past the decoder's own bound
    assert caught.value.status_code == 400 and caught.value.details == {"limit": MAX_JSON_DEPTH}
    with pytest.raises(collector_errors.TooDeeplyNestedError, match="line 2 is nested") as caught:
        parse_body(b"{}\n" + nested(100_000).encode(), "ndjson", 5)
    assert caught.value.details == {"line": 2, "limit": MAX_JSON_DEPTH}
    brackets_in_strings = json.dumps([{"a": "[" * 500 + "{" * 500}])
    assert parse_body(brackets_in_strings.encode(), "json", 5).events[0]["a"].startswith("[[[")


def test_read_body_gives_up_at_the_deadline_and_tells_a_vanished_client_apart() -> None:
    async def stalled() -> Any:
        yield b"["
        await asyncio.sleep(30)
        yield b"]"

    async def vanished() -> Any:
        yield b"["
        raise ClientDisconnect

    async def read(chunks: Any) -> bytes:
        return await read_body(chunks, 100, timeout_s=0.05)

    started = time.monotonic()
    with pytest.raises(collector_errors.BodyTimeoutError, match=r"not complete after 0\.05 s") as caught:
        asyncio.run(read(stalled()))
    assert time.monotonic() - started < 1
    assert caught.value.status_code == 408 and caught.value.close_connection
    with pytest.raises(collector_errors.ClientDisconnectedError) as gone:
        asyncio.run(read(vanished()))
    assert gone.value.status_code == 499
    with pytest.raises(collector_errors.BodyTooLargeError):
        asyncio.run(read_body(_chunks(b"x" * 60, b"x" * 60), 100, timeout_s=5))
    assert asyncio.run(read_body(_chunks(b"[", b"]"), 100, timeout_s=5)) == b"[]"


async def _chunks(*parts: bytes) -> Any:
    for part in parts:
        yield part


def test_request_slots() -> None:
    assert RequestSlots(in_flight=15, limit=16).state == "ok"
    assert RequestSlots(in_flight=16, limit=16).saturated and RequestSlots(16, 16).state == "saturated"
    assert RequestSlots(0, 0).saturated  # no slot at all: every POST is refused


def test_broker_health_states() -> None:
    health = BrokerHealth(stall_s=10, now=0.0)
    assert health.status(0).state == "unknown" and health.status(0).available
    health.on_probe(started=1, error=None, now=1.1)
    assert health.status(2).state == "up"
    health.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN), now=3)
    assert health.status(3).state == "down" and not health.status(3).available
    health.on_probe(started=2.9, error=None, now=3.1)  # started before the failure: says nothing
    assert health.status(4).state == "down"
    health.on_probe(started=4, error=None, now=4.1)
    assert health.status(5).state == "up"
    health.on_error(KafkaError(KafkaError._TRANSPORT), now=6)  # one connection lost: not all
    assert health.status(6).state == "up"
    health.on_pending(3, now=10)
    assert health.status(19).state == "up"
    assert health.status(21).state == "down" and "no delivery acknowledged" in health.status(21).detail
    health.on_delivery(now=21)
    assert health.status(22).state == "up"
    health.on_pending(0, now=40)
    assert health.status(60).state == "up"
    health.on_error(KafkaError(KafkaError._FATAL, "fenced", fatal=True), now=61)
    health.on_probe(started=62, error=None, now=62)
    assert health.status(63).state == "down" and "fatal" in health.status(63).detail


def test_metrics_escape_label_values() -> None:
    metrics = Metrics(['we"ird\\name'])
    assert 'dp_collector_events_accepted_total{contract="we\\"ird\\\\name"} 0' in metrics.render({})


def test_index_ranges() -> None:
    assert _ranges([7, 0, 1, 2, 9, 10]) == "0-2, 7, 9-10"
    assert _ranges([4]) == "4"
