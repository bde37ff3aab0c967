"""Canonical form: what makes two submissions the same schema, and which defaults are rejected."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dp_schema_registry.canonical import canonicalize
from dp_schema_registry.errors import InvalidSchemaError

ORDER: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme",
    "doc": "An order.",
    "fields": [
        {"name": "id", "type": "long", "doc": "Order id."},
        {"name": "line", "type": {"type": "record", "name": "Line", "fields": [{"name": "sku", "type": "string"}]}},
        {"name": "previous", "type": ["null", "Line"], "default": None},
    ],
}


def test_whitespace_and_key_order_do_not_matter() -> None:
    compact = json.dumps(ORDER, separators=(",", ":"))
    spaced = json.dumps(ORDER, indent=4)
    reordered = json.dumps({k: ORDER[k] for k in reversed(list(ORDER))}, indent=1)
    fingerprints = {canonicalize(text).fingerprint for text in (compact, spaced, reordered)}
    assert len(fingerprints) == 1


def test_canonical_form_lists_keys_in_one_order_without_whitespace() -> None:
    canonical = canonicalize(json.dumps(ORDER, indent=2)).canonical
    assert canonical == (
        '{"type":"record","name":"Order","namespace":"com.acme","doc":"An order.","fields":['
        '{"name":"id","type":"long","doc":"Order id."},'
        '{"name":"line","type":{"type":"record","name":"Line","namespace":"com.acme","fields":'
        '[{"name":"sku","type":"string"}]}},'
        '{"name":"previous","type":["null","com.acme.Line"],"default":null}]}'
    )


def test_canonical_form_is_a_fixed_point() -> None:
    first = canonicalize(json.dumps(ORDER))
    again = canonicalize(first.canonical)
    assert (again.canonical, again.fingerprint) == (first.canonical, first.fingerprint)


def test_the_text_kept_is_the_submitted_json_without_whitespace() -> None:
    submitted = json.dumps({k: ORDER[k] for k in reversed(list(ORDER))}, indent=4)
    text = canonicalize(submitted).text
    assert json.loads(text) == ORDER
    assert list(json.loads(text)) == list(reversed(list(ORDER)))
    assert text == json.dumps(json.loads(submitted), separators=(",", ":"))


def test_spellings_of_one_schema_share_the_fingerprint() -> None:
    assert canonicalize('"string"').fingerprint == canonicalize('{"type": "string"}').fingerprint
    relative = json.dumps({**ORDER, "fields": [*ORDER["fields"][:2], {**ORDER["fields"][2], "type": ["null", "Line"]}]})
    qualified = json.dumps(
        {**ORDER, "fields": [*ORDER["fields"][:2], {**ORDER["fields"][2], "type": ["null", "com.acme.Line"]}]}
    )
    assert canonicalize(relative).fingerprint == canonicalize(qualified).fingerprint


@pytest.mark.parametrize(
    "change",
    [
        {"doc": "Another doc."},
        {"dp.owner": "checkout"},
        {"aliases": ["Purchase"]},
        {"fields": [*ORDER["fields"], {"name": "note", "type": "string", "default": ""}]},
    ],
    ids=["doc", "custom-attribute", "alias", "added-field"],
)
def test_what_readers_see_makes_a_new_schema(change: dict[str, object]) -> None:
    assert canonicalize(json.dumps({**ORDER, **change})).fingerprint != canonicalize(json.dumps(ORDER)).fingerprint


def test_custom_attribute_objects_are_canonical_too() -> None:
    one = canonicalize(json.dumps({**ORDER, "dp.partitioning": {"field": "id", "transform": "bucket"}}))
    two = canonicalize(json.dumps({**ORDER, "dp.partitioning": {"transform": "bucket", "field": "id"}}))
    assert one.fingerprint == two.fingerprint


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "invalid Avro schema: Expecting value: line 1 column 1 (char 0)"),
        ('{"type": "record"}', "invalid Avro schema: Name None must be a string"),
        ('{"type": "nope"}', "invalid Avro schema: Undefined type: nope"),
        ("", "invalid Avro schema: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_invalid_schema_names_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidSchemaError) as caught:
        canonicalize(text)
    assert str(caught.value).startswith(f"Invalid schema: {reason}")
    assert (caught.value.http_status, caught.value.error_code) == (422, 42201)


def _record(field_type: object, default: object) -> str:
    return json.dumps(
        {"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type, "default": default}]}
    )


@pytest.mark.parametrize(
    ("field_type", "default"),
    [
        ("int", "x"),
        ("int", 2**31),
        ("long", 1.5),
        ("boolean", 0),
        ("string", None),
        ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, "C"),
        ({"type": "fixed", "name": "F", "size": 2}, "abc"),
        ({"type": "array", "items": "int"}, ["a"]),
        ({"type": "map", "values": "int"}, {"k": "v"}),
        (["null", "int"], "x"),
        ({"type": "record", "name": "In", "fields": [{"name": "x", "type": "int"}]}, {}),
    ],
)
def test_a_default_that_does_not_match_its_type_is_rejected(field_type: object, default: object) -> None:
    with pytest.raises(InvalidSchemaError, match=r"Invalid schema: R\.f: default .* is not a valid"):
        canonicalize(_record(field_type, default))


@pytest.mark.parametrize(
    ("field_type", "default"),
    [
        ("int", -(2**31)),
        ("double", 1),
        ("bytes", "\u00ff"),
        ({"type": "fixed", "name": "F", "size": 2}, "ab"),
        (["null", "string"], None),
        (["string", "null"], None),
        ({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}, "\u0000"),
        ({"type": "long", "logicalType": "timestamp-micros"}, 0),
        ({"type": "record", "name": "In", "fields": [{"name": "x", "type": "int", "default": 1}]}, {}),
    ],
)
def test_a_default_that_matches_its_type_is_accepted(field_type: object, default: object) -> None:
    assert len(canonicalize(_record(field_type, default)).fingerprint) == 64
