"""How far a consumer group is behind the end of its topics: the streaming jobs' "caught up" signal.

A Flink Kafka source commits its offsets to the group when a checkpoint completes, which is also when the Iceberg
sink commits; so a group with no lag has everything it read committed to the lakehouse.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

from dp_core.config import PlatformSettings
from dp_ingest.kafka import client_conf

Lag = dict[tuple[str, int], int]


def group_lag(settings: PlatformSettings, group_id: str, topics: Iterable[str], timeout_s: float = 10.0) -> Lag:
    """(topic, partition) -> records not yet committed by ``group_id`` (end offset minus committed offset)."""
    conf = client_conf(settings) | {"group.id": group_id, "enable.auto.commit": False}
    consumer = Consumer(conf)
    try:
        lag: Lag = {}
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
            if meta is None or meta.error is not None:
                continue
            parts = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
            committed = consumer.committed(parts, timeout=timeout_s)
            for tp in committed:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout_s)
                position = tp.offset if tp.offset >= 0 else low
                lag[(topic, tp.partition)] = max(0, high - position)
        return lag
    finally:
        consumer.close()
