"""Reading topics back to their end, on an in-memory consumer: the end offsets of the start, each offset once,
gaps in the offsets, missing topics, the deadline."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from dp_ingest.errors import IngestError
from dp_ingest.readback import MissingTopicError, ReadBackTimeoutError, read_back


def record(topic: str, partition: int, offset: int, error: KafkaError | None = None) -> Any:
    """A stand-in for ``confluent_kafka.Message``: the accessors a read-back uses."""
    return SimpleNamespace(topic=lambda: topic, partition=lambda: partition, offset=lambda: offset, error=lambda: error)


@dataclass
class FakeConsumer:
    """Hands over the scripted batches one ``consume`` call at a time; a partition's position is one past the
    highest offset handed over (or ``skip_to``, as past the transaction markers at its end)."""

    watermarks: dict[tuple[str, int], tuple[int, int]]
    batches: list[list[Any]]
    skip_to: dict[tuple[str, int], int] = field(default_factory=dict)
    assigned: list[tuple[str, int, int]] = field(default_factory=list)
    handed: dict[tuple[str, int], int] = field(default_factory=dict)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        partitions: dict[str, dict[int, object]] = {}
        for t, p in self.watermarks:
            partitions.setdefault(t, {})[p] = object()
        return SimpleNamespace(topics={t: SimpleNamespace(partitions=ps, error=None) for t, ps in partitions.items()})

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float = -1) -> tuple[int, int]:
        return self.watermarks[(partition.topic, partition.partition)]

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = [(tp.topic, tp.partition, tp.offset) for tp in partitions]

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        batch = self.batches.pop(0) if self.batches else []
        for r in batch:
            if r.error() is None:
                key = (r.topic(), r.partition())
                self.handed[key] = max(self.handed.get(key, -1), r.offset() + 1)
        return batch

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        out = []
        for tp in partitions:
            key = (tp.topic, tp.partition)
            at = self.handed.get(key, -1001)
            if key in self.skip_to and at >= 0:
                at = max(at, self.skip_to[key])
            out.append(TopicPartition(tp.topic, tp.partition, at))
        return out


def coordinates(records: list[Any]) -> list[tuple[str, int, int]]:
    return [(r.topic(), r.partition(), r.offset()) for r in records]


def test_every_record_once_up_to_the_end_offsets_of_the_start() -> None:
    consumer = FakeConsumer(
        {("t", 0): (0, 3), ("t", 1): (0, 2), ("t", 2): (0, 0)},
        [
            [record("t", 0, 0), record("t", 1, 0), record("t", 0, 1)],
            # a re-fetch after a leader epoch change hands over offsets 0 and 1 again
            [record("t", 0, 0), record("t", 0, 1), record("t", 1, 1)],
            # records written after the reading began are not read back
            [record("t", 0, 2), record("t", 0, 3), record("t", 1, 2)],
        ],
    )

    back = read_back(consumer, ["t"])

    assert coordinates(back.records) == [("t", 0, 0), ("t", 0, 1), ("t", 0, 2), ("t", 1, 0), ("t", 1, 1)]
    assert back.ends == {("t", 0): 3, ("t", 1): 2}  # the empty partition is not assigned
    assert consumer.assigned == [("t", 0, OFFSET_BEGINNING), ("t", 1, OFFSET_BEGINNING)]


def test_the_first_record_of_an_offset_is_kept() -> None:
    first, again = record("t", 0, 0), record("t", 0, 0)
    back = read_back(FakeConsumer({("t", 0): (0, 1)}, [[first, again]]), ["t"])
    assert back.records == [first] and back.records[0] is first


def test_gaps_in_the_offsets_end_a_partition_by_its_position() -> None:
    # offsets 3 and 4 are transaction markers: the last record is at 2, the position passes the end
    consumer = FakeConsumer({("t", 0): (0, 5)}, [[record("t", 0, 0), record("t", 0, 2)]], skip_to={("t", 0): 5})
    back = read_back(consumer, ["t"])
    assert coordinates(back.records) == [("t", 0, 0), ("t", 0, 2)]


def test_topics_that_do_not_exist_or_hold_nothing_read_as_empty() -> None:
    consumer = FakeConsumer({("empty", 0): (7, 7)}, [])
    back = read_back(consumer, ["missing", "empty"])
    assert (back.records, back.ends, consumer.assigned) == ([], {}, [])


def test_a_topic_that_must_exist_and_does_not_is_an_error_naming_it() -> None:
    consumer = FakeConsumer({("t", 0): (0, 1)}, [[record("t", 0, 0)]])
    with pytest.raises(MissingTopicError, match="topic missing does not exist"):
        read_back(consumer, ["t", "missing"], missing_ok=False)
    assert consumer.assigned == []


def test_several_topics_are_read_together_and_sorted() -> None:
    consumer = FakeConsumer(
        {("b", 0): (0, 1), ("a", 0): (4, 6)}, [[record("b", 0, 0), record("a", 0, 5), record("a", 0, 4)]]
    )
    back = read_back(consumer, ["b", "a", "b"])
    assert coordinates(back.records) == [("a", 0, 4), ("a", 0, 5), ("b", 0, 0)]
    assert back.ends == {("b", 0): 1, ("a", 0): 6}


def test_transient_errors_are_passed_over() -> None:
    transport = KafkaError(KafkaError._TRANSPORT, "broker down")
    consumer = FakeConsumer({("t", 0): (0, 1)}, [[record("t", 0, 0, transport)], [record("t", 0, 0)]])
    assert coordinates(read_back(consumer, ["t"]).records) == [("t", 0, 0)]


def test_a_fatal_error_ends_the_reading() -> None:
    fatal = KafkaError(KafkaError._FATAL, "fenced", fatal=True)
    consumer = FakeConsumer({("t", 0): (0, 1)}, [[record("t", 0, 0, fatal)]])
    with pytest.raises(IngestError, match="reading back t: "):
        read_back(consumer, ["t"])


def test_a_partition_short_of_its_end_at_the_deadline_is_named() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 10
        return now[0]

    transport = KafkaError(KafkaError._TRANSPORT, "broker down")
    consumer = FakeConsumer(
        {("t", 0): (0, 4), ("t", 1): (0, 1)},
        [[record("t", 0, 0), record("t", 0, 1), record("t", 1, 0)], [record("t", 0, 2, transport)]] + [[]] * 10,
    )
    with pytest.raises(ReadBackTimeoutError) as exc:
        read_back(consumer, ["t"], timeout_s=25, clock=clock)
    message = str(exc.value)
    assert message.startswith("reading back t took longer than 25 s: t[0] at 2 of 4 (the consumer last reported ")
    assert "broker down" in message and "t[1]" not in message
