"""The producer core: contract-checked events to their topic, rejects to the dead-letter topic, deliveries tracked.

Every valid event is encoded as Avro in the Confluent wire format under its contract's registered schema id
(looked up once per contract), keyed by the contract's key, and produced with idempotence and ``acks=all``. An
event that breaks its contract is produced to ``<topic>.dlq`` with its payload, the reasons and its source.
Nothing is dropped: the delivery report of every record is counted, and failures are kept for the caller.

An event whose encoded record is larger than the producer's ``message.max.bytes`` (what Kafka takes) breaks no
field rule but can never be written: it is rejected like a contract error, with the rule ``size``, before it is
produced (and so is one librdkafka refuses with ``MSG_SIZE_TOO_LARGE``). A dead letter is kept within the same
bound: a payload too large is kept as its first 64 KiB, its size and its sha256 (:func:`~dp_ingest.dlq.dead_letter`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from dp_contracts.model import Contract
from dp_contracts.plausibility import EventTimeBounds
from dp_contracts.registry import call
from dp_core.config import PlatformSettings
from dp_ingest.codec import ContractCodec
from dp_ingest.dlq import Source, TruncatedPayload, dead_letter, dead_letter_headers
from dp_ingest.errors import BackpressureError, FieldError, IngestError, InvalidEventError, MessageTooLargeError
from dp_ingest.kafka import DEFAULT_MESSAGE_MAX_BYTES, producer_conf

DeliveryCallback = Callable[[bool, str | None], None]
SchemaIdResolver = Callable[[Contract], int]
#: Kafka record headers, as confluent-kafka takes them
Headers = list[tuple[str, str | bytes | None]]
MAX_KEPT_FAILURES = 100
#: librdkafka's bound on the framing of one record (length, attributes, timestamp and offset deltas, key and value
#: lengths, header count: varints at their widest) ...
RECORD_OVERHEAD = 36
#: ... and of the two length varints of one header
HEADER_OVERHEAD = 20
#: a dead letter is keyed by its event's key unless that is longer than this (then it has no key)
MAX_DEAD_LETTER_KEY_BYTES = 1024
#: a dead letter refused as too large by librdkafka is retried with half the bytes, down to this
MIN_DEAD_LETTER_BUDGET = 1024


def record_size(key: bytes | None, value: bytes, headers: Headers | None) -> int:
    """The bytes librdkafka counts against ``message.max.bytes`` for a record (or a few more, never fewer)."""
    size = RECORD_OVERHEAD + len(value) + (len(key) if key else 0)
    for name, header_value in headers or ():
        size += HEADER_OVERHEAD + len(name.encode()) + _byte_length(header_value)
    return size


def _byte_length(value: str | bytes | None) -> int:
    if value is None:
        return 0
    return len(value.encode()) if isinstance(value, str) else len(value)


@dataclass
class DeliveryStats:
    """Counts of what happened to every record handed to the producer."""

    accepted: int = 0
    rejected: int = 0
    delivered: int = 0
    dead_letters_delivered: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.accepted + self.rejected - self.delivered - self.dead_letters_delivered - self.failed


def registry_resolver(settings: PlatformSettings) -> SchemaIdResolver:
    """Schema ids from the registry: registered on first use when ``ingest.auto_register_schemas``, else looked up."""
    from confluent_kafka.schema_registry import Schema

    from dp_contracts.registry import registry_client

    client, url = registry_client(settings), settings.registry.url

    def resolve(contract: Contract) -> int:
        schema = Schema(contract.text, "AVRO")
        if settings.ingest.auto_register_schemas:
            return int(
                call(url, f"register {contract.subject}", lambda: client.register_schema(contract.subject, schema))
            )
        found = call(url, f"look up {contract.subject}", lambda: client.lookup_schema(contract.subject, schema))
        return int(found.schema_id or 0)

    return resolve


class EventProducer:
    """Produces the events of a set of contracts."""

    def __init__(
        self,
        settings: PlatformSettings,
        contracts: list[Contract],
        *,
        resolve_schema_id: SchemaIdResolver | None = None,
        producer: Any = None,
        conf_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.contracts = {c.name: c for c in contracts}
        self._resolve = resolve_schema_id or registry_resolver(settings)
        self._codecs: dict[str, ContractCodec] = {}
        self._bounds = EventTimeBounds.from_settings(settings)
        self.stats = DeliveryStats()
        conf = {**producer_conf(settings), "error_cb": self._on_error, **(conf_overrides or {})}
        self._producer = producer if producer is not None else Producer(conf)
        #: the largest record Kafka takes (librdkafka's ``message.max.bytes``); larger events are rejected
        self.max_message_bytes = int(conf.get("message.max.bytes", DEFAULT_MESSAGE_MAX_BYTES))
        self.last_error: str | None = None

    # ------------------------------------------------------------------------------------------------------- codecs

    def contract(self, name: str) -> Contract:
        contract = self.contracts.get(name)
        if contract is None:
            from dp_contracts.errors import UnknownContractError

            raise UnknownContractError(name, sorted(self.contracts))
        return contract

    def codec(self, name: str) -> ContractCodec:
        codec = self._codecs.get(name)
        if codec is None:
            contract = self.contract(name)
            codec = ContractCodec(contract, self._resolve(contract), self._bounds)
            self._codecs[name] = codec
        return codec

    # -------------------------------------------------------------------------------------------------------- send

    def send(
        self,
        contract: str,
        event: Any,
        source: Source,
        *,
        on_delivery: DeliveryCallback | None = None,
        block_s: float = 30.0,
        headers: Headers | None = None,
    ) -> tuple[FieldError, ...]:
        """Produce one JSON event; returns () when accepted, else the errors it was dead-lettered with.

        An event whose record would be larger than :attr:`max_message_bytes` is rejected with the rule ``size``
        (and so is one librdkafka refuses as too large). ``headers`` go with the record (and with its dead letter),
        e.g. a run id and a sequence number that let a producer find out after a crash which of its records
        reached Kafka."""
        codec = self.codec(contract)
        try:
            datum = codec.to_datum(event)
            value = codec.encode_datum(datum)
        except InvalidEventError as exc:
            self.reject(
                contract, exc.errors, source, payload=event, on_delivery=on_delivery, block_s=block_s, headers=headers
            )
            return exc.errors
        key = str(datum[codec.key_field]).encode()
        size = record_size(key, value, headers)
        errors: tuple[FieldError, ...] = ()
        if size > self.max_message_bytes:
            errors = (self.size_error(size),)
        else:
            callback = self._callback(False, on_delivery)
            try:
                self._produce(codec.topic, key, value, headers, callback, block_s, codec.timestamp_ms(datum))
            except MessageTooLargeError as exc:  # librdkafka's own bound is lower than the one read from its conf
                errors = (self.size_error(size, str(exc)),)
        if errors:
            self.reject(
                contract, errors, source, payload=event, on_delivery=on_delivery, block_s=block_s, headers=headers
            )
            return errors
        self.stats.accepted += 1
        return ()

    def size_error(self, size: int, detail: str | None = None) -> FieldError:
        """The rejection of an event whose encoded record is ``size`` bytes, more than Kafka takes (``detail``: what
        librdkafka said, when it refused the record itself)."""
        if detail:
            return FieldError("", "size", f"the encoded event is {size} bytes, more than Kafka takes: {detail}")
        return FieldError(
            "",
            "size",
            f"the encoded event is {size} bytes, more than the {self.max_message_bytes} bytes Kafka takes "
            "(message.max.bytes)",
        )

    def send_datum(self, contract: str, datum: dict[str, Any], *, block_s: float = 30.0) -> None:
        """Produce an already-checked Avro datum (the simulator's fast path); encoding errors raise, and so does a
        record larger than :attr:`max_message_bytes` (:class:`MessageTooLargeError`)."""
        codec = self.codec(contract)
        value = codec.encode_datum(datum)
        key = str(datum[codec.key_field]).encode()
        size = record_size(key, value, None)
        if size > self.max_message_bytes:
            raise MessageTooLargeError(f"{contract}: {self.size_error(size).message}")
        self._produce(codec.topic, key, value, None, self._on_delivery, block_s, codec.timestamp_ms(datum))
        self.stats.accepted += 1

    def reject(
        self,
        contract: str,
        errors: tuple[FieldError, ...] | list[FieldError],
        source: Source,
        *,
        payload: Any = None,
        raw: bytes | TruncatedPayload | None = None,
        on_delivery: DeliveryCallback | None = None,
        block_s: float = 30.0,
        headers: Headers | None = None,
    ) -> None:
        """Produce a dead letter for an event of ``contract`` (which must exist) that cannot be accepted.

        The dead letter fits in :attr:`max_message_bytes`: a payload too large for it is kept truncated (its
        start, size and sha256), and so is ``raw`` given as a :class:`~dp_ingest.dlq.TruncatedPayload`."""
        found = self.contract(contract)
        key = None
        if isinstance(payload, dict):
            key_value = payload.get(found.meta.key)
            key = str(key_value).encode() if key_value is not None else None
            if key is not None and len(key) > MAX_DEAD_LETTER_KEY_BYTES:
                key = None
        all_headers = [*dead_letter_headers(contract, errors, source), *(headers or [])]
        budget = self.max_message_bytes - record_size(key, b"", all_headers)
        callback = self._callback(True, on_delivery)
        while True:
            value, _ = dead_letter(contract, found.topic, errors, source, payload, raw, max_bytes=budget)
            try:
                self._produce(found.dlq_topic, key, value, all_headers, callback, block_s)
                break
            except MessageTooLargeError:  # librdkafka's own bound is lower than the one read from its conf
                if budget <= MIN_DEAD_LETTER_BUDGET:
                    raise
                budget = max(MIN_DEAD_LETTER_BUDGET, min(budget, len(value)) // 2)
        self.stats.rejected += 1

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Headers | None,
        callback: Callable[[KafkaError | None, Message], None],
        block_s: float,
        timestamp_ms: int | None = None,
    ) -> None:
        deadline = time.monotonic() + block_s
        while True:
            try:
                if timestamp_ms is None:
                    self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=callback)
                else:
                    self._producer.produce(
                        topic, value=value, key=key, headers=headers, on_delivery=callback, timestamp=timestamp_ms
                    )
                return
            except BufferError:
                if time.monotonic() >= deadline:
                    raise BackpressureError(
                        f"the producer buffer is full ({self.settings.ingest.max_buffered_messages} records "
                        f"waiting for Kafka at {self.settings.kafka.bootstrap_servers})"
                    ) from None
                self._producer.poll(0.05)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if isinstance(error, KafkaError) and error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                    raise MessageTooLargeError(f"cannot produce to {topic}: {error.str()}") from exc
                raise IngestError(f"cannot produce to {topic}: {exc}") from exc

    # ---------------------------------------------------------------------------------------------------- delivery

    def _callback(self, dead: bool, user: DeliveryCallback | None) -> Callable[[KafkaError | None, Message], None]:
        if not dead and user is None:
            return self._on_delivery

        def callback(err: KafkaError | None, msg: Message) -> None:
            self._record(err, msg, dead)
            if user is not None:
                user(err is None, None if err is None else str(err))

        return callback

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        self._record(err, msg, False)

    def _record(self, err: KafkaError | None, msg: Message, dead: bool) -> None:
        if err is None:
            if dead:
                self.stats.dead_letters_delivered += 1
            else:
                self.stats.delivered += 1
            return
        self.stats.failed += 1
        if len(self.stats.failures) < MAX_KEPT_FAILURES:
            self.stats.failures.append(f"{msg.topic()} key={msg.key()!r}: {err}")

    def _on_error(self, err: KafkaError) -> None:
        self.last_error = str(err)

    def poll(self, timeout: float = 0.0) -> int:
        return int(self._producer.poll(timeout))

    def flush(self, timeout: float) -> int:
        """Wait for every record's delivery report; returns how many are still undelivered after ``timeout``."""
        return int(self._producer.flush(timeout))

    def buffered(self) -> int:
        return len(self._producer)
