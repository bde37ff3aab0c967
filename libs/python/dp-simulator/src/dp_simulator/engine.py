"""The event stream: reference data first, then interleaved sessions mixed with late, duplicate and malformed events."""

from __future__ import annotations

import copy
import random
from collections import deque
from collections.abc import Iterator
from typing import Any

from dp_simulator.catalog import CATEGORIES, build_catalog
from dp_simulator.corrupt import corrupt, malformed_contract
from dp_simulator.model import CUSTOMER, ID_FIELDS, ORDER_PLACED, PRODUCT, Kind, SimEvent, SimulationConfig, exact_count
from dp_simulator.shop import Out, Shop
from dp_simulator.timefmt import MINUTE_US, to_datetime, to_micros

LIVE_SESSIONS = 12  #: sessions running at the same time on the live clock
LATE_SESSIONS = 3  #: sessions whose events all arrive late
LATE_MIN_US = 5 * MINUTE_US
LATE_MAX_US = 120 * MINUTE_US
DUPLICATE_WINDOW = 4096  #: duplicates re-send one of the last this many valid events
_ANOMALIES: tuple[Kind, ...] = ("late", "duplicate", "malformed")


class KindPlanner:
    """Decides the kind of each event after the reference data.

    With a count, the exact numbers of each kind are fixed up front (``round(count * fraction)``, half up) and
    placed at random among the remaining slots by sequential selection sampling: each slot takes a kind with
    probability (events of that kind still to place) / (slots left), so the totals are exact and every placement
    equally likely. Without a count each slot independently takes a kind with probability equal to its fraction.
    """

    def __init__(self, rng: random.Random, config: SimulationConfig) -> None:
        self._rng = rng
        self._fractions = (config.late, config.duplicates, config.malformed)
        self._left: list[int] | None = None
        self._slots = 0
        if config.count is not None:
            self._slots = max(config.count - config.reference_size, 0)
            self._left = [exact_count(config.count, f) if self._slots else 0 for f in self._fractions]

    def next(self) -> Kind:
        late: float
        duplicate: float
        malformed: float
        if self._left is None:
            r: float = self._rng.random()
            late, duplicate, malformed = self._fractions
        else:
            r = self._rng.randrange(self._slots) if self._slots > 0 else 0
            self._slots -= 1
            late, duplicate, malformed = self._left
        if r < late:
            kind: Kind = "late"
        elif r < late + duplicate:
            kind = "duplicate"
        elif r < late + duplicate + malformed:
            kind = "malformed"
        else:
            return "valid"
        if self._left is not None:
            self._left[_ANOMALIES.index(kind)] -= 1
        return kind


class _Stream:
    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - a reproducible stream, not a secret
        start = config.start_utc
        self.start_us = to_micros(start)
        self.catalog = build_catalog(self.rng, config.products, config.customers, start.date())
        self.shop = Shop(self.rng, self.catalog)
        self.live: list[Iterator[Out]] = []
        self.late: list[tuple[Iterator[Out], int]] = []  # (session, its lag)
        self.recent: deque[SimEvent] = deque(maxlen=DUPLICATE_WINDOW)

    def _from_pool(self, pool: list[Iterator[Out]], size: int) -> Out:
        rng = self.rng
        while True:
            if len(pool) < size:
                pool.append(self.shop.session())
            i = rng.randrange(len(pool))
            try:
                return next(pool[i])
            except StopIteration:
                pool[i] = pool[-1]
                pool.pop()

    def _live_event(self, clock: int) -> Out:
        self.shop.now = clock
        return self.shop.refund_due() or self._from_pool(self.live, LIVE_SESSIONS)

    def _late_event(self, watermark: int) -> Out:
        rng = self.rng
        while True:
            if len(self.late) < LATE_SESSIONS:
                self.late.append((self.shop.session(), rng.randint(LATE_MIN_US, LATE_MAX_US)))
            i = rng.randrange(len(self.late))
            session, lag = self.late[i]
            self.shop.now = watermark - lag
            try:
                return next(session)
            except StopIteration:
                self.late[i] = self.late[-1]
                self.late.pop()

    def _duplicate(self) -> SimEvent:
        # retries re-send recent events far more often than old ones
        back = min(int(self.rng.expovariate(1 / 64)), len(self.recent) - 1)
        return self.recent[-1 - back]

    def _recategorisations(self, ordered: set[str]) -> list[dict[str, Any]]:
        """The products :attr:`SimulationConfig.recategorised` moves, each to another category, drawn by a random
        generator of their own: first among the products of orders already sent (``ordered``, so the move splits
        a product's orders between two categories), then, if too few, among the rest of the catalogue."""
        rng = random.Random(f"{self.config.seed}-recategorised")  # noqa: S311 - reproducible, not a secret
        products = {p.product_id: p for p in self.catalog.products}
        wanted = self.config.recategorised
        chosen = rng.sample(sorted(ordered), min(wanted, len(ordered)))
        rest = sorted(set(products) - set(chosen))
        chosen += rng.sample(rest, wanted - len(chosen))
        moves = []
        for product_id in chosen:
            product = products[product_id]
            others = sorted(set(CATEGORIES) - {product.category})
            moves.append({"product": product, "category": rng.choice(others)})
        return moves

    def events(self) -> Iterator[SimEvent]:
        config, rng, shop = self.config, self.rng, self.shop
        count = config.count
        start_us = self.start_us
        emitted_start = to_datetime(start_us)
        seq = 0
        updated_at = shop.ts(start_us)
        reference = [(PRODUCT, p.payload(updated_at)) for p in self.catalog.products]
        reference += [(CUSTOMER, c.payload(updated_at)) for c in self.catalog.customers]
        for contract, data in reference:
            if count is not None and seq >= count:
                return
            seq += 1
            event = SimEvent(seq, contract, data, None, "valid", data[ID_FIELDS[contract]], None, emitted_start)
            self.recent.append(event)
            yield event

        moving = bool(config.recategorised and count is not None)
        moves: list[dict[str, Any]] | None = None  # drawn when the first is due
        moves_after = config.reference_size + (count - config.reference_size) // 2 if count is not None else 0
        ordered: set[str] = set()  # products of the on-time orders sent so far (while moves are to come)
        planner = KindPlanner(rng, config)
        mean_gap_us = config.mean_gap_ms * 1000.0
        clock = watermark = start_us  # watermark: event time of the latest on-time event
        while count is None or seq < count:
            seq += 1
            clock += max(1, int(rng.expovariate(1.0 / mean_gap_us)))
            kind = planner.next()
            raw: bytes | None = None
            error: str | None = None
            payload: dict[str, Any] | None
            event_id: str | None
            if moving and moves is None and kind == "valid" and seq > moves_after:
                moves = self._recategorisations(ordered)
            if kind == "valid" and moves:
                move = moves.pop(0)
                contract, payload = PRODUCT, {**move["product"].payload(shop.ts(clock)), "category": move["category"]}
                watermark = clock
                event_id = payload[ID_FIELDS[contract]]
            elif kind == "valid":
                contract, payload = self._live_event(clock)
                watermark = clock
                event_id = payload[ID_FIELDS[contract]]
            elif kind == "late":
                contract, payload = self._late_event(watermark)
                event_id = payload[ID_FIELDS[contract]]
            elif kind == "duplicate":
                original = self._duplicate()
                contract, payload, event_id = original.contract, copy.deepcopy(original.payload), original.event_id
            else:
                shop.now = clock
                contract = malformed_contract(rng)
                broken = corrupt(rng, contract, shop.fresh(contract))
                payload, raw, error, event_id = broken.payload, broken.raw, broken.reason, broken.event_id
            event = SimEvent(seq, contract, payload, raw, kind, event_id, error, to_datetime(clock))
            if moving and moves is None and kind == "valid" and contract == ORDER_PLACED and payload is not None:
                ordered.update(str(line["product_id"]) for line in payload["lines"])
            if (kind == "valid" or kind == "late") and contract != PRODUCT:  # a new version is not re-sent
                self.recent.append(event)
            yield event


def simulate(config: SimulationConfig) -> Iterator[SimEvent]:
    """The events of a simulated shop, in the order they are to be sent.

    First the reference data (every product, then every customer, each once, ``updated_at`` = ``config.start``),
    then interleaved sessions from ``config.start`` on, mixed with late, duplicate and malformed events as the
    config asks. Exactly ``config.count`` events (a count below the reference data's size gives a prefix of it), or
    an endless stream when ``count`` is ``None``. The same config always gives the same events.
    """
    return _Stream(config).events()
