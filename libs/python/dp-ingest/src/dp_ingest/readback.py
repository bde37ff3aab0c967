"""Topics read back to their end: every record of every partition, from the beginning of the partition to the end
offset it had when the reading began, each record once.

For checks and reconciliations (the demo's report, the tests on the real stack). A record is known by its
(topic, partition, offset): a record written twice has two offsets. The consumer itself may hand over the same offset
twice (librdkafka re-fetches after a leader epoch change, as right after a broker restart); such a repeat is the
reader's, not the topic's, and is counted once. A partition is done when the consumer's position reaches its end
offset (positions, not the last offset seen: compaction and transaction markers leave gaps in the offsets).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from dp_core.config import PlatformSettings
from dp_ingest.errors import BrokerUnavailableError, IngestError
from dp_ingest.kafka import client_conf

#: the most records one ``consume`` call hands over
BATCH = 2000
#: how long a metadata or watermark request may take, in seconds
REQUEST_TIMEOUT_S = 15.0

Partition = tuple[str, int]  # (topic, partition)


class ReadBackTimeoutError(IngestError):
    """Topics were not read to their end offsets before the deadline."""


class MissingTopicError(IngestError):
    """A topic that had to exist (``missing_ok=False``) does not."""


class ReadableConsumer(Protocol):
    """The part of ``confluent_kafka.Consumer`` a read-back uses."""

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any: ...

    def get_watermark_offsets(self, partition: Any, timeout: float = -1) -> tuple[int, int]: ...

    def assign(self, partitions: list[Any]) -> None: ...

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]: ...

    def position(self, partitions: list[Any]) -> list[Any]: ...


@dataclass(frozen=True)
class ReadBack:
    """What the topics held: ``records`` (``confluent_kafka.Message``), each once, sorted by topic, partition and
    offset; ``ends``: the end offset of every non-empty partition when the reading began (later records are left)."""

    records: list[Any]
    ends: dict[Partition, int]


def end_offsets(consumer: ReadableConsumer, topics: Iterable[str], missing_ok: bool = True) -> dict[Partition, int]:
    """The end offset of every partition of ``topics`` that holds records now (topics that do not exist: none, or
    :class:`MissingTopicError` when not ``missing_ok``)."""
    metadata = consumer.list_topics(timeout=REQUEST_TIMEOUT_S)
    ends: dict[Partition, int] = {}
    for topic in dict.fromkeys(topics):
        meta = metadata.topics.get(topic)
        if meta is None or meta.error is not None:
            if not missing_ok:
                raise MissingTopicError(f"topic {topic} does not exist")
            continue
        for partition in sorted(meta.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=REQUEST_TIMEOUT_S)
            if high > low:
                ends[(topic, partition)] = high
    return ends


def read_back(
    consumer: ReadableConsumer,
    topics: Iterable[str],
    timeout_s: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
    missing_ok: bool = True,
) -> ReadBack:
    """Every record of ``topics`` from the beginning to the end offsets of now, each (partition, offset) once.
    A topic that does not exist reads as empty, unless ``missing_ok`` is false.

    Raises:
        ReadBackTimeoutError: a partition was not read to its end offset within ``timeout_s``, naming it.
        MissingTopicError: a topic does not exist and ``missing_ok`` is false.
        IngestError: the consumer reported a fatal error.
    """
    ends = end_offsets(consumer, topics, missing_ok)
    if not ends:
        return ReadBack([], {})
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for topic, partition in ends])
    records: dict[tuple[str, int, int], Any] = {}
    positions = dict.fromkeys(ends, -1)
    last_error: Any = None
    deadline = clock() + timeout_s
    while any(positions[p] < ends[p] for p in ends):
        if clock() > deadline:
            raise _timed_out(timeout_s, positions, ends, last_error)
        for message in consumer.consume(num_messages=BATCH, timeout=1.0):
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise IngestError(f"reading back {message.topic()}: {error}")
                last_error = error  # transient (a broker restarting): the consumer retries, the deadline bounds it
                continue
            key = (str(message.topic()), int(message.partition() or 0), int(message.offset() or 0))
            if key[2] < ends.get(key[:2], 0):
                records.setdefault(key, message)  # a repeat of an offset is the consumer's, not a second record
        for tp in consumer.position([TopicPartition(t, p) for t, p in _short(positions, ends)]):
            positions[(tp.topic, tp.partition)] = tp.offset
    return ReadBack([records[k] for k in sorted(records)], ends)


def _short(positions: dict[Partition, int], ends: dict[Partition, int]) -> list[Partition]:
    return [p for p in ends if positions[p] < ends[p]]


def _timed_out(
    timeout_s: float, positions: dict[Partition, int], ends: dict[Partition, int], last_error: Any
) -> ReadBackTimeoutError:
    topics = ", ".join(dict.fromkeys(t for t, _ in ends))
    short = ", ".join(f"{t}[{p}] at {max(positions[t, p], 0)} of {ends[t, p]}" for t, p in _short(positions, ends))
    reported = f" (the consumer last reported {last_error})" if last_error is not None else ""
    return ReadBackTimeoutError(f"reading back {topics} took longer than {timeout_s:.0f} s: {short}{reported}")


def read_to_end(
    settings: PlatformSettings,
    topics: Iterable[str],
    timeout_s: float = 120.0,
    group_prefix: str = "dp-readback",
    missing_ok: bool = True,
) -> ReadBack:
    """:func:`read_back` with a consumer of its own (a group of its own, nothing committed), closed at the end.

    Raises:
        BrokerUnavailableError: Kafka did not answer.
        ReadBackTimeoutError, MissingTopicError, IngestError: see :func:`read_back`.
    """
    conf = client_conf(settings) | {
        "group.id": f"{group_prefix}-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    }
    consumer = Consumer(conf)
    try:
        return read_back(consumer, topics, timeout_s, missing_ok=missing_ok)
    except KafkaException as exc:
        raise BrokerUnavailableError(f"Kafka at {settings.kafka.bootstrap_servers} unreachable: {exc}") from None
    finally:
        consumer.close()
