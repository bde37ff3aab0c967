"""The JSON Schema of a contract accepts a well-formed JSON event and names what is wrong with a bad one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dp_contracts.compiler import to_json_schema
from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_contracts.testing import REMOVED, changed, order_placed
from dp_core.config import find_repo_root

ORDER = find_contract(load_contracts(contracts_dir(find_repo_root(Path(__file__)))), "order_placed")
VALIDATOR = Draft202012Validator(to_json_schema(ORDER.record), format_checker=Draft202012Validator.FORMAT_CHECKER)
GOOD = order_placed()


def errors(event: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((e.json_path, e.validator) for e in VALIDATOR.iter_errors(event))


def test_a_good_event_is_valid_and_attributes_default() -> None:
    assert errors(GOOD) == []
    assert "attributes" not in to_json_schema(ORDER.record)["required"]


def variant(**changes: Any) -> dict[str, Any]:
    """GOOD with ``changes`` (:data:`~dp_contracts.testing.REMOVED` drops a field)."""
    return changed(GOOD, **changes)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (variant(total=REMOVED), ("$", "required")),
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
