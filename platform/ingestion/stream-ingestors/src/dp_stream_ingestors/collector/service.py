"""The collector's core: batches of JSON events into the producer, every record tracked until Kafka has it.

* **One producer, one lock.** Every call into the producer -- a request's sends, the background poll that serves
  delivery reports, the final flush -- holds :attr:`Collector._lock`, so the delivery bookkeeping is never
  updated by two threads at once. A request's events are produced in one go (validation and Avro encoding are
  CPU-bound and the GIL serialises them anyway).
* **All or nothing.** Before producing anything, a request checks that the broker is available and that the
  producer's bounded buffer has room for *all* its records (one per event: the event on its topic or a dead
  letter). As nothing else produces while the lock is held, the room cannot shrink under it: a full buffer is a
  503 with nothing taken, and the client resends the whole request. Should the producer still refuse a record
  part-way (librdkafka's byte bound, a produce error), the answer says exactly how far it got
  (:class:`~dp_stream_ingestors.collector.errors.RequestInterruptedError`). An event too large for Kafka is not
  such a refusal: the producer core rejects it (rule ``size``) and dead-letters it, like an event breaking its
  contract, so it is in the 202 answer's errors (a resend could never get past it).
* **Nothing acknowledged is forgotten.** Each record is in a ledger from ``produce`` until its delivery report:
  successes are counted, failures are counted, logged and kept (request id, contract, index, reason), and at
  shutdown :meth:`Collector.drain` flushes, then reports what was delivered and what was not.
* **A 202 means "in Kafka"** (``ingest.collector.ack: delivered``, the default). A request's records also point
  to its :class:`RequestDelivery` -- the indexes still waiting for a report, those Kafka refused -- which calls the
  request back when its last report arrives; the route awaits that call (bounded by
  ``ingest.collector.ack_timeout_s``) and :meth:`Collector.conclude` turns what arrived into the 202 or a 503
  naming the events to resend (``not_delivered``) or still on their way (``delivery_pending``). With
  ``ack: buffered`` nothing waits: the 202 is answered once the records are in the producer's buffer.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from dp_contracts.errors import UnknownContractError
from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_core.errors import PlatformError
from dp_ingest.dlq import Source
from dp_ingest.errors import BrokerUnavailableError
from dp_ingest.kafka import client_conf
from dp_ingest.producer import EventProducer
from dp_stream_ingestors.collector.body import Batch, Format, parse_body
from dp_stream_ingestors.collector.errors import (
    DeliveryPendingError,
    NotDeliveredError,
    RequestInterruptedError,
    ServiceUnavailableError,
    StartupError,
    TooManyEventsError,
)
from dp_stream_ingestors.collector.health import BrokerHealth, BrokerStatus
from dp_stream_ingestors.collector.metrics import Metrics

log = logging.getLogger(__name__)

#: builds the producer from the settings, the contracts and the librdkafka properties the collector needs
#: (its ``error_cb`` and ``logger``); pass them on as ``conf_overrides``
ProducerFactory = Callable[[PlatformSettings, list[Contract], Mapping[str, Any]], EventProducer]
#: a cheap metadata request with a timeout (seconds); raises BrokerUnavailableError when Kafka cannot be reached
BrokerProbe = Callable[[float], None]

MAX_KEPT_FAILED_RECORDS = 100_000
MAX_LOGGED_FAILURES = 100


def kafka_producer(settings: PlatformSettings, contracts: list[Contract], conf: Mapping[str, Any]) -> EventProducer:
    """The real producer (schema ids from the registry)."""
    return EventProducer(settings, contracts, conf_overrides=conf)


def kafka_probe(settings: PlatformSettings, topic: str) -> BrokerProbe:
    """A probe asking the cluster for the metadata of one topic, through a quiet client of its own."""
    admin = AdminClient({**client_conf(settings), "log_level": 0})
    servers = settings.kafka.bootstrap_servers

    def probe(timeout: float) -> None:
        try:
            admin.list_topics(topic=topic, timeout=timeout)
        except KafkaException as exc:
            raise BrokerUnavailableError(f"Kafka at {servers} did not answer a metadata request: {exc}") from exc

    return probe


@dataclass(eq=False)
class RequestDelivery:
    """The delivery reports one request waits for (``ack: delivered``): its records' indexes still waiting, and
    those Kafka refused (one record per event: the event or its dead letter).

    Only touched under :attr:`Collector._lock`. Once the request has produced all its records (``sealed``) and the
    last report arrived, ``notify`` is called, once, from the thread serving the reports.
    """

    notify: Callable[[], None]
    pending: set[int] = field(default_factory=set)
    undelivered: list[int] = field(default_factory=list)
    sealed: bool = False

    @property
    def done(self) -> bool:
        return self.sealed and not self.pending

    def seal(self) -> None:
        """Every record of the request is produced: from now on the last report completes it."""
        self.sealed = True
        self._notify_if_done()

    def report(self, index: int, ok: bool) -> None:
        """The delivery report of the record of the event at ``index``."""
        self.pending.discard(index)
        if not ok:
            self.undelivered.append(index)
        self._notify_if_done()

    def _notify_if_done(self) -> None:
        if self.done:
            notify, self.notify = self.notify, _nothing
            notify()


def _nothing() -> None:
    pass


@dataclass(slots=True)
class PendingRecord:
    """One record handed to the producer and not yet reported on."""

    contract: str
    request_id: str
    index: int
    event_id: str | None
    dead_letter: bool = False
    delivery: RequestDelivery | None = None


@dataclass(frozen=True)
class EventErrors:
    """Why the event at ``index`` of a request (``line`` of an NDJSON body) was rejected."""

    index: int
    errors: list[dict[str, str]]
    line: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a request's events (all of them were handed to the producer)."""

    request_id: str
    contract: str
    accepted: int
    rejected: int
    errors: list[EventErrors]
    #: the request's delivery reports, when it waits for them (``ack: delivered``)
    delivery: RequestDelivery | None = None


@dataclass
class Undeliverable:
    """Records of one request that Kafka did not take, by the reason."""

    request_id: str
    contract: str
    reason: str
    indexes: list[int] = field(default_factory=list)


def _ranges(indexes: list[int]) -> str:
    """``0-3, 7, 9-10``."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = prev = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ", ".join(parts)


@dataclass(frozen=True)
class Summary:
    """The account of a collector run: what was taken, what Kafka acknowledged, what it did not."""

    accepted: int
    rejected: int
    delivered: int
    dead_letters_delivered: int
    failed: int
    still_waiting: int
    undeliverable: list[Undeliverable]
    not_detailed: int = 0

    @property
    def undeliverable_count(self) -> int:
        return self.failed + self.still_waiting

    @property
    def ok(self) -> bool:
        return self.undeliverable_count == 0

    def lines(self) -> list[str]:
        """The summary as printed at shutdown."""
        out = [
            f"collector summary: accepted {self.accepted}, rejected {self.rejected}; "
            f"delivered {self.delivered} event(s) and {self.dead_letters_delivered} dead letter(s); "
            f"undeliverable {self.undeliverable_count}"
        ]
        if not self.ok:
            out.append(
                f"  {self.failed} record(s) failed and {self.still_waiting} were still waiting for Kafka "
                "(taken from requests but not in Kafka):"
            )
            for group in self.undeliverable:
                noun = "index" if len(group.indexes) == 1 else "indexes"
                out.append(
                    f"  request {group.request_id} {group.contract} {noun} {_ranges(group.indexes)}: {group.reason}"
                )
            if self.not_detailed:
                out.append(f"  ... and {self.not_detailed} more failed record(s) not kept in detail")
        return out


@dataclass(frozen=True)
class Tuning:
    """Timings and bounds of the collector that are not (yet) settings.

    Attributes:
        stall_s: records waiting and no delivery acknowledged for this long marks the broker down.
        send_block_s: how long one produce may wait for room in the buffer before the request is cut short.
        poll_interval_s: how often delivery reports are served.
        probe_interval_s: how often the broker is probed while down or not checked yet.
        probe_every_s: how often it is probed while up.
        probe_timeout_s: the timeout of one probe.
        max_concurrent_requests: POSTs processed at once; beyond, 503 (this bounds the memory of bodies in
            flight to about ``max_concurrent_requests * max_body_bytes`` plus their parsed form).
    """

    stall_s: float = 15.0
    send_block_s: float = 0.5
    poll_interval_s: float = 0.05
    probe_interval_s: float = 1.0
    probe_every_s: float = 15.0
    probe_timeout_s: float = 2.0
    max_concurrent_requests: int = 16


class Collector:
    """The state of one collector process: the producer, the delivery ledger, broker health and metrics.

    Args:
        settings: the platform settings (``ingest``, ``ingest.collector``, ``kafka``).
        contracts: the contracts events may be posted to.
        producer_factory: builds the :class:`EventProducer` (over an in-memory producer in unit tests).
        broker_probe: the metadata probe; by default a Kafka admin client's ``list_topics``.
        tuning: timings and bounds.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        settings: PlatformSettings,
        contracts: list[Contract],
        producer_factory: ProducerFactory = kafka_producer,
        *,
        broker_probe: BrokerProbe | None = None,
        tuning: Tuning | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not contracts:
            raise StartupError("the collector needs at least one contract (schemas/avro/<domain>/<name>.avsc)")
        self.settings = settings
        self.limits = settings.ingest.collector
        self.contract_names = sorted(c.name for c in contracts)
        self.metrics = Metrics(self.contract_names)
        self.clock = clock
        self.tuning = tuning or Tuning()
        self.health = BrokerHealth(self.tuning.stall_s, clock())
        self.draining = False
        self.in_flight = 0  # POSTs being processed; only touched from the event loop
        self.accepted = self.rejected = 0
        self.delivered = self.dead_letters_delivered = self.failed = 0
        self._lock = threading.Lock()
        self._pending: dict[int, PendingRecord] = {}
        self._seq = itertools.count()
        self._failures: dict[tuple[str, str, str], Undeliverable] = {}
        self._kept_failures = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_probe = float("-inf")
        conf: dict[str, Any] = {
            "error_cb": self._on_error,
            "logger": logging.getLogger("dp_stream_ingestors.collector.librdkafka"),
        }
        self.producer = producer_factory(settings, contracts, conf)
        self._probe = broker_probe or kafka_probe(settings, contracts[0].topic)

    # --------------------------------------------------------------------------------------------------- lifecycle

    def warm_up(self) -> None:
        """Resolve every contract's schema id now, so requests never wait for the registry.

        Raises:
            RegistryError: the registry refused or could not be reached.
        """
        with self._lock:
            for name in self.contract_names:
                self.producer.codec(name)

    def start(self) -> None:
        """Probe the broker once, then start the delivery-report poller and the health prober."""
        self._stop.clear()
        self._probe_once()
        for name, target in (("poll", self._poll_loop), ("probe", self._probe_loop)):
            thread = threading.Thread(target=target, name=f"dp-collector-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the background threads (the producer stays usable: :meth:`drain` flushes it)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def begin_drain(self) -> None:
        """From now on every request is answered 503 (the process is shutting down)."""
        if not self.draining:
            log.info("shutting down: new requests get 503; in-flight ones finish, then the producer is flushed")
        self.draining = True

    def drain(self, timeout_s: float, abandon: threading.Event | None = None) -> Summary:
        """Stop taking requests, wait up to ``timeout_s`` for every record's delivery report, and account.

        Args:
            timeout_s: the bound on the wait.
            abandon: when set (a second signal), stop waiting at once.
        """
        self.begin_drain()
        self.stop()
        deadline = self.clock() + timeout_s
        next_note = self.clock() + 5.0
        with self._lock:
            while self._pending:
                left = deadline - self.clock()
                if left <= 0 or (abandon is not None and abandon.is_set()):
                    break
                self.producer.flush(min(0.5, left))
                if self._pending and self.clock() >= next_note:
                    log.info("waiting for Kafka to acknowledge %d record(s)", len(self._pending))
                    next_note = self.clock() + 5.0
            self.producer.poll(0)
            return self._summary()

    def _summary(self) -> Summary:
        groups = {
            k: Undeliverable(v.request_id, v.contract, v.reason, list(v.indexes)) for k, v in self._failures.items()
        }
        for record in self._pending.values():
            key = (record.request_id, record.contract, "not acknowledged before the shutdown timeout")
            groups.setdefault(key, Undeliverable(*key)).indexes.append(record.index)
        return Summary(
            accepted=self.accepted,
            rejected=self.rejected,
            delivered=self.delivered,
            dead_letters_delivered=self.dead_letters_delivered,
            failed=self.failed,
            still_waiting=len(self._pending),
            undeliverable=[g for g in groups.values() if g.indexes],
            not_detailed=self.failed - self._kept_failures,
        )

    # ---------------------------------------------------------------------------------------------------- requests

    def check_contract(self, name: str) -> None:
        if name not in self.producer.contracts:
            raise UnknownContractError(name, self.contract_names)

    def check_available(self) -> None:
        """Raises ServiceUnavailableError when Kafka is not taking records.

        (Shutting down is checked when a request arrives, by the middleware: a request that arrived before the
        signal is finished, not refused half-way.)
        """
        status = self.health.status(self.clock())
        if not status.available:
            raise ServiceUnavailableError(f"Kafka is not taking records: {status.detail}", broker=status.state)

    def ingest(
        self, contract: str, body: bytes, fmt: Format, request_id: str, notify: Callable[[], None] | None = None
    ) -> Outcome:
        """Parse a request body and submit its events (runs in a worker thread)."""
        batch = parse_body(body, fmt, self.limits.max_events_per_request)
        return self.submit(contract, batch, request_id, notify)

    def submit(self, contract: str, batch: Batch, request_id: str, notify: Callable[[], None] | None = None) -> Outcome:
        """Validate and produce every event of a batch: valid ones to the topic, the others to the DLQ.

        Args:
            notify: when given, the outcome's :class:`RequestDelivery` calls it (from the thread serving the
                delivery reports) once every record of the request has its report; see :meth:`conclude`.

        Raises:
            ServiceUnavailableError: Kafka unavailable, or no room for the whole batch (nothing was produced).
            RequestInterruptedError: the producer refused a record part-way; says how far the request got.
        """
        count = len(batch.events)
        capacity = self.settings.ingest.max_buffered_messages
        if count > capacity:
            raise TooManyEventsError(
                f"the request has {count} events, more than the producer buffer holds "
                f"({capacity}, ingest.max_buffered_messages)",
                limit=capacity,
            )
        with self._lock:
            self.check_available()
            codec = self.producer.codec(contract)  # the schema id, before anything is produced
            buffered = self.producer.buffered()
            if buffered + count > capacity:
                raise ServiceUnavailableError(
                    f"the producer buffer is full: {buffered} of {capacity} records wait for Kafka and this "
                    f"request needs room for {count}; nothing of it was taken",
                    buffered=buffered,
                    capacity=capacity,
                )
            accepted = rejected = 0
            errors: list[EventErrors] = []
            delivery = RequestDelivery(notify) if notify is not None else None
            for index, event in enumerate(batch.events):
                line = batch.line_of(index)
                coordinates: dict[str, Any] = {"request_id": request_id, "index": index}
                if line is not None:
                    coordinates["line"] = line
                seq = next(self._seq)
                record = PendingRecord(contract, request_id, index, _event_id(event, codec.id_field), delivery=delivery)
                self._pending[seq] = record
                if delivery is not None:
                    delivery.pending.add(index)
                try:
                    problems = self.producer.send(
                        contract,
                        event,
                        Source("http", coordinates),
                        on_delivery=partial(self._on_delivery, seq),
                        block_s=self.tuning.send_block_s,
                    )
                except Exception as exc:
                    # this record was not produced; the ones before it were, and stay tracked (the answer says
                    # how far the request got; with ack: delivered it waits for their reports first)
                    del self._pending[seq]
                    if delivery is not None:
                        delivery.pending.discard(index)
                        delivery.seal()
                    self._count(contract, accepted, rejected)
                    self.health.on_pending(len(self._pending), self.clock())
                    log.error(
                        "request interrupted after %d of %d event(s): %s",
                        index,
                        count,
                        exc,
                        extra={"request_id": request_id, "contract": contract},
                    )
                    if not isinstance(exc, PlatformError):
                        raise
                    interrupted = RequestInterruptedError(
                        exc, index, accepted, rejected, errors=[_error_dict(e) for e in errors]
                    )
                    interrupted.delivery = delivery
                    raise interrupted from exc
                if problems:
                    record.dead_letter = True
                    rejected += 1
                    errors.append(EventErrors(index, [p.as_dict() for p in problems], line))
                else:
                    accepted += 1
            self._count(contract, accepted, rejected)
            self.health.on_pending(len(self._pending), self.clock())
            if delivery is not None:
                delivery.seal()
        return Outcome(request_id, contract, accepted, rejected, errors, delivery)

    def conclude(self, outcome: Outcome, waited_s: float) -> None:
        """After a request waited for its delivery reports (``ack: delivered``): a 202, or the 503 saying which
        events are not in Kafka. The request is no longer called back.

        Args:
            outcome: what :meth:`submit` returned (with its ``delivery``).
            waited_s: how long the request waited (for the ``dp_collector_ack_wait_seconds`` histogram).

        Raises:
            NotDeliveredError: Kafka refused some records; they are named, the others are written.
            DeliveryPendingError: some records were still waiting for their report after ``ack_timeout_s``.
        """
        delivery = outcome.delivery
        if delivery is None:
            return
        with self._lock:
            delivery.notify = _nothing
            pending, undelivered = sorted(delivery.pending), sorted(delivery.undelivered)
        errors = [_error_dict(e) for e in outcome.errors]
        where = {"request_id": outcome.request_id, "contract": outcome.contract}
        if pending:
            self.metrics.observe_ack("delivery_pending", waited_s)
            log.warning("answered 503: %d record(s) not acknowledged after %.1f s", len(pending), waited_s, extra=where)
            raise DeliveryPendingError(
                pending, self.limits.ack_timeout_s, outcome.accepted, outcome.rejected, undelivered, errors=errors
            )
        if undelivered:
            self.metrics.observe_ack("not_delivered", waited_s)
            log.warning("answered 503: %d record(s) not delivered", len(undelivered), extra=where)
            raise NotDeliveredError(undelivered, outcome.accepted, outcome.rejected, errors=errors)
        self.metrics.observe_ack("delivered", waited_s)

    def conclude_interrupted(self, interrupted: RequestInterruptedError) -> None:
        """After an interrupted request waited for the reports of the records it did produce (``ack: delivered``):
        its answer also names those of ``[0, processed)`` Kafka refused (``undelivered``) or has not acknowledged
        yet (``pending``); the others are in Kafka."""
        delivery = interrupted.delivery
        if not isinstance(delivery, RequestDelivery):
            return
        with self._lock:
            delivery.notify = _nothing
            pending, undelivered = sorted(delivery.pending), sorted(delivery.undelivered)
        if pending:
            interrupted.details["pending"] = pending
        if undelivered:
            interrupted.details["undelivered"] = undelivered

    def _count(self, contract: str, accepted: int, rejected: int) -> None:
        self.accepted += accepted
        self.rejected += rejected
        self.metrics.count_events(contract, accepted, rejected)

    # ------------------------------------------------------------------------------------------------ deliveries

    def _on_delivery(self, seq: int, ok: bool, error: str | None) -> None:
        """A delivery report (served by poll/flush, so under the lock): the ledger, then the request waiting."""
        record = self._pending.pop(seq, None)
        self._account(record, ok, error)
        if record is not None and record.delivery is not None:
            record.delivery.report(record.index, ok)

    def _account(self, record: PendingRecord | None, ok: bool, error: str | None) -> None:
        """Count a delivery report; keep and log a failure."""
        self.metrics.count_delivery(ok)
        if ok:
            self.health.on_delivery(self.clock())
            if record is not None and record.dead_letter:
                self.dead_letters_delivered += 1
            else:
                self.delivered += 1
            return
        self.failed += 1
        if record is None:  # pragma: no cover - every record is in the ledger
            log.error("a record was not delivered: %s", error)
            return
        reason = error or "delivery failed"
        if self._kept_failures < MAX_KEPT_FAILED_RECORDS:
            key = (record.request_id, record.contract, reason)
            self._failures.setdefault(key, Undeliverable(*key)).indexes.append(record.index)
            self._kept_failures += 1
        if self.failed <= MAX_LOGGED_FAILURES:
            log.error(
                "a record taken from a request was not delivered: %s",
                reason,
                extra={
                    "request_id": record.request_id,
                    "contract": record.contract,
                    "index": record.index,
                    "event_id": record.event_id,
                    "dead_letter": record.dead_letter,
                },
            )
            if self.failed == MAX_LOGGED_FAILURES:
                log.error("further delivery failures are counted (metrics, shutdown summary) but not logged")

    def _on_error(self, err: KafkaError) -> None:
        """librdkafka's error callback (served by poll)."""
        before = self.health.status(self.clock())
        self.health.on_error(err, self.clock())
        self.producer.last_error = str(err)
        after = self.health.status(self.clock())
        if after.state == "down" and before.state != "down":
            log.warning("Kafka is not taking records: %s", after.detail)
        else:
            log.debug("librdkafka error: %s", err.str())

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.tuning.poll_interval_s):
            try:
                with self._lock:
                    self.producer.poll(0)
                    self.health.on_pending(len(self._pending), self.clock())
            except Exception:
                log.exception("serving delivery reports failed")

    def _probe_once(self) -> None:
        before = self.health.status(self.clock())
        started = self.clock()
        error: str | None = None
        try:
            self._probe(self.tuning.probe_timeout_s)
        except PlatformError as exc:
            error = str(exc)
        self._last_probe = started
        self.health.on_probe(started, error, self.clock())
        after = self.health.status(self.clock())
        if after.state != before.state:
            if after.state == "up":
                log.info("Kafka is reachable", extra={"bootstrap_servers": self.settings.kafka.bootstrap_servers})
            else:
                log.warning("Kafka is not taking records: %s", after.detail)

    def _probe_loop(self) -> None:
        while not self._stop.wait(self.tuning.probe_interval_s):
            if self.health.needs_probe() or self.clock() - self._last_probe >= self.tuning.probe_every_s:
                try:
                    self._probe_once()
                except Exception:
                    log.exception("probing Kafka failed")

    # ------------------------------------------------------------------------------------------------ reporting

    def broker_status(self) -> BrokerStatus:
        return self.health.status(self.clock())

    def records_pending(self) -> int:
        return len(self._pending)

    def gauges(self) -> dict[str, tuple[str, float]]:
        status = self.broker_status()
        return {
            "dp_collector_records_pending": (
                "Records handed to the producer and not yet acknowledged by Kafka.",
                self.records_pending(),
            ),
            "dp_collector_producer_queue": (
                "Messages and requests in librdkafka's queue (bounded by ingest.max_buffered_messages).",
                self.producer.buffered(),
            ),
            "dp_collector_broker_up": ("1 when Kafka is taking records, else 0.", 1 if status.state == "up" else 0),
            "dp_collector_requests_in_flight": ("POST requests being processed.", self.in_flight),
            "dp_collector_draining": ("1 while shutting down.", 1 if self.draining else 0),
        }


def _event_id(event: Any, id_field: str) -> str | None:
    if isinstance(event, dict):
        value = event.get(id_field)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:200]
    return None


def _error_dict(errors: EventErrors) -> dict[str, Any]:
    out: dict[str, Any] = {"index": errors.index, "errors": errors.errors}
    if errors.line is not None:
        out["line"] = errors.line
    return out
