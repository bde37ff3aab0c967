"""What the demo's topics hold, read back from Kafka: which of a workload's records arrived (by sequence number),
how many belong to other demo workloads and how many to nobody's demo. Kafka is the source of truth when the demo
resumes: a record is re-sent only if it is not in its topic."""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from dp_core.config import PlatformSettings
from dp_demo.errors import DemoError
from dp_demo.workload import RUN_HEADER, SEQ_HEADER
from dp_ingest.kafka import client_conf

#: librdkafka's informational logs (e.g. "purging unserved events" when an admin client closes) are not for users
QUIET = {"log_level": 3}


@dataclass
class TopicContents:
    """One topic's records, sorted by the workload they belong to."""

    records: int = 0
    seqs: collections.Counter[int] = field(default_factory=collections.Counter)  # this workload: seq -> copies
    other_workloads: collections.Counter[str] = field(default_factory=collections.Counter)
    foreign: int = 0  # records without the demo's headers

    @property
    def ours(self) -> int:
        return sum(self.seqs.values())


def _header(headers: object, name: str) -> str | None:
    for key, value in headers if isinstance(headers, list) else []:
        if key == name and value is not None:
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return None


def read_topics(
    settings: PlatformSettings, topics: Iterable[str], run_id: str, timeout_s: float = 120.0
) -> dict[str, TopicContents]:
    """Every record of ``topics`` (missing topics: empty), from the beginning to the end offsets of now."""
    names = list(topics)
    contents = {t: TopicContents() for t in names}
    conf = client_conf(settings) | {
        "group.id": f"dp-demo-readback-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    }
    consumer = Consumer(conf)
    try:
        try:
            metadata = consumer.list_topics(timeout=15)
        except KafkaException as exc:
            raise DemoError(f"Kafka at {settings.kafka.bootstrap_servers} unreachable: {exc}") from None
        ends: dict[tuple[str, int], int] = {}
        assignment = []
        for topic in names:
            meta = metadata.topics.get(topic)
            if meta is None or meta.error is not None:
                continue
            for partition in sorted(meta.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
                if high > low:
                    ends[(topic, partition)] = high
                    assignment.append(TopicPartition(topic, partition, OFFSET_BEGINNING))
        if not assignment:
            return contents
        consumer.assign(assignment)
        deadline = time.monotonic() + timeout_s
        seen: set[tuple[str, int, int]] = set()
        while ends:
            if time.monotonic() > deadline:
                raise DemoError(f"reading back the demo's topics took longer than {timeout_s:.0f} s")
            for msg in consumer.consume(num_messages=2000, timeout=1.0):
                if msg.error() is not None:
                    continue
                topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0)
                end = ends.get((topic, partition))
                if end is None or offset >= end or (topic, partition, offset) in seen:
                    continue  # a repeat of an offset is the consumer's (a re-fetch), not a second record
                seen.add((topic, partition, offset))
                found = contents[topic]
                found.records += 1
                headers = msg.headers()
                run = _header(headers, RUN_HEADER)
                seq = _header(headers, SEQ_HEADER)
                if run == run_id and seq is not None and seq.isdigit():
                    found.seqs[int(seq)] += 1
                elif run is not None:
                    found.other_workloads[run] += 1
                else:
                    found.foreign += 1
            # positions, not the last offset seen: compaction and transaction markers leave gaps in the offsets
            for tp in consumer.position([TopicPartition(t, p) for t, p in ends]):
                if tp.offset >= ends[(tp.topic, tp.partition)]:
                    del ends[(tp.topic, tp.partition)]
        return contents
    finally:
        consumer.close()


def delete_groups(settings: PlatformSettings, groups: Iterable[str]) -> list[str]:
    """Delete consumer groups (their committed offsets); groups that do not exist are skipped."""
    admin = AdminClient(client_conf(settings) | QUIET)
    wanted = list(groups)
    listed = admin.list_consumer_groups(request_timeout=15).result()
    present = [g for g in wanted if g in {v.group_id for v in listed.valid}]
    if not present:
        return []
    for group, future in admin.delete_consumer_groups(present, request_timeout=15).items():
        try:
            future.result()
        except KafkaException as exc:
            raise DemoError(f"cannot delete consumer group {group}: {exc}") from None
    return present
