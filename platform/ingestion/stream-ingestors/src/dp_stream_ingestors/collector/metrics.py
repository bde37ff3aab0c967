"""The collector's metrics in the Prometheus text exposition format (version 0.0.4), written by hand.

Counters only ever grow; the records identity holds at any time::

    sum(accepted) + sum(rejected) == produced + delivery_failures + records_pending

(every accepted event is one record on its topic, every rejected one a record on the dead-letter topic).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: request latency buckets, in seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROUTES = ("events", "healthz", "metrics", "other")


def route_of(path: str) -> str:
    """The ``route`` label of a path (a fixed set, so clients cannot blow up the label cardinality)."""
    if path.startswith("/v1/events/"):
        return "events"
    if path in ("/healthz", "/metrics"):
        return path[1:]
    return "other"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{name}="{_escape(value)}"' for name, value in pairs)
    return "{" + body + "}" if body else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class _Histogram:
    counts: list[int]
    total: float = 0.0
    count: int = 0


class Metrics:
    """Counters and a latency histogram, updated from the request and delivery threads."""

    def __init__(self, contracts: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self.accepted = dict.fromkeys(contracts, 0)
        self.rejected = dict.fromkeys(self.accepted, 0)
        self.produced = 0
        self.delivery_failures = 0
        self.requests: dict[tuple[str, str], int] = {}
        self._latency = {route: _Histogram([0] * len(BUCKETS)) for route in ROUTES}

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
            histogram = self._latency[route]
            histogram.count += 1
            histogram.total += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    histogram.counts[i] += 1

    def render(self, gauges: Mapping[str, tuple[str, float]]) -> str:
        """The exposition text; ``gauges`` maps a metric name to (help, value)."""
        with self._lock:
            lines: list[str] = []

            def family(name: str, kind: str, help_text: str) -> None:
                lines.append(f"# HELP {name} {help_text}")
                lines.append(f"# TYPE {name} {kind}")

            family(
                "dp_collector_events_accepted_total",
                "counter",
                "Events that passed their contract and were handed to the producer.",
            )
            for contract, value in sorted(self.accepted.items()):
                lines.append(f"dp_collector_events_accepted_total{_labels([('contract', contract)])} {value}")
            family(
                "dp_collector_events_rejected_total",
                "counter",
                "Events that broke their contract and were handed to the producer for the dead-letter topic.",
            )
            for contract, value in sorted(self.rejected.items()):
                lines.append(f"dp_collector_events_rejected_total{_labels([('contract', contract)])} {value}")
            family(
                "dp_collector_records_produced_total",
                "counter",
                "Records (events and dead letters) acknowledged by Kafka.",
            )
            lines.append(f"dp_collector_records_produced_total {self.produced}")
            family(
                "dp_collector_delivery_failures_total",
                "counter",
                "Records Kafka never acknowledged (delivery timeout or a permanent error).",
            )
            lines.append(f"dp_collector_delivery_failures_total {self.delivery_failures}")
            family(
                "dp_collector_requests_total",
                "counter",
                "HTTP requests answered, by route and status (499: the client closed the connection first).",
            )
            for (route, status), value in sorted(self.requests.items()):
                lines.append(f"dp_collector_requests_total{_labels([('route', route), ('status', status)])} {value}")
            for name, (help_text, level) in gauges.items():
                family(name, "gauge", help_text)
                lines.append(f"{name} {_number(level)}")
            family("dp_collector_request_seconds", "histogram", "Time to answer an HTTP request, by route.")
            for route, histogram in self._latency.items():
                for bound, bucket_count in zip(BUCKETS, histogram.counts, strict=True):
                    labels = _labels([("route", route), ("le", _number(bound))])
                    lines.append(f"dp_collector_request_seconds_bucket{labels} {bucket_count}")
                labels = _labels([("route", route), ("le", "+Inf")])
                lines.append(f"dp_collector_request_seconds_bucket{labels} {histogram.count}")
                lines.append(f"dp_collector_request_seconds_sum{_labels([('route', route)])} {histogram.total!r}")
                lines.append(f"dp_collector_request_seconds_count{_labels([('route', route)])} {histogram.count}")
        return "\n".join(lines) + "\n"
