"""The shop's reference data: a product catalogue and a customer base, drawn from the run's random generator.

The shop has three storefronts, one per currency (EUR for the euro area, GBP for the UK, USD for the US). A
product is sold in one storefront, at one price; a session shops in one storefront, so every amount of a session
is in one currency and every cart line carries the product's own price.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

#: country -> currency of its storefront
COUNTRY_CURRENCY: dict[str, str] = {
    "DE": "EUR",
    "FR": "EUR",
    "NL": "EUR",
    "ES": "EUR",
    "IT": "EUR",
    "BE": "EUR",
    "AT": "EUR",
    "IE": "EUR",
    "GB": "GBP",
    "US": "USD",
}
CURRENCY_COUNTRIES: dict[str, tuple[str, ...]] = {
    currency: tuple(c for c, cur in COUNTRY_CURRENCY.items() if cur == currency)
    for currency in dict.fromkeys(COUNTRY_CURRENCY.values())
}
_COUNTRY_WEIGHTS = {"DE": 22, "FR": 15, "NL": 8, "ES": 8, "IT": 8, "BE": 4, "AT": 4, "IE": 3, "GB": 16, "US": 12}
_PRODUCT_CURRENCY_WEIGHTS = {"EUR": 60, "GBP": 22, "USD": 18}

#: category -> (product nouns, lowest and highest whole price)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "shoes": (
        ("Trail Runner", "Leather Boot", "Canvas Sneaker", "Running Shoe", "Chelsea Boot", "Sandal", "Loafer"),
        (29, 189),
    ),
    "apparel": (
        ("Merino T-Shirt", "Hooded Sweatshirt", "Rain Jacket", "Slim Chinos", "Denim Jacket", "Wool Scarf"),
        (12, 159),
    ),
    "electronics": (
        ("Wireless Earbuds", "Bluetooth Speaker", "USB-C Charger", "Smart Watch", "Headphones", "Power Bank"),
        (9, 349),
    ),
    "home": (
        ("Ceramic Mug", "Desk Lamp", "Throw Pillow", "Cast Iron Pan", "Scented Candle", "French Press"),
        (6, 129),
    ),
    "beauty": (("Face Serum", "Hand Cream", "Shampoo Bar", "Lip Balm", "Sunscreen SPF 50", "Beard Oil"), (4, 59)),
    "sports": (
        ("Yoga Mat", "Resistance Bands", "Water Bottle", "Cycling Gloves", "Foam Roller", "Kettlebell"),
        (8, 149),
    ),
    "books": (("Cookbook", "Travel Guide", "Crime Novel", "Picture Book", "Field Guide to Birds"), (7, 45)),
    "toys": (("Building Blocks", "Wooden Train", "Jigsaw Puzzle", "Plush Bear", "Board Game"), (9, 89)),
}
_BRANDS = ("Northwind", "Alder & Co", "Kestrel", "Lumen", "Fjordline", "Oakridge", "Nimbus", "Verde", "Atlas", "Solis")
_COLOURS = ("Black", "Navy", "Olive", "Sand", "Grey", "Red", "White", "Forest", "Rust", "Sky")
_CENTS = (Decimal("0.99"), Decimal("0.95"), Decimal("0.49"), Decimal("0.00"))

_FIRST_NAMES = (
    "Anna", "Lukas", "Sofia", "Noah", "Emma", "Liam", "Mia", "Elias", "Léa", "Hugo", "Chloé", "Louis", "Giulia",
    "Marco", "Lucía", "Mateo", "Sanne", "Daan", "Aoife", "Seán", "Olivia", "Harry", "Amelia", "George", "Ava",
    "Ethan", "Priya", "Arjun", "Fatima", "Omar", "Yuki", "Mei", "Katarzyna", "Jakub", "Ines", "Tomás",
)  # fmt: skip
_LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Martin", "Bernard", "Dubois", "Rossi", "Russo", "García", "Fernández",
    "de Jong", "Jansen", "Murphy", "Kelly", "Smith", "Jones", "Taylor", "Brown", "Johnson", "Williams", "Peeters",
    "Gruber", "Nowak", "Khan", "Patel", "Tanaka", "Chen", "Silva", "Novak", "Andersen",
)  # fmt: skip
_EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de", "web.de", "orange.fr", "proton.me")
_ASCII = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "é": "e", "í": "i", "á": "a", "ó": "o", "ñ": "n", "ß": "ss"})


def slug(text: str) -> str:
    """``Trail Runner, Black`` -> ``trail-runner-black``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().translate(_ASCII)).strip("-")


def _as_sent(value: Any) -> Any:
    """A field as its contract carries it in JSON: money with two decimals, a date in ISO 8601, the rest as is."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


#: the metadata of a field the simulator keeps for itself: it is not in the contract's payload
_NOT_SENT = {"sent": False}


def _payload(record: Product | Customer, updated_at: str) -> dict[str, Any]:
    """The contract payload of a reference record: its fields in order (but those :data:`_NOT_SENT`), ``updated_at``."""
    data = {f.name: _as_sent(getattr(record, f.name)) for f in fields(record) if f.metadata.get("sent", True)}
    data["updated_at"] = updated_at
    return data


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    name: str
    category: str
    brand: str | None
    price: Decimal
    currency: str
    active: bool
    noun: str = field(metadata=_NOT_SENT)

    @property
    def url(self) -> str:
        return f"/p/{slug(self.name)}/{self.product_id.lower()}"

    def payload(self, updated_at: str) -> dict[str, Any]:
        return _payload(self, updated_at)


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    email: str
    full_name: str
    country: str
    segment: str
    signup_date: dt.date
    marketing_opt_in: bool

    @property
    def currency(self) -> str:
        return COUNTRY_CURRENCY[self.country]

    def payload(self, updated_at: str) -> dict[str, Any]:
        return _payload(self, updated_at)


def product_id(number: int) -> str:
    return f"SKU-{number:05d}"


def customer_id(number: int) -> str:
    return f"C{number:06d}"


def make_product(rng: random.Random, number: int, currency: str | None = None) -> Product:
    category = rng.choice(tuple(CATEGORIES))
    nouns, (low, high) = CATEGORIES[category]
    noun = rng.choice(nouns)
    brand = None if rng.random() < 0.15 else rng.choice(_BRANDS)
    colour = rng.choice(_COLOURS)
    name = f"{brand} {noun}, {colour}" if brand else f"{noun}, {colour}"
    # list prices cluster at the cheap end of the range, and end in .99, .95, .49 or .00
    whole = low + int((high - low) * rng.random() ** 1.6)
    price = Decimal(whole) + rng.choice(_CENTS)
    if currency is None:
        currency = rng.choices(tuple(_PRODUCT_CURRENCY_WEIGHTS), tuple(_PRODUCT_CURRENCY_WEIGHTS.values()))[0]
    return Product(product_id(number), name, category, brand, price, currency, rng.random() >= 0.05, noun)


def make_customer(rng: random.Random, number: int, today: dt.date) -> Customer:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    country = rng.choices(tuple(_COUNTRY_WEIGHTS), tuple(_COUNTRY_WEIGHTS.values()))[0]
    segment = rng.choices(("NEW", "REGULAR", "VIP"), (30, 55, 15))[0]
    # NEW customers signed up in the last 90 days, the others up to six years ago
    days = rng.randrange(90) if segment == "NEW" else rng.randrange(90, 6 * 365)
    local = slug(f"{first}.{last}").replace("-", ".")
    email = f"{local}{number}@{rng.choice(_EMAIL_DOMAINS)}"
    return Customer(
        customer_id(number),
        email,
        f"{first} {last}",
        country,
        segment,
        today - dt.timedelta(days=days),
        rng.random() < 0.45,
    )


class Catalog:
    """Products and customers, indexed the ways sessions look them up."""

    def __init__(self, products: list[Product], customers: list[Customer]) -> None:
        self.products = tuple(products)
        self.customers = tuple(customers)
        self._by_currency: dict[str, list[Product]] = {}
        for p in self.products:
            self._by_currency.setdefault(p.currency, []).append(p)
        # popularity: a few products get most of the views (weight 1/rank^0.8 in catalogue order)
        self._cum_weights = {
            cur: list(itertools.accumulate(1 / (rank**0.8) for rank in range(1, len(ps) + 1)))
            for cur, ps in self._by_currency.items()
        }
        self._in_category: dict[tuple[str, str], list[Product]] = {}
        for p in self.products:
            self._in_category.setdefault((p.currency, p.category), []).append(p)
        self._active = {cur: [p for p in ps if p.active] for cur, ps in self._by_currency.items()}
        #: storefronts that have something to sell, in a fixed order
        self.currencies = tuple(cur for cur in _PRODUCT_CURRENCY_WEIGHTS if self._active.get(cur))
        self._currency_weights = tuple(_PRODUCT_CURRENCY_WEIGHTS[c] for c in self.currencies)
        self._customers_by_currency: dict[str, list[Customer]] = {}
        for c in self.customers:
            self._customers_by_currency.setdefault(c.currency, []).append(c)

    def storefront(self, rng: random.Random, customer: Customer | None) -> str:
        """The currency a session shops in: the customer's own storefront when it sells anything."""
        if customer is not None and customer.currency in self.currencies:
            return customer.currency
        return rng.choices(self.currencies, self._currency_weights)[0]

    def any_product(self, rng: random.Random, currency: str) -> Product:
        """A product of the storefront, popular ones more often (inactive ones included: old links)."""
        return rng.choices(self._by_currency[currency], cum_weights=self._cum_weights[currency])[0]

    def product_in(self, rng: random.Random, currency: str, category: str) -> Product | None:
        products = self._in_category.get((currency, category))
        return rng.choice(products) if products else None

    def active_product(self, rng: random.Random, currency: str) -> Product:
        return rng.choice(self._active[currency])

    def any_customer(self, rng: random.Random) -> Customer:
        return rng.choice(self.customers)

    def customer_for(self, rng: random.Random, currency: str) -> Customer:
        """A customer who shops in this storefront (anyone when it has no customers of its own)."""
        local = self._customers_by_currency.get(currency)
        return rng.choice(local) if local else rng.choice(self.customers)


def build_catalog(rng: random.Random, products: int, customers: int, today: dt.date) -> Catalog:
    """``products`` products (``SKU-00001``...) and ``customers`` customers (``C000001``...).

    At least one product is active, so there is always something to buy.
    """
    items = [make_product(rng, n) for n in range(1, products + 1)]
    if not any(p.active for p in items):
        first = items[0]
        items[0] = Product(
            first.product_id, first.name, first.category, first.brand, first.price, first.currency, True, first.noun
        )
    people = [make_customer(rng, n, today) for n in range(1, customers + 1)]
    return Catalog(items, people)
