"""The simulator's settings and what it yields."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from dp_core.errors import ConfigError

Kind = Literal["valid", "duplicate", "late", "malformed"]
KINDS: tuple[Kind, ...] = ("valid", "duplicate", "late", "malformed")

PAGE_VIEW = "page_view"
CART_UPDATED = "cart_updated"
ORDER_PLACED = "order_placed"
PAYMENT_PROCESSED = "payment_processed"
CUSTOMER = "customer"
PRODUCT = "product"

#: every contract the simulator writes, in snake_case, and the field that identifies one event of it
#: (``dp.event_id`` for events, the key for reference data)
ID_FIELDS: dict[str, str] = {
    PAGE_VIEW: "event_id",
    CART_UPDATED: "event_id",
    ORDER_PLACED: "event_id",
    PAYMENT_PROCESSED: "event_id",
    CUSTOMER: "customer_id",
    PRODUCT: "product_id",
}
CONTRACTS: tuple[str, ...] = tuple(sorted(ID_FIELDS))


class SimulationConfigError(ConfigError, ValueError):
    """A :class:`SimulationConfig` that cannot be simulated (fraction out of range, naive start, ...)."""


def exact_count(count: int, fraction: float) -> int:
    """``round(count * fraction)``, half up, computed in decimal from the fraction as written (0.1 is 0.1)."""
    return int((Decimal(repr(fraction)) * count).to_integral_value(ROUND_HALF_UP))


@dataclass(frozen=True, kw_only=True)
class SimulationConfig:
    """What to simulate. The same config always yields the same events, ids included.

    Attributes:
        seed: seeds the one random generator everything is drawn from.
        count: total events to yield, of every kind (reference data, duplicates and malformed included); ``None``
            for an endless stream (the caller stops it).
        start: event time of the first event (tz-aware; converted to UTC). The simulated clock advances from it.
        late: fraction of events sent late (event time 5 to 120 minutes behind the simulated clock).
        duplicates: fraction of events that are exact re-sends of an event sent before.
        malformed: fraction of events that break their contract.
        customers: customers in the reference data.
        products: products in the reference data.
        mean_gap_ms: mean simulated time between two consecutive events (exponentially distributed).
        recategorised: products moved to another category half-way through the run (needs ``count``): a new
            version of each (``updated_at`` the event time there) takes the place of a valid event, so orders of
            the same product fall in one category before and in another after. They are drawn among the products
            of the orders sent before (the rest of the catalogue when too few). The stream up to the first move
            is the one the config gives without moves; after it, it differs (the sessions draw on).
    """

    seed: int
    count: int | None = None
    start: dt.datetime
    late: float = 0.0
    duplicates: float = 0.0
    malformed: float = 0.0
    customers: int = 200
    products: int = 100
    mean_gap_ms: float = 50.0
    recategorised: int = 0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            problems.append(f"simulate.start: {self.start.isoformat()} has no time zone (give UTC)")
        elif not 1900 <= self.start.year <= 9000:
            problems.append(f"simulate.start: {self.start.isoformat()} is out of range")
        if self.count is not None and self.count < 0:
            problems.append(f"simulate.count: {self.count} is negative")
        for name in ("late", "duplicates", "malformed"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"simulate.{name}: {value} is not a fraction between 0 and 1")
        if self.late + self.duplicates + self.malformed > 1.0 + 1e-12:
            problems.append("simulate: late + duplicates + malformed add up to more than 1")
        if self.customers < 1:
            problems.append(f"simulate.customers: {self.customers}, need at least 1 (orders need a customer)")
        if self.products < 1:
            problems.append(f"simulate.products: {self.products}, need at least 1")
        if not 0 <= self.recategorised <= self.products:
            problems.append(f"simulate.recategorised: {self.recategorised}, need 0 to products ({self.products})")
        elif self.recategorised and self.count is None:
            problems.append("simulate.recategorised: needs a count (the change comes half-way through the run)")
        if not self.mean_gap_ms > 0:
            problems.append(f"simulate.mean_gap_ms: {self.mean_gap_ms} must be positive")
        if not problems and self.count is not None and self.count > self.reference_size:
            anomalies = sum(exact_count(self.count, f) for f in (self.late, self.duplicates, self.malformed))
            slots = self.count - self.reference_size
            if anomalies > slots:
                problems.append(
                    f"simulate: {anomalies} late, duplicate and malformed events do not fit in the {slots} events "
                    f"after the {self.reference_size} reference events (raise count or lower the fractions)"
                )
        if problems:
            raise SimulationConfigError(problems)

    @property
    def start_utc(self) -> dt.datetime:
        return self.start.astimezone(dt.UTC)

    @property
    def reference_size(self) -> int:
        """Events of the reference-data prefix: every product, then every customer, once."""
        return self.products + self.customers

    def planned_counts(self) -> dict[Kind, int] | None:
        """Exactly how many events of each kind a run with ``count`` yields (``None`` for an endless run).

        Each anomaly count is ``round(count * fraction)`` (half up); the rest are valid. A count no larger than the
        reference data is only a prefix of it: every event is valid.
        """
        if self.count is None:
            return None
        if self.count <= self.reference_size:
            return {"valid": self.count, "duplicate": 0, "late": 0, "malformed": 0}
        late = exact_count(self.count, self.late)
        duplicate = exact_count(self.count, self.duplicates)
        malformed = exact_count(self.count, self.malformed)
        return {
            "valid": self.count - late - duplicate - malformed,
            "duplicate": duplicate,
            "late": late,
            "malformed": malformed,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form (start as RFC 3339 UTC)."""
        out = asdict(self)
        if not self.recategorised:  # the form runs had before the field existed: their workload ids hold
            del out["recategorised"]
        out["start"] = self.start_utc.isoformat().replace("+00:00", "Z")
        return out


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One event of the simulated stream, as it is to be sent.

    Payloads are fresh dicts, but the simulator keeps the recent valid ones to re-send as duplicates: treat them
    as read-only.

    Attributes:
        seq: 1-based position in the stream (the "simulator sequence" of dead letters).
        contract: snake_case contract name (``page_view``, ``order_placed``, ...).
        payload: the JSON-compatible event; ``None`` only when ``raw`` is set.
        raw: the body of a malformed event that is not even JSON; else ``None``.
        kind: ``valid``, ``duplicate`` (exact re-send of an earlier valid or late event), ``late`` (valid, unique,
            event time 5-120 minutes behind the simulated clock) or ``malformed`` (breaks the contract).
        event_id: the value of the contract's id field (``ID_FIELDS``); for malformed events the id it carries,
            ``None`` when it carries none that can be read.
        expected_error: for malformed events ``<corruption>:<field>`` (``missing:total``, ``type:quantity``,
            ``unknown_field:coupon``, ``decimal:unit_price``, ``enum:status``) or ``not_json``; else ``None``.
        emitted_at: the simulated clock when the event is sent (UTC). On-time events carry it as their event time.
    """

    seq: int
    contract: str
    payload: dict[str, Any] | None
    raw: bytes | None
    kind: Kind
    event_id: str | None
    expected_error: str | None
    emitted_at: dt.datetime
