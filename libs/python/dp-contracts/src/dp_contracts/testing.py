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
