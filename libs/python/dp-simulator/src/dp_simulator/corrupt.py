"""Malformed events: a fresh valid event broken in one documented way.

=================  =====================================================================  ===========================
corruption         what is done to the event                                              ``expected_error``
=================  =====================================================================  ===========================
missing            a required field is removed                                            ``missing:<field>``
type               a required field gets a JSON value of the wrong type: a number for a   ``type:<field>``
                   string, uuid, enum or decimal, a string for an integer or boolean, an
                   object for the array of order lines (never a timestamp or date: those
                   are ``format`` errors)
unknown_field      a field the contract does not have is added (``coupon``, ...)          ``unknown_field:<field>``
decimal            a decimal string is written wrongly: ``19,99``, ``19.999``,            ``decimal:<field>``
                   ``EUR 19.99`` or ``1.999E+1``
enum               an enum field gets a symbol the contract does not list: the right      ``enum:<field>``
                   one in lower case or an unknown one (``PENDING``)
not_json           the body is not JSON at all: the JSON cut short, a Python ``repr``,    ``not_json``
                   or a proxy's HTML error page (``raw`` bytes, no payload)
=================  =====================================================================  ===========================

Every corruption applies to top-level fields only and breaks exactly one rule, so the contract's JSON Schema and
the producer core's checks (``dp_ingest.convert``: ``required``, ``type``, ``unknown_field``, ``decimal``,
``enum``) both reject it, at that field. A contract without decimal (or enum) fields never gets that corruption.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dp_simulator.model import CART_UPDATED, CUSTOMER, ID_FIELDS, ORDER_PLACED, PAGE_VIEW, PAYMENT_PROCESSED, PRODUCT

CORRUPTIONS = ("missing", "type", "unknown_field", "decimal", "enum", "not_json")
_CORRUPTION_WEIGHTS = {"missing": 25, "type": 20, "unknown_field": 15, "decimal": 15, "enum": 10, "not_json": 15}
#: the contracts of malformed events, roughly as often as each appears in the stream
MALFORMED_CONTRACTS = (PAGE_VIEW, CART_UPDATED, ORDER_PLACED, PAYMENT_PROCESSED, CUSTOMER, PRODUCT)
MALFORMED_WEIGHTS = (44, 22, 13, 13, 4, 4)


@dataclass(frozen=True)
class FieldSpec:
    """The fields of one contract that each corruption may target."""

    required: tuple[str, ...]
    #: the required timestamps and dates: a wrong value there is a format error, so ``type`` leaves them alone
    temporal: tuple[str, ...]
    decimals: tuple[str, ...]
    #: enum field -> an unknown symbol for it
    enums: dict[str, str]
    #: required fields that are neither timestamps nor dates (``required`` without ``temporal``, in its order)
    typed: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "typed", tuple(f for f in self.required if f not in self.temporal))


def _spec(required: str, temporal: str, decimals: str = "", enums: dict[str, str] | None = None) -> FieldSpec:
    """A :class:`FieldSpec` from space-separated field names, ``required`` in the contract's order."""
    return FieldSpec(tuple(required.split()), tuple(temporal.split()), tuple(decimals.split()), enums or {})


#: kept in step with the contracts by a test that compares them with each contract's JSON Schema
FIELD_SPECS: dict[str, FieldSpec] = {
    PAGE_VIEW: _spec(
        "event_id session_id page_type url device occurred_at",
        temporal="occurred_at",
        enums={"page_type": "LANDING", "device": "SMART_TV"},
    ),
    CART_UPDATED: _spec(
        "event_id session_id action product_id quantity unit_price currency occurred_at",
        temporal="occurred_at",
        decimals="unit_price",
        enums={"action": "UPDATE"},
    ),
    ORDER_PLACED: _spec(
        "event_id order_id session_id customer_id lines subtotal shipping tax total currency shipping_country "
        "occurred_at",
        temporal="occurred_at",
        decimals="subtotal shipping tax total",
    ),
    PAYMENT_PROCESSED: _spec(
        "event_id payment_id order_id status method amount currency occurred_at",
        temporal="occurred_at",
        decimals="amount",
        enums={"status": "PENDING", "method": "CRYPTO"},
    ),
    CUSTOMER: _spec(
        "customer_id email full_name country segment signup_date marketing_opt_in updated_at",
        temporal="signup_date updated_at",
        enums={"segment": "GOLD"},
    ),
    PRODUCT: _spec(
        "product_id name category price currency active updated_at", temporal="updated_at", decimals="price"
    ),
}

#: fields no contract has, with a value a buggy client might send
UNKNOWN_FIELDS: dict[str, str] = {
    "coupon": "SAVE10",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
    "debug": "true",
    "client_version": "3.14.1",
    "promo_code": "SPRING24",
}
_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class Corrupted:
    payload: dict[str, Any] | None
    raw: bytes | None
    reason: str
    event_id: str | None


def _applicable(contract: str) -> tuple[list[str], list[int]]:
    spec = FIELD_SPECS[contract]
    names = [c for c in CORRUPTIONS if (c != "decimal" or spec.decimals) and (c != "enum" or spec.enums)]
    return names, [_CORRUPTION_WEIGHTS[c] for c in names]


_APPLICABLE = {contract: _applicable(contract) for contract in FIELD_SPECS}


def _wrong_type(rng: random.Random, value: Any, is_decimal: bool) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return value[0] if value else {}
    if is_decimal:
        return float(value)
    return rng.randrange(1, 1_000_000)


def _bad_decimal(rng: random.Random, value: str) -> str:
    how = rng.randrange(4)
    if how == 0:
        return value.replace(".", ",")
    if how == 1:
        return f"{value}9"
    if how == 2:
        return f"EUR {value}"
    return f"{Decimal(value):.3E}"


def _not_json(rng: random.Random, payload: dict[str, Any]) -> bytes:
    how = rng.randrange(3)
    if how == 0:  # the body was cut short
        text = json.dumps(payload, ensure_ascii=False)
        return text[: rng.randrange(len(text) // 4, 3 * len(text) // 4)].encode()
    if how == 1:  # a client sent str(dict)
        return repr(payload).encode()
    return _HTML


def malformed_contract(rng: random.Random) -> str:
    """The contract of the next malformed event, drawn by the :data:`MALFORMED_WEIGHTS`."""
    return rng.choices(MALFORMED_CONTRACTS, MALFORMED_WEIGHTS)[0]


def corrupt(rng: random.Random, contract: str, payload: dict[str, Any]) -> Corrupted:
    """Break ``payload`` (a fresh valid event of ``contract``, modified in place) in one way chosen by ``rng``."""
    spec = FIELD_SPECS[contract]
    names, weights = _APPLICABLE[contract]
    how = rng.choices(names, weights)[0]
    id_field = ID_FIELDS[contract]
    if how == "not_json":
        return Corrupted(None, _not_json(rng, payload), "not_json", None)
    if how == "missing":
        target = rng.choice(spec.required)
        del payload[target]
    elif how == "type":
        target = rng.choice(spec.typed)
        payload[target] = _wrong_type(rng, payload[target], target in spec.decimals)
    elif how == "unknown_field":
        target = rng.choice(tuple(UNKNOWN_FIELDS))
        payload[target] = UNKNOWN_FIELDS[target]
    elif how == "decimal":
        target = rng.choice(spec.decimals)
        payload[target] = _bad_decimal(rng, payload[target])
    else:
        target = rng.choice(tuple(spec.enums))
        payload[target] = payload[target].lower() if rng.random() < 0.5 else spec.enums[target]
    carried = payload.get(id_field)
    return Corrupted(payload, None, f"{how}:{target}", carried if isinstance(carried, str) else None)
