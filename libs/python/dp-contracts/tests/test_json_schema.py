"""The JSON Schema of a contract accepts a well-formed JSON event and names what is wrong with a bad one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dp_contracts.compiler import to_json_schema
from dp_contracts.model import find_contract, load_contracts

REPO = Path(__file__).resolve().parents[4]
ORDER = find_contract(load_contracts(REPO / "schemas" / "avro"), "order_placed")
VALIDATOR = Draft202012Validator(to_json_schema(ORDER.record), format_checker=Draft202012Validator.FORMAT_CHECKER)
GOOD: dict[str, Any] = {
    "event_id": "6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a11",
    "order_id": "0b6c4e1e-2d1f-4f39-8c3e-1f0a9b7d6e55",
    "session_id": "s-123",
    "customer_id": "c-42",
    "lines": [
        {"line_number": 1, "product_id": "SKU-1", "quantity": 2, "unit_price": "19.99", "line_total": "39.98"},
    ],
    "subtotal": "39.98",
    "shipping": "4.99",
    "tax": "8.99",
    "total": "53.96",
    "currency": "EUR",
    "shipping_country": "DE",
    "occurred_at": "2026-11-25T10:15:00.123456Z",
}


def errors(event: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((e.json_path, e.validator) for e in VALIDATOR.iter_errors(event))


def test_a_good_event_is_valid_and_attributes_default() -> None:
    assert errors(GOOD) == []
    assert "attributes" not in to_json_schema(ORDER.record)["required"]


def variant(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is None:
            event.pop(key)
        else:
            event[key] = value
    return event


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (variant(total=None), ("$", "required")),
        (variant(coupon="X"), ("$", "additionalProperties")),
        (variant(total=53.96), ("$.total", "type")),
        (variant(total="53.961"), ("$.total", "pattern")),
        (variant(total="12345678901.00"), ("$.total", "pattern")),
        (variant(order_id="not-a-uuid"), ("$.order_id", "format")),
        (variant(occurred_at="yesterday"), ("$.occurred_at", "pattern")),
        (variant(occurred_at="2026-11-25T10:15:00"), ("$.occurred_at", "pattern")),  # no offset: ambiguous
        (variant(lines=[{**GOOD["lines"][0], "quantity": "2"}]), ("$.lines[0].quantity", "type")),
        (variant(lines=[{**GOOD["lines"][0], "quantity": 2**31}]), ("$.lines[0].quantity", "maximum")),
        (variant(attributes={"campaign": 7}), ("$.attributes.campaign", "type")),
    ],
)
def test_bad_events_are_rejected_with_the_path(event: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in errors(event)
