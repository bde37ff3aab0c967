"""librdkafka configuration from the platform settings (one place for addresses and security)."""

from __future__ import annotations

from typing import Any

from dp_core.config import PlatformSettings

#: librdkafka's ``message.max.bytes`` unless ``kafka.producer`` sets it: the largest record the producer hands to
#: Kafka (value, key, headers and framing). It must stay at or below the broker's (and the topics')
#: ``message.max.bytes`` (1,048,588 by default): a larger record is refused by the producer core itself, per event.
DEFAULT_MESSAGE_MAX_BYTES = 1_000_000


def client_conf(settings: PlatformSettings) -> dict[str, Any]:
    """What every Kafka client needs: the brokers, the client id, the security settings."""
    kafka = settings.kafka
    conf: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "client.id": kafka.client_id,
        "security.protocol": kafka.security_protocol,
    }
    if kafka.sasl_mechanism:
        conf["sasl.mechanism"] = kafka.sasl_mechanism
    if kafka.sasl_username:
        conf["sasl.username"] = kafka.sasl_username
    if kafka.sasl_password:
        conf["sasl.password"] = kafka.sasl_password.get_secret_value()
    return conf


def producer_conf(settings: PlatformSettings) -> dict[str, Any]:
    """A durable, idempotent, bounded producer: acks=all, idempotence, compression and batching from config."""
    conf = client_conf(settings)
    conf.update(
        {
            "linger.ms": 20,
            "batch.num.messages": 10_000,
            "batch.size": 1_048_576,
            "compression.type": "zstd",
            "message.max.bytes": DEFAULT_MESSAGE_MAX_BYTES,
        }
    )
    conf.update(settings.kafka.producer)
    # guarantees the platform relies on: not overridable from config. One request in flight per broker: with
    # several, a broker restart answers the later ones OUT_OF_ORDER_SEQUENCE_NUMBER once the first failed, and
    # librdkafka then bumps the producer epoch and re-sends under new sequence numbers the records of other
    # partitions that the broker may already have written (they land twice). With one, a retry keeps its sequence
    # numbers and the broker drops what it already has -- except for a record in flight when the broker went away,
    # which an epoch bump during the recovery can still re-send (collector README, "Duplicates").
    conf.update(
        {
            "enable.idempotence": True,
            "acks": "all",
            "max.in.flight.requests.per.connection": 1,
            "queue.buffering.max.messages": settings.ingest.max_buffered_messages,
            "message.timeout.ms": settings.ingest.delivery_timeout_ms,
        }
    )
    return conf
