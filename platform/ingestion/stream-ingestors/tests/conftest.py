"""Fixtures of the stream ingestors' tests: an in-memory librdkafka that refuses records larger than it takes, and
the check of the collector's answer to a batch holding one event larger than Kafka takes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from dp_ingest.producer import record_size
from dp_stream_ingestors.collector.memory import InMemoryProducer


class SizedKafka(InMemoryProducer):
    """An in-memory librdkafka that refuses a record larger than ``max_bytes`` (by default the ``message.max.bytes``
    it is configured with) as librdkafka does: ``produce`` raises ``MSG_SIZE_TOO_LARGE``."""

    def __init__(self, max_bytes: int | None = None) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None:
        """Refuses a record larger than the bound (the producer core passes value, key and headers by keyword)."""
        limit = self.max_bytes if self.max_bytes is not None else int(self.conf["message.max.bytes"])
        if record_size(kwargs.get("key"), kwargs.get("value") or b"", kwargs.get("headers")) > limit:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "Broker: Message size too large"))
        super().produce(topic, *args, **kwargs)


@pytest.fixture
def sized_kafka() -> Callable[[int | None], InMemoryProducer]:
    """Makes a :class:`SizedKafka`: ``sized_kafka(max_bytes)``, or ``sized_kafka(None)`` for the configured bound."""
    return SizedKafka


@dataclass(frozen=True)
class SizeRejection:
    body: dict[str, Any]  # the 202 answer
    problem: dict[str, str]  # the one problem of the one rejected event
    size: int  # the encoded size of that event, as the problem names it


def _size_rejected(response: Any, accepted: int, index: int, limit: int) -> SizeRejection:
    assert response.status_code == 202, response.text[:3000]
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (accepted, 1)
    [rejected] = body["errors"]
    assert rejected["index"] == index
    [problem] = rejected["errors"]
    assert (problem["path"], problem["rule"]) == ("", "size")
    pattern = rf"the encoded event is (\d+) bytes, more than the {limit} bytes Kafka takes \(message.max.bytes\)"
    match = re.fullmatch(pattern, problem["message"])
    assert match is not None, problem["message"]
    return SizeRejection(body, problem, int(match.group(1)))


@pytest.fixture
def size_rejected() -> Callable[[Any, int, int, int], SizeRejection]:
    """Checks the collector's answer to a batch whose event at ``index`` alone is larger than the ``limit`` of bytes
    Kafka takes: ``size_rejected(response, accepted, index, limit)`` -- a 202, ``accepted`` events taken, that one
    rejected by the ``size`` rule; returns the answer, the problem and the size it names."""
    return _size_rejected
