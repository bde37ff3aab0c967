"""An in-memory stand-in for ``confluent_kafka.Producer`` (and the broker probe), for tests and local runs.

It honours the parts of librdkafka's contract the collector relies on: ``produce`` raises ``BufferError`` when
``queue.buffering.max.messages`` records wait; delivery reports and ``error_cb`` calls are served by ``poll`` and
``flush`` only; ``len()`` is the number of records waiting. The "cluster" can be taken down and brought back.

Use it through :class:`~dp_ingest.producer.EventProducer`::

    fake = InMemoryProducer(capacity=10)
    factory = lambda settings, contracts, conf: EventProducer(
        settings, contracts, resolve_schema_id=lambda c: 1, producer=fake.configure(conf)
    )
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError

from dp_ingest.errors import BrokerUnavailableError

Headers = list[tuple[str, str | bytes | None]] | None
DeliveryReport = Callable[[KafkaError | None, "InMemoryMessage"], None]


@dataclass(frozen=True)
class InMemoryMessage:
    """A produced record, with the accessors of ``confluent_kafka.Message``."""

    _topic: str
    _key: bytes | None
    _value: bytes
    _headers: Headers
    _offset: int = -1

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes:
        return self._value

    def headers(self) -> Headers:
        return self._headers

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


class InMemoryProducer:
    """A bounded producer whose "topics" are lists.

    Args:
        capacity: records that may wait for delivery (librdkafka's ``queue.buffering.max.messages``); taken from
            the configuration passed to :meth:`configure` when not given.
        auto_deliver: deliver every waiting record on each ``poll``/``flush`` (else only :meth:`deliver` does).
    """

    def __init__(self, capacity: int | None = None, auto_deliver: bool = True) -> None:
        self.conf: dict[str, Any] = {}
        self.capacity = capacity
        self.auto_deliver = auto_deliver
        self.brokers_up = True
        #: when set, produce() raises BufferError after this many more records (a byte limit hit mid-request)
        self.buffer_error_after: int | None = None
        self.topics: dict[str, list[InMemoryMessage]] = {}
        self._waiting: deque[tuple[InMemoryMessage, DeliveryReport | None]] = deque()
        self._errors: deque[KafkaError] = deque()
        self._lock = threading.RLock()

    def configure(self, conf: Mapping[str, Any]) -> InMemoryProducer:
        """Take the librdkafka configuration (``error_cb``, the buffer bound) as a real producer would."""
        self.conf = dict(conf)
        if self.capacity is None:
            self.capacity = int(self.conf.get("queue.buffering.max.messages", 100_000))
        return self

    # ---------------------------------------------------------------------------------------- producer interface

    def produce(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: Headers = None,
        on_delivery: DeliveryReport | None = None,
        **_: Any,
    ) -> None:
        with self._lock:
            if self.buffer_error_after is not None:
                if self.buffer_error_after <= 0:
                    raise BufferError("Local: Queue full")
                self.buffer_error_after -= 1
            if self.capacity is not None and len(self._waiting) >= self.capacity:
                raise BufferError("Local: Queue full")
            self._waiting.append((InMemoryMessage(topic, key, value or b"", headers), on_delivery))

    def poll(self, timeout: float | None = None) -> int:
        return self._serve()

    def flush(self, timeout: float | None = None) -> int:
        self._serve()
        return len(self._waiting)

    def __len__(self) -> int:
        return len(self._waiting)

    # ----------------------------------------------------------------------------------------------- the cluster

    def probe(self, timeout: float) -> None:
        """A metadata request: raises :class:`BrokerUnavailableError` while the cluster is down."""
        if not self.brokers_up:
            raise BrokerUnavailableError("in-memory cluster is down")

    def take_down(self) -> None:
        """Stop the "cluster": records wait, and the next poll reports all brokers down."""
        with self._lock:
            self.brokers_up = False
            self._errors.append(KafkaError(KafkaError._ALL_BROKERS_DOWN))

    def bring_back(self) -> None:
        with self._lock:
            self.brokers_up = True

    def deliver(self, count: int | None = None, error: KafkaError | None = None) -> int:
        """Report the delivery of the oldest ``count`` waiting records (all by default), failed with ``error``."""
        delivered = 0
        while self._waiting and (count is None or delivered < count):
            with self._lock:
                message, callback = self._waiting.popleft()
                if error is None:
                    stored = self.topics.setdefault(message.topic(), [])
                    message = InMemoryMessage(
                        message._topic, message._key, message._value, message._headers, len(stored)
                    )
                    stored.append(message)
            if callback is not None:
                callback(error, message)
            delivered += 1
        return delivered

    def messages(self, topic: str) -> list[InMemoryMessage]:
        """The records delivered to ``topic``, in order."""
        return list(self.topics.get(topic, []))

    def _serve(self) -> int:
        served = 0
        error_cb = self.conf.get("error_cb")
        while self._errors:
            err = self._errors.popleft()
            if error_cb is not None:
                error_cb(err)
            served += 1
        if self.auto_deliver and self.brokers_up:
            served += self.deliver()
        return served
