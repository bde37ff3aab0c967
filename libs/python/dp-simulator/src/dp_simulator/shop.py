"""Shop sessions: browse -> cart -> checkout -> order -> payment, with abandonment at every step.

A session is a generator of ``(contract, payload)`` pairs. The engine resumes one session per event and sets
:attr:`Shop.now` (the event time, clock microseconds) before it does, so a session's events are in time order
and sessions interleave. Every id comes from the run's random generator.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dp_simulator.catalog import (
    CATEGORIES,
    COUNTRY_CURRENCY,
    CURRENCY_COUNTRIES,
    Catalog,
    Customer,
    Product,
    make_customer,
    make_product,
)
from dp_simulator.model import (
    CART_UPDATED,
    CUSTOMER,
    ORDER_PLACED,
    PAGE_VIEW,
    PAYMENT_PROCESSED,
    PRODUCT,
)
from dp_simulator.timefmt import MINUTE_US, TimestampFormatter, to_datetime

Out = tuple[str, dict[str, Any]]

SITE = "https://shop.dtheinfra.io"
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")

#: VAT (sales tax in the US) on subtotal + shipping, by shipping country
TAX_RATES: dict[str, Decimal] = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "NL": Decimal("0.21"),
    "ES": Decimal("0.21"),
    "IT": Decimal("0.22"),
    "BE": Decimal("0.21"),
    "AT": Decimal("0.20"),
    "IE": Decimal("0.23"),
    "GB": Decimal("0.20"),
    "US": Decimal("0.0725"),
}
#: currency -> (standard shipping, free above this subtotal, express shipping)
SHIPPING: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "EUR": (Decimal("4.95"), Decimal("60.00"), Decimal("9.95")),
    "GBP": (Decimal("3.99"), Decimal("50.00"), Decimal("7.99")),
    "USD": (Decimal("6.99"), Decimal("75.00"), Decimal("14.99")),
}
FREE_SHIPPING_COUPON = "FREESHIP"

#: traffic sources: (weight, referrer of the landing page, utm_source, utm_medium, campaigns)
_SOURCES: tuple[tuple[int, str | None, str | None, str | None, tuple[str, ...]], ...] = (
    (30, None, None, None, ()),
    (25, "https://www.google.com/", None, None, ()),
    (15, "https://www.google.com/", "google", "cpc", ("brand_search", "generic_shoes", "winter_sale")),
    (10, "https://l.instagram.com/", "instagram", "social", ("winter_lookbook", "creator_collab")),
    (12, None, "newsletter", "email", ("weekly_digest", "black_friday", "abandoned_cart_reminder")),
    (8, "https://www.deal-finder.example/", "dealfinder", "affiliate", ("partner_deals",)),
)
_SOURCE_WEIGHTS = tuple(s[0] for s in _SOURCES)
_LANDING = (("HOME", 35), ("CATEGORY", 20), ("PRODUCT", 30), ("SEARCH", 15))
_NEXT_PAGE = (("PRODUCT", 46), ("CATEGORY", 20), ("SEARCH", 12), ("HOME", 6), ("CART", 8), ("OTHER", 8))
_OTHER_PAGES = ("/help/shipping", "/help/returns", "/about", "/stores", "/account", "/gift-cards")
_SORTS = ("", "", "?sort=price_asc", "?sort=newest", "?page=2")
_DEVICES = (("MOBILE", 55), ("DESKTOP", 35), ("TABLET", 10))
_METHODS = (("CARD", 60), ("PAYPAL", 25), ("BANK_TRANSFER", 8), ("GIFT_CARD", 7))
_DECLINE_P = {"CARD": 0.09, "PAYPAL": 0.04, "BANK_TRANSFER": 0.03, "GIFT_CARD": 0.12}
_DECLINE_REASONS = (
    "insufficient_funds",
    "card_expired",
    "do_not_honor",
    "suspected_fraud",
    "incorrect_cvc",
    "limit_exceeded",
)
_FIRST_OCTETS = (
    31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 109, 151, 176, 178,
    185, 188, 193, 194, 195, 212, 213, 217,
)  # fmt: skip

_MAX_STEPS = 40  # a session ends (times out) after this many steps at the latest
_REFUND_P = 0.04


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


@dataclass(slots=True)
class _Session:
    session_id: str
    customer: Customer | None
    currency: str
    device: str
    ip_address: str
    referrer: str | None  # of the next page view
    utm: str  # query string of the landing page, "" when not from a campaign
    attributes: dict[str, str]
    cart: dict[str, list[Any]] = field(default_factory=dict)  # product_id -> [Product, quantity]
    last_page: str = ""
    last_product: Product | None = None
    category: str | None = None


@dataclass(order=True, slots=True)
class _Refund:
    due: int
    serial: int
    payment_id: str = field(compare=False)
    order_id: str = field(compare=False)
    method: str = field(compare=False)
    amount: str = field(compare=False)
    currency: str = field(compare=False)


class Shop:
    """Creates sessions and the events they send; also fresh one-off events for the malformed ones."""

    def __init__(self, rng: random.Random, catalog: Catalog) -> None:
        self.rng = rng
        self.catalog = catalog
        self.now = 0  #: event time of the next event, set by the engine before it resumes a session
        self.ts = TimestampFormatter()
        self._refunds: list[_Refund] = []
        self._serial = 0
        self._extra_products = 0
        self._extra_customers = 0

    # -------------------------------------------------------------------------------------------------- ids

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _ip(self) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            groups = ":".join(f"{rng.getrandbits(16):x}" for _ in range(3))
            return f"2a02:{groups}::{rng.getrandbits(16):x}"
        return f"{rng.choice(_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    # --------------------------------------------------------------------------------------------- sessions

    def _new_session(self) -> _Session:
        rng = self.rng
        customer = self.catalog.any_customer(rng) if rng.random() < 0.45 else None
        _, referrer, source, medium, campaigns = rng.choices(_SOURCES, _SOURCE_WEIGHTS)[0]
        attributes: dict[str, str] = {}
        utm = ""
        if source is not None and medium is not None:
            campaign = rng.choice(campaigns)
            utm = f"utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
            attributes = {"channel": medium, "campaign": campaign}
        elif referrer is not None:
            attributes = {"channel": "organic"}
        else:
            attributes = {"channel": "direct"}
        return _Session(
            session_id=self.uuid(),
            customer=customer,
            currency=self.catalog.storefront(rng, customer),
            device=_pick(rng, _DEVICES),
            ip_address=self._ip(),
            referrer=referrer,
            utm=utm,
            attributes=attributes,
        )

    def session(self) -> Iterator[Out]:
        """One shopper's visit; its first event is always a page view."""
        rng = self.rng
        s = self._new_session()
        yield self._view(s, _pick(rng, _LANDING))
        if rng.random() < 0.30:  # bounce
            return
        for _ in range(_MAX_STEPS):
            if rng.random() < (0.10 if s.cart else 0.14):  # leaves: browse or cart abandonment
                return
            product = s.last_product
            if s.last_page == "PRODUCT" and product is not None and product.active and rng.random() < 0.35:
                quantity = rng.choices((1, 2, 3), (80, 15, 5))[0]
                yield self._cart(s, "ADD", product, quantity)
                s.last_product = None
                continue
            if s.cart:
                r = rng.random()
                if r < 0.06:
                    yield self._remove(s)
                    continue
                if r < 0.24:  # else keeps shopping: carts of several products
                    yield from self._checkout(s)
                    return
            page = _pick(rng, _NEXT_PAGE)
            yield self._view(s, page if page != "CART" or s.cart else "OTHER")

    def _checkout(self, s: _Session) -> Iterator[Out]:
        rng = self.rng
        if s.last_page != "CART":
            yield self._view(s, "CART")
        if rng.random() < 0.22:  # leaves with a full cart
            return
        yield self._view(s, "CHECKOUT")
        if rng.random() < 0.18:  # abandons the checkout
            return
        if s.customer is None:  # anonymous shoppers sign in at checkout
            s.customer = self.catalog.customer_for(rng, s.currency)
        order_id = self.uuid()
        payload = self._order(s, s.customer, order_id)
        yield ORDER_PLACED, payload
        amount, currency = payload["total"], payload["currency"]
        method = _pick(rng, _METHODS)
        for attempt in range(3):
            declined = rng.random() < _DECLINE_P[method]
            payment_id = self.uuid()
            yield PAYMENT_PROCESSED, self._payment(payment_id, order_id, declined, method, amount, currency)
            if not declined:
                if rng.random() < _REFUND_P:
                    self._schedule_refund(payment_id, order_id, method, amount, currency)
                if rng.random() < 0.5:
                    yield self._view(s, "OTHER", url=f"/checkout/confirmation?order={order_id}")
                return
            if attempt == 2 or rng.random() < 0.45:  # gives up after a decline
                return
            if rng.random() < 0.6:
                method = _pick(rng, _METHODS)

    # ------------------------------------------------------------------------------------------------ events

    def _view(self, s: _Session, page_type: str, url: str | None = None) -> Out:
        rng = self.rng
        product_id: str | None = None
        if url is not None:
            pass
        elif page_type == "HOME":
            url = "/"
        elif page_type == "CATEGORY":
            s.category = rng.choice(tuple(CATEGORIES))
            url = f"/c/{s.category}{rng.choice(_SORTS)}"
        elif page_type == "PRODUCT":
            product = None
            if s.category is not None and rng.random() < 0.7:
                product = self.catalog.product_in(rng, s.currency, s.category)
            if product is None:
                product = self.catalog.any_product(rng, s.currency)
            s.last_product, s.category = product, product.category
            product_id, url = product.product_id, product.url
        elif page_type == "SEARCH":
            s.category = rng.choice(tuple(CATEGORIES))
            term = rng.choice(CATEGORIES[s.category][0]).lower().replace(" ", "+")
            url = f"/search?q={term}"
        elif page_type == "CART":
            url = "/cart"
        elif page_type == "CHECKOUT":
            url = "/checkout"
        else:
            url = rng.choice(_OTHER_PAGES)
        if s.utm:  # the landing page carries the campaign's tags
            url = f"{url}{'&' if '?' in url else '?'}{s.utm}"
            s.utm = ""
        payload = {
            "event_id": self.uuid(),
            "session_id": s.session_id,
            "customer_id": s.customer.customer_id if s.customer else None,
            "page_type": page_type,
            "url": url,
            "product_id": product_id,
            "referrer": s.referrer,
            "device": s.device,
            "ip_address": s.ip_address,
            "occurred_at": self.ts(self.now),
        }
        s.referrer = f"{SITE}{url}"
        s.last_page = page_type
        if page_type != "PRODUCT":
            s.last_product = None
        return PAGE_VIEW, payload

    def _cart(self, s: _Session, action: str, product: Product, quantity: int) -> Out:
        if action == "ADD":
            line = s.cart.setdefault(product.product_id, [product, 0])
            line[1] += quantity
        return CART_UPDATED, {
            "event_id": self.uuid(),
            "session_id": s.session_id,
            "customer_id": s.customer.customer_id if s.customer else None,
            "action": action,
            "product_id": product.product_id,
            "quantity": quantity,
            "unit_price": f"{product.price:.2f}",
            "currency": product.currency,
            "occurred_at": self.ts(self.now),
        }

    def _remove(self, s: _Session) -> Out:
        rng = self.rng
        key = rng.choice(list(s.cart))
        product, in_cart = s.cart[key]
        quantity = in_cart if in_cart == 1 or rng.random() < 0.6 else rng.randrange(1, in_cart)
        if quantity == in_cart:
            del s.cart[key]
        else:
            s.cart[key][1] = in_cart - quantity
        return self._cart(s, "REMOVE", product, quantity)

    def _order(self, s: _Session, customer: Customer, order_id: str) -> dict[str, Any]:
        rng = self.rng
        lines: list[dict[str, Any]] = []
        subtotal = _ZERO
        for number, (product, quantity) in enumerate(s.cart.values(), start=1):
            line_total = product.price * quantity
            subtotal += line_total
            lines.append(
                {
                    "line_number": number,
                    "product_id": product.product_id,
                    "quantity": quantity,
                    "unit_price": f"{product.price:.2f}",
                    "line_total": f"{line_total:.2f}",
                }
            )
        country = customer.country
        if COUNTRY_CURRENCY[country] != s.currency or rng.random() < 0.05:  # ships abroad or sends a gift
            country = rng.choice(CURRENCY_COUNTRIES[s.currency])
        attributes = dict(s.attributes)
        standard, free_above, express = SHIPPING[s.currency]
        if rng.random() < 0.12:
            shipping = express
            attributes["shipping_method"] = "express"
        elif subtotal >= free_above:
            shipping = _ZERO
        elif rng.random() < 0.08:
            shipping = _ZERO
            attributes["coupon"] = FREE_SHIPPING_COUPON
        else:
            shipping = standard
        tax = ((subtotal + shipping) * TAX_RATES[country]).quantize(_CENT, ROUND_HALF_UP)
        total = subtotal + shipping + tax
        return {
            "event_id": self.uuid(),
            "order_id": order_id,
            "session_id": s.session_id,
            "customer_id": customer.customer_id,
            "lines": lines,
            "subtotal": f"{subtotal:.2f}",
            "shipping": f"{shipping:.2f}",
            "tax": f"{tax:.2f}",
            "total": f"{total:.2f}",
            "currency": s.currency,
            "shipping_country": country,
            "attributes": attributes,
            "occurred_at": self.ts(self.now),
        }

    def _payment(
        self,
        payment_id: str,
        order_id: str,
        declined: bool,
        method: str,
        amount: str,
        currency: str,
        status: str | None = None,
    ) -> dict[str, Any]:
        return {
            "event_id": self.uuid(),
            "payment_id": payment_id,
            "order_id": order_id,
            "status": status or ("DECLINED" if declined else "AUTHORISED"),
            "method": method,
            "amount": amount,
            "currency": currency,
            "decline_reason": self.rng.choice(_DECLINE_REASONS) if declined else None,
            "occurred_at": self.ts(self.now),
        }

    # ----------------------------------------------------------------------------------------------- refunds

    def _schedule_refund(self, payment_id: str, order_id: str, method: str, amount: str, currency: str) -> None:
        """A full refund of an authorised payment, 10 minutes to 3 hours (event time) after it."""
        self._serial += 1
        due = self.now + self.rng.randrange(10 * MINUTE_US, 180 * MINUTE_US)
        heapq.heappush(self._refunds, _Refund(due, self._serial, payment_id, order_id, method, amount, currency))

    def refund_due(self) -> Out | None:
        """The refund event whose time has come (at :attr:`now`), if any."""
        if not self._refunds or self._refunds[0].due > self.now:
            return None
        r = heapq.heappop(self._refunds)
        return PAYMENT_PROCESSED, self._payment(
            r.payment_id, r.order_id, False, r.method, r.amount, r.currency, status="REFUNDED"
        )

    # ------------------------------------------------------------------------------------- one-off events

    def fresh(self, contract: str) -> dict[str, Any]:
        """A new valid event of ``contract`` that belongs to no session: the raw material of a malformed event.

        Its ids are new and are never used by a valid event (reference data gets numbers past the catalogue's).
        """
        rng = self.rng
        catalog = self.catalog
        if contract == PRODUCT:
            self._extra_products += 1
            number = len(catalog.products) + self._extra_products
            return make_product(rng, number).payload(self.ts(self.now))
        if contract == CUSTOMER:
            self._extra_customers += 1
            number = len(catalog.customers) + self._extra_customers
            today = to_datetime(self.now).date()
            return make_customer(rng, number, today).payload(self.ts(self.now))
        s = self._new_session()
        if contract == PAGE_VIEW:
            return self._view(s, _pick(rng, _NEXT_PAGE))[1]
        product = catalog.active_product(rng, s.currency)
        if contract == CART_UPDATED:
            return self._cart(s, "ADD", product, rng.choices((1, 2), (85, 15))[0])[1]
        s.cart[product.product_id] = [product, 1]
        order = self._order(s, s.customer or catalog.customer_for(rng, s.currency), self.uuid())
        if contract == ORDER_PLACED:
            return order
        method = _pick(rng, _METHODS)
        return self._payment(self.uuid(), order["order_id"], False, method, order["total"], order["currency"])
