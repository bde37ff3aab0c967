"""Request parameters, checked (pure): every bad value is a :class:`BadParameterError` naming the parameter."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass

from dp_data_api.errors import BadParameterError
from dp_data_api.merge import GRAINS, Grain, floor_time

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_LABEL = 200


def parse_time(name: str, value: str | None) -> dt.datetime:
    """An RFC 3339 time with its offset (``2026-12-07T10:00:00Z``) or a date (``2026-12-07``: midnight UTC)."""
    if value is None or not value.strip():
        raise BadParameterError(name, "required: an RFC 3339 time (2026-12-07T10:00:00Z) or a date (2026-12-07)")
    text = value.strip()
    try:
        if _DATE.match(text):
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadParameterError(name, f"{value!r} is not an RFC 3339 time or a date") from None
    if parsed.tzinfo is None:
        raise BadParameterError(name, f"{value!r} has no UTC offset: add Z or +hh:mm")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise BadParameterError(name, f"{value!r} is out of range") from None


#: an ``as_of``: a snapshot id of the Gold table that answers, or a time
AsOf = int | dt.datetime
_SNAPSHOT_ID = re.compile(r"^-?\d{1,19}$")


def parse_as_of(value: str | None) -> AsOf | None:
    """``as_of``: a snapshot id (digits) or an RFC 3339 time / date; None when not given."""
    if value is None:
        return None
    text = value.strip()
    if _SNAPSHOT_ID.match(text):
        return int(text)
    return parse_time("as_of", text)


@dataclass(frozen=True)
class RevenueQuery:
    start: dt.datetime
    end: dt.datetime
    grain: Grain
    currency: str | None
    category: str | None


def revenue_query(
    start: str | None,
    end: str | None,
    grain: str | None,
    currency: str | None,
    category: str | None,
    *,
    max_range_days: int,
    max_rows: int,
) -> RevenueQuery:
    """The revenue route's parameters (``from``, ``to``, ``grain``, ``currency``, ``category``), checked; the range
    is widened to whole buckets of the grain (``from`` down, ``to`` up) so that every bucket is complete."""
    lo, hi = parse_time("from", start), parse_time("to", end)
    if lo >= hi:
        raise BadParameterError("to", f"must be after from ({lo.isoformat()})")
    chosen = grain or "hour"
    if chosen not in GRAINS:
        raise BadParameterError("grain", f"{grain!r} is not one of {', '.join(GRAINS)}")
    step = GRAINS[chosen]
    lo = floor_time(lo, step)  # whole buckets: the limits below hold for the widened range
    try:
        widened = floor_time(hi, step)
        hi = widened if widened == hi else widened + dt.timedelta(seconds=step)
    except OverflowError:
        raise BadParameterError("to", f"{end!r} is too close to the end of time for grain {chosen}") from None
    if hi - lo > dt.timedelta(days=max_range_days):
        raise BadParameterError("to", f"the range is wider than {max_range_days} days (serving.max_range_days)")
    buckets = (hi - lo) // dt.timedelta(seconds=step)
    if buckets > max_rows:
        raise BadParameterError(
            "grain", f"{buckets} {chosen}s in the range, more than {max_rows} rows (serving.max_rows): "
            "narrow the range or take a coarser grain",
        )  # fmt: skip
    if currency is not None and not _CURRENCY.match(currency):
        raise BadParameterError("currency", f"{currency!r} is not an ISO 4217 code (three capital letters)")
    if category is not None:
        if not category.strip() or len(category) > MAX_LABEL:
            raise BadParameterError("category", f"must be 1-{MAX_LABEL} characters")
        if chosen != "day":
            raise BadParameterError(
                "grain", "revenue per category is kept per day in Gold (agg_revenue_daily): ask grain=day"
            )
    return RevenueQuery(lo, hi, chosen, currency, category)  # type: ignore[arg-type]


MAX_PAGE = 1000


@dataclass(frozen=True)
class OrdersQuery:
    customer_id: str
    start: dt.datetime | None
    end: dt.datetime | None
    limit: int


def identifier(name: str, value: str | None) -> str:
    """An id (order, customer): 1-200 characters, required."""
    if value is None or not value.strip():
        raise BadParameterError(name, "required")
    if len(value) > MAX_LABEL:
        raise BadParameterError(name, f"must be 1-{MAX_LABEL} characters")
    return value


def orders_query(
    customer_id: str | None, start: str | None, end: str | None, limit: str | None, *, max_range_days: int
) -> OrdersQuery:
    """The order list's parameters: ``customer_id`` (required), an optional ``from``/``to`` range, ``limit``."""
    lo = parse_time("from", start) if start is not None else None
    hi = parse_time("to", end) if end is not None else None
    if lo is not None and hi is not None:
        if lo >= hi:
            raise BadParameterError("to", f"must be after from ({lo.isoformat()})")
        if hi - lo > dt.timedelta(days=max_range_days):
            raise BadParameterError("to", f"the range is wider than {max_range_days} days (serving.max_range_days)")
    return OrdersQuery(identifier("customer_id", customer_id), lo, hi, page_size(limit))


def page_size(limit: str | None) -> int:
    """``limit``: 1-1000, 100 when not given."""
    try:
        size = 100 if limit is None else int(limit)
    except ValueError:
        raise BadParameterError("limit", f"{limit!r} is not a whole number") from None
    if not 1 <= size <= MAX_PAGE:
        raise BadParameterError("limit", f"must be 1-{MAX_PAGE}")
    return size


@dataclass(frozen=True)
class Cursor:
    """Where the next page of a listing starts (after this order), and the snapshots the listing reads."""

    occurred_at: dt.datetime
    order_id: str
    snapshots: tuple[int | None, int | None]

    def encode(self) -> str:
        payload = json.dumps([self.occurred_at.isoformat(), self.order_id, list(self.snapshots)])
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            at, order_id, snapshots = json.loads(raw)
            gold, speed = snapshots
            ids_ok = all(s is None or (type(s) is int and -(2**63) <= s < 2**63) for s in (gold, speed))
            if not isinstance(order_id, str) or not ids_ok:
                raise ValueError(order_id)
            return cls(dt.datetime.fromisoformat(at), order_id, (gold, speed))
        except (ValueError, TypeError, json.JSONDecodeError, binascii.Error):
            raise BadParameterError(
                "cursor", "not a cursor this API gave (take next_cursor of the last page)"
            ) from None


@dataclass(frozen=True)
class FunnelQuery:
    start: dt.datetime
    end: dt.datetime
    grain: Grain


def funnel_query(
    start: str | None, end: str | None, grain: str | None, *, max_range_days: int, max_rows: int
) -> FunnelQuery:
    """The funnel's parameters: ``from``, ``to`` and ``grain`` (day, the default, or minute; no hour: distinct sessions
    per minute do not add up to an hour's)."""
    chosen = grain or "day"
    if chosen not in ("day", "minute"):
        raise BadParameterError("grain", f"{grain!r}: the funnel is kept per day (Gold) and per minute (speed layer)")
    q = revenue_query(start, end, chosen, None, None, max_range_days=max_range_days, max_rows=max_rows)
    return FunnelQuery(q.start, q.end, q.grain)


@dataclass(frozen=True)
class ReconciliationQuery:
    start: dt.datetime
    end: dt.datetime
    currency: str | None


def reconciliation_query(
    start: str | None, end: str | None, currency: str | None, *, max_range_days: int, max_rows: int
) -> ReconciliationQuery:
    """The reconciliation's parameters: ``from``, ``to`` (widened to whole minutes, the store's windows) and
    ``currency``, with the revenue route's limits."""
    q = revenue_query(start, end, "minute", currency, None, max_range_days=max_range_days, max_rows=max_rows)
    return ReconciliationQuery(q.start, q.end, q.currency)
