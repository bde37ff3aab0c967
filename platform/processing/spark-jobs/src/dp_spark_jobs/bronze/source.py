"""Kafka as the Bronze job reads it: the brokers' watermarks (driver side), Spark's Kafka source options, and the
schema id in a record's wire header."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from dp_core.config import PlatformSettings
from dp_ingest.kafka import client_conf
from dp_spark_jobs.bronze.offsets import Watermarks
from dp_spark_jobs.errors import SourceUnavailable

#: the Confluent wire format: magic byte 0, then the schema id as a 4-byte big-endian int, then the body
WIRE_MAGIC = 0
WIRE_HEADER_SIZE = 5

_JAAS_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def wire_schema_id(value: bytes | None) -> int | None:
    """The schema id of a Confluent-framed value; ``None`` when the value is not framed (null, short, other magic).

    The id is read as a signed 32-bit int, as the Java serializers and Bronze's ``int`` column hold it.
    """
    if value is None or len(value) < WIRE_HEADER_SIZE or value[0] != WIRE_MAGIC:
        return None
    return int.from_bytes(value[1:WIRE_HEADER_SIZE], "big", signed=True)


def spark_kafka_options(conf: Mapping[str, Any]) -> dict[str, str]:
    """Spark Kafka source options (``kafka.*``, Java client names) from a librdkafka client configuration.

    Username/password SASL (PLAIN, SCRAM) becomes a JAAS line; OAUTHBEARER needs a callback handler of the
    deployment's identity provider and is left to ``kafka.*`` options of the environment.
    """
    options = {
        "kafka.bootstrap.servers": str(conf["bootstrap.servers"]),
        "kafka.security.protocol": str(conf.get("security.protocol", "PLAINTEXT")),
    }
    mechanism = conf.get("sasl.mechanism")
    if mechanism:
        options["kafka.sasl.mechanism"] = str(mechanism)
    username, password = conf.get("sasl.username"), conf.get("sasl.password")
    module = _JAAS_MODULES.get(str(mechanism))
    if module and username and password:
        user, secret = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in (username, password))
        options["kafka.sasl.jaas.config"] = f'{module} required username="{user}" password="{secret}";'
    return options


def read_watermarks(
    settings: PlatformSettings, topics: Iterable[str], timeout: float = 30.0
) -> dict[str, Watermarks | None]:
    """Low and high watermarks of every partition of ``topics``, as of now; ``None`` for a topic that does not exist.

    Read in the driver with a plain consumer that never subscribes or commits (no consumer group state is kept:
    Bronze's offsets live in its Iceberg snapshots).
    """
    wanted = list(topics)
    conf = {
        **client_conf(settings),
        **settings.kafka.consumer,
        "group.id": f"{settings.kafka.client_id}-etl-bronze",
        "enable.auto.commit": False,
        "allow.auto.create.topics": False,
    }
    where = settings.kafka.bootstrap_servers
    try:
        consumer = Consumer(conf)
    except KafkaException as exc:
        raise SourceUnavailable(f"cannot create a Kafka consumer for {where}: {exc}") from exc
    try:
        metadata = consumer.list_topics(timeout=timeout)
        out: dict[str, Watermarks | None] = {}
        for topic in wanted:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                out[topic] = None
                continue
            marks: dict[int, tuple[int, int]] = {}
            for partition in sorted(found.partitions):
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=timeout, cached=False
                )
                marks[partition] = (int(low), int(high))
            out[topic] = marks
        return out
    except KafkaException as exc:
        raise SourceUnavailable(f"cannot read the offsets of {wanted} from Kafka at {where}: {exc}") from exc
    finally:
        consumer.close()
