"""Confluent wire decoding without a registry or Flink: exact values in bridge types, schema evolution, the reasons
records are rejected for, the writer-schema cache, and how registry answers map to results and errors."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from dp_contracts.ir import from_avro
from dp_contracts.model import Contract, find_contract
from dp_core.errors import TerminalError, TransientError
from dp_flink.errors import RegistryAccessError, RegistryUnavailableError
from dp_flink.wire import Decoded, WireDecoder, registry_fetcher

OCCURRED = dt.datetime(2026, 11, 25, 10, 15, 0, 123456, tzinfo=dt.UTC)
OCCURRED_MICROS = 1795601700123456
EVENT_ID = "6f1c1a52-8a9e-4a0c-9b55-0d7d7c8f2a11"
ORDER_ID = "0b6c4e1e-2d1f-4f39-8c3e-1f0a9b7d6e55"
Serve = Callable[[dict[str, tuple[int, Any]]], str]  # the conftest fixture


def framed(schema: dict[str, Any], datum: dict[str, Any], schema_id: int) -> bytes:
    """A record as the platform's producers write it: magic byte 0, the 4-byte schema id, Avro binary."""
    buffer = io.BytesIO()
    buffer.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(copy.deepcopy(schema)), datum)
    return buffer.getvalue()


class Registry:
    """A fetcher over a dict of id -> schema that counts its calls."""

    def __init__(self, schemas: dict[int, dict[str, Any]]) -> None:
        self.schemas = schemas
        self.calls: list[int] = []

    def __call__(self, schema_id: int) -> str | None:
        self.calls.append(schema_id)
        schema = self.schemas.get(schema_id)
        return None if schema is None else json.dumps(schema)


def order_datum() -> dict[str, Any]:
    return {
        "event_id": uuid.UUID(EVENT_ID),
        "order_id": ORDER_ID,
        "session_id": "s-123",
        "customer_id": "c-42",
        "lines": [
            {
                "line_number": 1,
                "product_id": "SKU-1",
                "quantity": 2,
                "unit_price": Decimal("19.99"),
                "line_total": Decimal("39.98"),
            },
            {
                "line_number": 2,
                "product_id": "SKU-2",
                "quantity": 1,
                "unit_price": Decimal("0.50"),
                "line_total": Decimal("0.50"),
            },
        ],
        "subtotal": Decimal("40.48"),
        "shipping": Decimal("4.99"),
        "tax": Decimal("8.64"),
        "total": Decimal("54.11"),
        "currency": "EUR",
        "shipping_country": "DE",
        "attributes": {"campaign": "bf26"},
        "occurred_at": OCCURRED,
    }


# -- decoding ------------------------------------------------------------------------------------------------------


def test_order_round_trip_in_bridge_types(contracts: list[Contract]) -> None:
    order = find_contract(contracts, "order_placed")
    decoder = WireDecoder(order.schema, order.record, Registry({3: order.schema}))
    got = decoder.decode(framed(order.schema, order_datum(), 3))
    assert got == Decoded(
        [
            EVENT_ID,
            ORDER_ID,
            "s-123",
            "c-42",
            [
                '{"line_number":1,"product_id":"SKU-1","quantity":2,"unit_price":"19.99","line_total":"39.98"}',
                '{"line_number":2,"product_id":"SKU-2","quantity":1,"unit_price":"0.50","line_total":"0.50"}',
            ],
            Decimal("40.48"),
            Decimal("4.99"),
            Decimal("8.64"),
            Decimal("54.11"),
            "EUR",
            "DE",
            {"campaign": "bf26"},
            OCCURRED_MICROS,
        ],
        3,
        None,
    )
    assert got.values is not None
    assert type(got.values[0]) is str  # a uuid crosses the bridge as text, not uuid.UUID
    assert type(got.values[-1]) is int


def test_nested_records_go_through_make_row_and_the_top_level_stays_a_list() -> None:
    inner = {"type": "record", "name": "Inner", "fields": [{"name": "n", "type": "int"}]}
    schema = {
        "type": "record",
        "name": "Outer",
        "fields": [
            {"name": "one", "type": inner},
            {"name": "many", "type": {"type": "array", "items": "Inner"}},
        ],
    }
    decoder = WireDecoder(schema, from_avro(schema), Registry({1: schema}), make_row=lambda v: ("row", *v))
    got = decoder.decode(framed(schema, {"one": {"n": 1}, "many": [{"n": 2}, {"n": 3}]}, 1))
    assert got.values == [("row", 1), ['{"n":2}', '{"n":3}']]  # an array of records: one JSON object each


def test_a_null_element_of_an_array_of_nullable_records_stays_null() -> None:
    inner = {"type": "record", "name": "Inner", "fields": [{"name": "n", "type": "int"}]}
    schema = {
        "type": "record",
        "name": "Outer",
        "fields": [{"name": "many", "type": {"type": "array", "items": ["null", inner]}}],
    }
    decoder = WireDecoder(schema, from_avro(schema), Registry({1: schema}))
    got = decoder.decode(framed(schema, {"many": [{"n": 2}, None, {"n": 3}]}, 1))
    assert got == Decoded([['{"n":2}', None, '{"n":3}']], 1, None)  # one field: the array, its null kept


def test_a_value_the_bridge_cannot_carry_rejects_the_record_instead_of_raising() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "n", "type": "int"}]}

    def make_row(values: list[Any]) -> Any:
        raise OverflowError("no bridge type for this")

    outer = {"type": "record", "name": "Outer", "fields": [{"name": "r", "type": schema}]}
    decoder = WireDecoder(outer, from_avro(outer), Registry({7: outer}), make_row=make_row)
    got = decoder.decode(framed(outer, {"r": {"n": 1}}, 7))
    assert got.values is None and got.schema_id == 7
    assert got.reason == "not convertible with schema id 7: OverflowError: no bridge type for this"


def test_reference_record_dates_enums_and_booleans(contracts: list[Contract]) -> None:
    customer = find_contract(contracts, "customer")
    datum = {
        "customer_id": "c-42",
        "email": "ada@example.com",
        "full_name": "Ada L.",
        "country": "GB",
        "segment": "VIP",
        "signup_date": dt.date(2026, 1, 15),
        "marketing_opt_in": False,
        "updated_at": dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC),
    }
    decoder = WireDecoder(customer.schema, customer.record, Registry({5: customer.schema}))
    got = decoder.decode(framed(customer.schema, datum, 5))
    assert got.values == ["c-42", "ada@example.com", "Ada L.", "GB", "VIP", 20468, False, 1772355600000000]


@dataclass(frozen=True)
class PageViewVersions:
    """page_view as written before it had ``referrer`` (schema id 1) and now (id 2), a registry of both and a decoder
    reading them as the current contract."""

    v1: dict[str, Any]
    v2: dict[str, Any]
    registry: Registry
    decoder: WireDecoder


@pytest.fixture
def page_view_versions(contracts: list[Contract]) -> PageViewVersions:
    view = find_contract(contracts, "page_view")
    v1 = copy.deepcopy(view.schema)
    v1["fields"] = [f for f in v1["fields"] if f["name"] != "referrer"]
    registry = Registry({1: v1, 2: view.schema})
    return PageViewVersions(v1, view.schema, registry, WireDecoder(view.schema, view.record, registry))


def test_older_writer_without_an_optional_field_reads_as_null(page_view_versions: PageViewVersions) -> None:
    v1, v2, decoder = page_view_versions.v1, page_view_versions.v2, page_view_versions.decoder
    old = {
        "event_id": EVENT_ID,
        "session_id": "s-1",
        "customer_id": None,
        "page_type": "PRODUCT",
        "url": "/p/SKU-1",
        "product_id": "SKU-1",
        "device": "MOBILE",
        "ip_address": "10.0.0.1",
        "occurred_at": OCCURRED,
    }
    got = decoder.decode(framed(v1, old, 1))
    assert got == Decoded(
        [EVENT_ID, "s-1", None, "PRODUCT", "/p/SKU-1", "SKU-1", None, "MOBILE", "10.0.0.1", OCCURRED_MICROS], 1, None
    )
    new = decoder.decode(framed(v2, {**old, "referrer": "https://search.example/"}, 2))
    assert new.values is not None and new.values[6] == "https://search.example/" and new.schema_id == 2


# -- rejects -------------------------------------------------------------------------------------------------------


@pytest.fixture
def order_decoder(contracts: list[Contract]) -> tuple[WireDecoder, Registry]:
    order = find_contract(contracts, "order_placed")
    registry = Registry({7: order.schema})
    return WireDecoder(order.schema, order.record, registry), registry


def test_unknown_schema_id_is_a_reason_and_is_asked_once(order_decoder: tuple[WireDecoder, Registry]) -> None:
    decoder, registry = order_decoder
    record = struct.pack(">bI", 0, 99) + b"\x02"
    assert decoder.decode(record) == Decoded(None, 99, "unknown schema id 99")
    assert decoder.decode(record) == Decoded(None, 99, "unknown schema id 99")
    assert registry.calls == [99]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "no Confluent header: record shorter than 5 bytes"),
        (b"", "no Confluent header: record shorter than 5 bytes"),
        (b"\x00\x00\x00\x07", "no Confluent header: record shorter than 5 bytes"),
        (b"\x01\x00\x00\x00\x07\x02", "no Confluent header: magic byte 1, expected 0"),
        (b'{"order_id": 1}', "no Confluent header: magic byte 123, expected 0"),
    ],
)
def test_records_without_a_header_are_rejected_without_asking_the_registry(
    order_decoder: tuple[WireDecoder, Registry], value: bytes | None, reason: str
) -> None:
    decoder, registry = order_decoder
    assert decoder.decode(value) == Decoded(None, None, reason)
    assert registry.calls == []


def test_undecodable_body_is_a_reason_naming_the_schema_id(order_decoder: tuple[WireDecoder, Registry]) -> None:
    decoder, _ = order_decoder
    got = decoder.decode(struct.pack(">bI", 0, 7) + b"\x48abc")  # a 36-byte uuid string announced, 3 bytes follow
    assert got.values is None and got.schema_id == 7
    assert got.reason is not None and got.reason.startswith("undecodable with schema id 7: ")


def test_body_of_another_contract_is_undecodable_not_a_crash(contracts: list[Contract]) -> None:
    order, customer = find_contract(contracts, "order_placed"), find_contract(contracts, "customer")
    decoder = WireDecoder(order.schema, order.record, Registry({4: customer.schema}))
    datum = {
        "customer_id": "c-1",
        "email": "a@b.c",
        "full_name": "A",
        "country": "DE",
        "segment": "NEW",
        "signup_date": dt.date(2026, 1, 1),
        "marketing_opt_in": True,
        "updated_at": OCCURRED,
    }
    got = decoder.decode(framed(customer.schema, datum, 4))
    assert got.values is None and got.schema_id == 4
    assert got.reason is not None and got.reason.startswith("undecodable with schema id 4: ")


def test_writer_schemas_are_fetched_once_per_id(page_view_versions: PageViewVersions) -> None:
    v1, v2, decoder = page_view_versions.v1, page_view_versions.v2, page_view_versions.decoder
    datum = {
        "event_id": EVENT_ID,
        "session_id": "s-1",
        "page_type": "HOME",
        "url": "/",
        "device": "DESKTOP",
        "occurred_at": OCCURRED,
    }
    results = [decoder.decode(framed(v1 if i % 2 else v2, datum, 1 if i % 2 else 2)) for i in range(6)]
    assert [r.schema_id for r in results] == [2, 1, 2, 1, 2, 1]
    assert all(r.reason is None for r in results)
    assert page_view_versions.registry.calls == [2, 1]


def test_a_registry_outage_raises_instead_of_rejecting(contracts: list[Contract]) -> None:
    order = find_contract(contracts, "order_placed")

    def down(schema_id: int) -> str | None:
        raise RegistryUnavailableError(f"down for {schema_id}")

    decoder = WireDecoder(order.schema, order.record, down)
    with pytest.raises(RegistryUnavailableError, match="down for 3"):
        decoder.decode(framed(order.schema, order_datum(), 3))


# -- registry_fetcher ----------------------------------------------------------------------------------------------


def test_registry_fetcher_maps_answers(serve: Serve, contracts: list[Contract]) -> None:
    order = find_contract(contracts, "order_placed")
    url = serve(
        {
            "/schemas/ids/1": (200, {"schema": order.text}),
            "/schemas/ids/5": (500, {"error_code": 50001, "message": "boom"}),
            "/schemas/ids/6": (200, b"<html>not json</html>"),
            "/schemas/ids/8": (200, {"id": 8}),
            "/schemas/ids/9": (401, {"error_code": 40101, "message": "unauthorized"}),
        }
    )
    fetch = registry_fetcher(url + "/")
    assert fetch(1) == order.text
    assert fetch(404) is None
    with pytest.raises(RegistryUnavailableError) as exc:
        fetch(5)
    assert str(exc.value) == f"schema registry {url} answered 500 for id 5"
    assert isinstance(exc.value, TransientError)
    with pytest.raises(RegistryUnavailableError, match=f"schema registry {url} unreachable for id 6: "):
        fetch(6)
    with pytest.raises(RegistryUnavailableError, match=f"schema registry {url} sent no schema for id 8"):
        fetch(8)
    with pytest.raises(RegistryAccessError, match="refused access \\(401\\)") as denied:
        fetch(9)
    assert isinstance(denied.value, TerminalError)


def test_registry_fetcher_unreachable(free_port: int) -> None:
    fetch = registry_fetcher(f"http://127.0.0.1:{free_port}", timeout_s=2)
    with pytest.raises(
        RegistryUnavailableError, match=f"schema registry http://127.0.0.1:{free_port} unreachable for id 1: "
    ):
        fetch(1)


def test_decoder_over_the_http_fetcher(serve: Serve, contracts: list[Contract]) -> None:
    order = find_contract(contracts, "order_placed")
    url = serve({"/schemas/ids/11": (200, {"schema": order.text})})
    decoder = WireDecoder(order.schema, order.record, registry_fetcher(url))
    assert decoder.decode(framed(order.schema, order_datum(), 11)).values is not None
    assert decoder.decode(framed(order.schema, order_datum(), 12)) == Decoded(None, 12, "unknown schema id 12")
