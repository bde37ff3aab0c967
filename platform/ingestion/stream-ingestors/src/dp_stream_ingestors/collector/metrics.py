"""The collector's metrics in the Prometheus text exposition format (version 0.0.4; see :mod:`dp_http.prometheus`).

Counters only ever grow; the records identity holds at any time::

    sum(accepted) + sum(rejected) == produced + delivery_failures + records_pending

(every accepted event is one record on its topic, every rejected one a record on the dead-letter topic).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Literal

from dp_http.prometheus import Exposition, Histogram

#: request latency buckets, in seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROUTES = ("events", "healthz", "metrics", "other")
#: how a request waiting for its delivery reports (``ack: delivered``) ended: 202, or one of the two 503s
AckOutcome = Literal["delivered", "not_delivered", "delivery_pending"]
ACK_OUTCOMES: tuple[AckOutcome, ...] = ("delivered", "not_delivered", "delivery_pending")
#: the wait is bounded by ingest.collector.ack_timeout_s (30 s by default)
ACK_BUCKETS = (*BUCKETS, 30.0, 60.0)


def route_of(path: str) -> str:
    """The ``route`` label of a path (a fixed set, so clients cannot blow up the label cardinality)."""
    if path.startswith("/v1/events/"):
        return "events"
    if path in ("/healthz", "/metrics"):
        return path[1:]
    return "other"


class Metrics:
    """Counters and a latency histogram, updated from the request and delivery threads."""

    def __init__(self, contracts: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self.accepted = dict.fromkeys(contracts, 0)
        self.rejected = dict.fromkeys(self.accepted, 0)
        self.produced = 0
        self.delivery_failures = 0
        self.requests: dict[tuple[str, str], int] = {}
        self._latency = {route: Histogram(BUCKETS) for route in ROUTES}
        self._ack_wait = {outcome: Histogram(ACK_BUCKETS) for outcome in ACK_OUTCOMES}

    def count_events(self, contract: str, accepted: int, rejected: int) -> None:
        with self._lock:
            self.accepted[contract] = self.accepted.get(contract, 0) + accepted
            self.rejected[contract] = self.rejected.get(contract, 0) + rejected

    def count_delivery(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.produced += 1
            else:
                self.delivery_failures += 1

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            self._latency[route].observe(seconds)

    def observe_ack(self, outcome: AckOutcome, seconds: float) -> None:
        """A request waited ``seconds`` for its delivery reports, with ``outcome`` (one of :data:`ACK_OUTCOMES`)."""
        with self._lock:
            self._ack_wait[outcome].observe(seconds)

    def render(self, gauges: Mapping[str, tuple[str, float]]) -> str:
        """The exposition text; ``gauges`` maps a metric name to (help, value)."""
        text = Exposition()
        with self._lock:
            text.counter(
                "dp_collector_events_accepted_total",
                "Events that passed their contract and were handed to the producer.",
                [({"contract": contract}, value) for contract, value in sorted(self.accepted.items())],
            )
            text.counter(
                "dp_collector_events_rejected_total",
                "Events that broke their contract and were handed to the producer for the dead-letter topic.",
                [({"contract": contract}, value) for contract, value in sorted(self.rejected.items())],
            )
            text.counter(
                "dp_collector_records_produced_total",
                "Records (events and dead letters) acknowledged by Kafka.",
                self.produced,
            )
            text.counter(
                "dp_collector_delivery_failures_total",
                "Records Kafka never acknowledged (delivery timeout or a permanent error).",
                self.delivery_failures,
            )
            text.counter(
                "dp_collector_requests_total",
                "HTTP requests answered, by route and status (499: the client closed the connection first).",
                [({"route": r, "status": s}, value) for (r, s), value in sorted(self.requests.items())],
            )
            for name, (help_text, level) in gauges.items():
                text.gauge(name, help_text, level)
            text.histogram(
                "dp_collector_request_seconds",
                "Time to answer an HTTP request, by route.",
                [({"route": route}, histogram) for route, histogram in self._latency.items()],
            )
            text.histogram(
                "dp_collector_ack_wait_seconds",
                "Time a POST waited for the delivery reports of its records (ack: delivered), by outcome: "
                "delivered (202), not_delivered or delivery_pending (503).",
                [({"outcome": outcome}, histogram) for outcome, histogram in self._ack_wait.items()],
            )
        return text.text()
