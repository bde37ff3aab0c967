"""Whether Kafka is taking records: the state behind 503 answers and ``GET /healthz``.

Three signals, none of them on the request path (a request only reads the current state):

* librdkafka's error callback: ``_ALL_BROKERS_DOWN`` marks the broker down at once, a fatal error (the
  idempotent producer cannot go on) marks it down for good;
* a metadata probe with a short timeout, run by a background thread: every ``probe_interval_s`` while the
  broker is down or not checked yet, every ``probe_every_s`` while it is up. Only a probe that *started after*
  the last failure signal brings the state back up;
* delivery progress: records waiting and no delivery acknowledged for ``stall_s`` means the broker is not taking
  them (whatever the probe says), until a delivery succeeds or nothing waits any more.

The state starts ``unknown`` (before the first probe); requests are accepted then, ``/healthz`` says 503.

The other thing ``/healthz`` reports is :class:`RequestSlots`: when every slot is taken, POSTs are answered 503
whatever the broker state, so the instance is not healthy either.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, NamedTuple

from confluent_kafka import KafkaError

State = Literal["unknown", "up", "down"]
SlotsState = Literal["ok", "saturated"]


@dataclass(frozen=True)
class BrokerStatus:
    """The broker as the collector sees it: ``state``, why, and since when (monotonic seconds)."""

    state: State
    detail: str
    since: float

    @property
    def available(self) -> bool:
        """Whether requests are taken (``unknown`` is: librdkafka buffers until the first connection)."""
        return self.state != "down"


class RequestSlots(NamedTuple):
    """The POSTs being processed (``in_flight``) against the most taken at once (``Tuning.max_concurrent_requests``)."""

    in_flight: int
    limit: int
    """``Tuning.max_concurrent_requests``."""

    @property
    def saturated(self) -> bool:
        """Every slot is taken: a new POST is answered 503."""
        return self.in_flight >= self.limit

    @property
    def state(self) -> SlotsState:
        return "saturated" if self.saturated else "ok"


class BrokerHealth:
    """The broker state from error callbacks, probes and delivery progress (thread-safe)."""

    def __init__(self, stall_s: float, now: float) -> None:
        self.stall_s = stall_s
        self._lock = threading.Lock()
        self._status = BrokerStatus("unknown", "not checked yet", now)
        self._down_at = float("-inf")
        self._fatal: str | None = None
        self._busy_since: float | None = None
        self._last_delivery = now

    # ------------------------------------------------------------------------------------------------- signals

    def on_error(self, err: KafkaError, now: float) -> None:
        """librdkafka's error callback."""
        with self._lock:
            if err.fatal():
                self._fatal = f"the producer hit a fatal error: {err.str()}"
                self._set("down", self._fatal, now)
                self._down_at = now
            elif err.code() == KafkaError._ALL_BROKERS_DOWN:
                self._set("down", f"all broker connections are down ({err.str()})", now)
                self._down_at = now

    def on_probe(self, started: float, error: str | None, now: float) -> None:
        """The outcome of a metadata probe that started at ``started``."""
        with self._lock:
            if self._fatal is not None:
                return
            if error is not None:
                self._set("down", f"Kafka is unreachable: {error}", now)
                self._down_at = max(self._down_at, started)
            elif started > self._down_at:
                self._set("up", "connected", now)

    def on_delivery(self, now: float) -> None:
        """A record was acknowledged by the broker."""
        self._last_delivery = now

    def on_pending(self, pending: int, now: float) -> None:
        """How many records wait for a delivery report (after each request and each poll)."""
        if pending == 0:
            self._busy_since = None
        elif self._busy_since is None:
            self._busy_since = now

    # ---------------------------------------------------------------------------------------------------- state

    def status(self, now: float) -> BrokerStatus:
        """The current state; a delivery stall overrides an ``up`` or ``unknown`` one."""
        status = self._status
        busy_since = self._busy_since
        if status.state != "down" and busy_since is not None:
            quiet_since = max(busy_since, self._last_delivery)
            if now - quiet_since > self.stall_s:
                return BrokerStatus(
                    "down",
                    f"no delivery acknowledged for {now - quiet_since:.0f} s while records wait "
                    f"(stall_s={self.stall_s:g})",
                    quiet_since + self.stall_s,
                )
        return status

    def needs_probe(self) -> bool:
        return self._status.state != "up"

    def _set(self, state: State, detail: str, now: float) -> None:
        if self._status.state != state or self._status.detail != detail:
            self._status = BrokerStatus(state, detail, now if self._status.state != state else self._status.since)
