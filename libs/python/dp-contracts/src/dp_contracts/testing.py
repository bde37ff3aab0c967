"""Sample events of the commerce contracts the repository ships (``schemas/avro/commerce``), for the tests of every
unit: :func:`sample` (or :data:`page_view`, :data:`order_placed`, :data:`payment_processed`) returns a valid event as
JSON carries it (decimals and times as text), with fresh ids, and ``changes`` on top (:data:`REMOVED` drops a field).
"""

from __future__ import annotations

import copy
import functools
import uuid
from typing import Any

#: a change that removes the field (``None`` sets it to null)
REMOVED: Any = object()


def changed(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``event`` with ``changes``: a value replaces the field's, :data:`REMOVED` drops it."""
    out = copy.deepcopy(event)
    for key, value in changes.items():
        if value is REMOVED:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _fresh_uuid() -> str:
    return str(uuid.uuid4())


def _fresh_session() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


#: a valid event of each contract with samples; a callable gives each event a fresh value
_SAMPLES: dict[str, dict[str, Any]] = {
    # a visit of a product page from a phone, by an anonymous session
    "page_view": {
        "event_id": _fresh_uuid,
        "session_id": _fresh_session,
        "customer_id": None,
        "page_type": "PRODUCT",
        "url": "/p/42?ref=home",
        "product_id": "p42",
        "referrer": None,
        "device": "MOBILE",
        "ip_address": None,
        "occurred_at": "2026-11-25T10:00:00.123456Z",
    },
    # an order of one line (two of SKU-1) whose amounts add up: 39.98 + 4.99 shipping + 8.99 tax = 53.96 EUR
    "order_placed": {
        "event_id": _fresh_uuid,
        "order_id": _fresh_uuid,
        "session_id": "s-123",
        "customer_id": "c-42",
        "lines": [
            {"line_number": 1, "product_id": "SKU-1", "quantity": 2, "unit_price": "19.99", "line_total": "39.98"}
        ],
        "subtotal": "39.98",
        "shipping": "4.99",
        "tax": "8.99",
        "total": "53.96",
        "currency": "EUR",
        "shipping_country": "DE",
        "occurred_at": "2026-11-25T10:15:00.123456Z",
    },
    # an authorised card payment of 10.00 EUR
    "payment_processed": {
        "event_id": _fresh_uuid,
        "payment_id": _fresh_uuid,
        "order_id": _fresh_uuid,
        "status": "AUTHORISED",
        "method": "CARD",
        "amount": "10.00",
        "currency": "EUR",
        "decline_reason": None,
        "occurred_at": "2026-11-25T10:15:00Z",
    },
}


def sample(contract: str, **changes: Any) -> dict[str, Any]:
    """A valid event of ``contract`` (``page_view``, ``order_placed`` or ``payment_processed``), fresh ids in it."""
    event = {key: value() if callable(value) else copy.deepcopy(value) for key, value in _SAMPLES[contract].items()}
    return changed(event, **changes)


page_view = functools.partial(sample, "page_view")
order_placed = functools.partial(sample, "order_placed")
payment_processed = functools.partial(sample, "payment_processed")


def extreme_orders(**changes: Any) -> list[dict[str, Any]]:
    """Valid orders at the contract's limits, which every layer keeps (``changes`` on each, under the fields below:
    their time, their session): the largest decimal(12, 2) total with the largest int quantity and an empty product
    id; empty strings; a 200 KB string; a return booked as a negative line whose product id holds ``#``."""
    top = "9" * 10 + ".99"  # decimal(12, 2)
    line = {"line_number": 1, "product_id": "", "quantity": 2**31 - 1, "unit_price": top, "line_total": top}
    refund = {"line_number": 1, "product_id": "p#1", "quantity": -1, "unit_price": "5.00", "line_total": "-5.00"}
    largest = {"lines": [line], "subtotal": top, "shipping": "0.00", "tax": "0.00", "total": top}
    negative = {"lines": [refund], "subtotal": "-5.00", "shipping": "0.00", "tax": "0.00", "total": "-5.00"}
    empty = {"session_id": "", "customer_id": "", "shipping_country": ""}
    long = {"session_id": "x" * 200_000}
    return [order_placed(**{**changes, **fields}) for fields in (largest, empty, long, negative)]
