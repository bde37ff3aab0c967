"""Topics provisioned from the contracts: one per contract plus its dead-letter topic."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_ingest.errors import BrokerUnavailableError, IngestError
from dp_ingest.kafka import client_conf

#: topic configs that let records carry event times far from the broker's clock (Kafka 4 refuses > 1 h ahead)
ANY_TIMESTAMP = {"message.timestamp.after.max.ms": str(2**63 - 1), "message.timestamp.before.max.ms": str(2**63 - 1)}


@dataclass(frozen=True, kw_only=True)
class TopicSpec:
    """A topic as a contract (and config) asks for it."""

    name: str
    contract: str
    """The contract whose records it holds (or the job output it is)."""
    role: str
    """``"events"``, ``"reference"``, ``"dead letters"`` or ``"derived"`` (a job's output)."""
    partitions: int
    replication_factor: int
    config: dict[str, str]
    """Topic configs: retention, cleanup policy, timestamp bounds."""


def topic_specs(contracts: list[Contract], settings: PlatformSettings) -> list[TopicSpec]:
    """Events: delete after ``kafka.topics.retention_ms``; reference data: compacted (latest per key);
    dead letters: one partition, kept ``ingest.dlq_retention_ms``.

    Records of events and reference data carry their event time as the Kafka timestamp (stream processors take
    watermarks from it), so those topics accept timestamps at any distance from the broker's clock: replays and
    simulations produce event times in the past and, faster than real time, in the future. Time-based retention
    counts from the event time, so it would delete a replay of old events before Bronze reads it: by default event
    topics are bounded by size (``kafka.topics.retention_bytes``) and not by time (``retention_ms: -1``)."""
    defaults = settings.kafka.topics
    specs = []
    for c in contracts:
        if c.meta.kind == "reference":
            config = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0", **ANY_TIMESTAMP}
            role = "reference"
        else:
            config = {
                "cleanup.policy": "delete",
                "retention.ms": str(defaults.retention_ms),
                "retention.bytes": str(defaults.retention_bytes),
                **ANY_TIMESTAMP,
            }
            role = "events"
        specs.append(
            TopicSpec(
                name=c.topic,
                contract=c.name,
                role=role,
                partitions=defaults.partitions,
                replication_factor=defaults.replication_factor,
                config=config,
            )
        )
        specs.append(
            TopicSpec(
                name=c.dlq_topic,
                contract=c.name,
                role="dead letters",
                partitions=1,
                replication_factor=defaults.replication_factor,
                config={"cleanup.policy": "delete", "retention.ms": str(settings.ingest.dlq_retention_ms)},
            )
        )
    return specs


@dataclass(frozen=True)
class ProvisionResult:
    created: list[str]
    existing: list[str]
    warnings: list[str]


def provision(settings: PlatformSettings, specs: list[TopicSpec], timeout: float = 30.0) -> ProvisionResult:
    """Create the topics that do not exist (idempotent); report existing ones whose partitioning differs."""
    admin = AdminClient(client_conf(settings))
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerUnavailableError(f"Kafka at {settings.kafka.bootstrap_servers} unreachable: {exc}") from exc
    existing = {name: len(t.partitions) for name, t in metadata.topics.items()}
    missing = [s for s in specs if s.name not in existing]
    warnings = [
        f"{s.name} has {existing[s.name]} partitions, the contract's topics get {s.partitions}"
        for s in specs
        if s.name in existing and existing[s.name] != s.partitions
    ]
    created = []
    if missing:
        futures: dict[str, Any] = admin.create_topics(
            [
                NewTopic(s.name, num_partitions=s.partitions, replication_factor=s.replication_factor, config=s.config)
                for s in missing
            ],
            operation_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout)
                created.append(name)
            except KafkaException as exc:
                if exc.args and getattr(exc.args[0], "code", lambda: None)() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue  # created meanwhile by a concurrent run
                raise IngestError(f"cannot create topic {name}: {exc}") from exc
    return ProvisionResult(sorted(created), sorted(s.name for s in specs if s.name in existing), warnings)


def delete_topics(settings: PlatformSettings, topics: Iterable[str], timeout_s: float = 60.0) -> list[str]:
    """Delete those of ``topics`` that exist and wait until they are gone; returns the deleted ones."""
    admin = AdminClient(client_conf(settings) | {"log_level": 3})
    try:
        existing = set(admin.list_topics(timeout=15).topics)
    except KafkaException as exc:
        raise BrokerUnavailableError(f"Kafka at {settings.kafka.bootstrap_servers} unreachable: {exc}") from exc
    doomed = [t for t in topics if t in existing]
    if not doomed:
        return []
    await_admin(admin.delete_topics(doomed, operation_timeout=30), "delete topic")
    deadline = time.monotonic() + timeout_s
    while set(doomed) & set(admin.list_topics(timeout=15).topics):
        if time.monotonic() > deadline:
            raise IngestError(f"topics {', '.join(doomed)} still exist {timeout_s:.0f} s after their deletion")
        time.sleep(0.5)
    return doomed


def await_admin(futures: Mapping[str, Any], action: str) -> None:
    """Wait for every future of an admin request (name -> future); the first that failed raises an
    :class:`IngestError` naming the action and the name: ``cannot delete topic t: <Kafka's reason>``."""
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise IngestError(f"cannot {action} {name}: {exc}") from None
