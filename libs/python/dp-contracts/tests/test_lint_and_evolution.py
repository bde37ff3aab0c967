"""Contract rules (lint) and the evolution gate's checks, one failing case per rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from dp_contracts.compiler import to_iceberg
from dp_contracts.evolution import Change, check_change, iceberg_violations
from dp_contracts.ir import from_avro
from dp_contracts.lint import lint
from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import find_repo_root

SHIPPED = load_contracts(contracts_dir(find_repo_root(Path(__file__))))
TS = {"type": "long", "logicalType": "timestamp-micros"}


def base() -> dict[str, Any]:
    return {
        "type": "record",
        "name": "ThingHappened",
        "namespace": "io.test",
        "doc": "Something happened.",
        "dp.kind": "event",
        "dp.key": "thing_id",
        "dp.event_time": "occurred_at",
        "dp.event_id": "event_id",
        "dp.partitioning": ["day(occurred_at)"],
        "dp.owner": "team@test",
        "dp.compatibility": "BACKWARD",
        "dp.major": 1,
        "fields": [
            {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "id", "field-id": 1},
            {"name": "thing_id", "type": "string", "doc": "the thing", "field-id": 2},
            {"name": "count", "type": "int", "doc": "how many", "field-id": 3},
            {
                "name": "price",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
                "doc": "price",
                "field-id": 4,
            },
            {"name": "occurred_at", "type": TS, "doc": "when", "field-id": 5},
        ],
    }


def contract(schema: dict[str, Any], name: str = "thing_happened") -> Contract:
    return Contract(name=name, domain="test", path=Path(f"/x/test/{name}.avsc"), schema=schema)


def rules(schema: dict[str, Any], name: str = "thing_happened") -> list[tuple[str, str]]:
    return [(v.path, v.rule) for v in lint(contract(schema, name))]


# -- the shipped contracts -----------------------------------------------------------------------------------------


def test_the_six_shop_contracts_ship_and_lint_clean() -> None:
    assert [c.name for c in SHIPPED] == [
        "cart_updated",
        "customer",
        "order_placed",
        "page_view",
        "payment_processed",
        "product",
    ]
    for c in SHIPPED:
        assert lint(c) == [], c.name


def test_shipped_names_topics_and_keys() -> None:
    by_name = {c.name: c for c in SHIPPED}
    order = by_name["order_placed"]
    assert (order.topic, order.subject, order.dlq_topic) == (
        "commerce.order_placed.v1",
        "commerce.order_placed.v1-value",
        "commerce.order_placed.v1.dlq",
    )
    assert order.table_stem == "commerce__order_placed"
    assert {c.name: c.meta.key for c in SHIPPED} == {
        "cart_updated": "session_id",
        "customer": "customer_id",
        "order_placed": "order_id",
        "page_view": "session_id",
        "payment_processed": "order_id",
        "product": "product_id",
    }
    assert {c.name for c in SHIPPED if c.meta.kind == "reference"} == {"customer", "product"}


def test_order_lines_and_amounts_are_decimals_and_times_are_timestamps() -> None:
    order = next(c for c in SHIPPED if c.name == "order_placed")
    schema = to_iceberg(order.record)
    assert str(schema.find_field("total").field_type) == "decimal(12, 2)"
    assert str(schema.find_field("lines.element.unit_price").field_type) == "decimal(12, 2)"
    assert str(schema.find_field("occurred_at").field_type) == "timestamptz"
    assert str(schema.find_field("order_id").field_type) == "uuid"


# -- lint rules ----------------------------------------------------------------------------------------------------


def test_base_fixture_is_clean() -> None:
    assert rules(base()) == []


def edit(**changes: Any) -> dict[str, Any]:
    schema = copy.deepcopy(base())
    schema.update(changes)
    return schema


def with_field(index: int, **changes: Any) -> dict[str, Any]:
    schema = copy.deepcopy(base())
    schema["fields"][index].update(changes)
    return schema


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (edit(doc=None), ("(record)", "docs")),
        (with_field(2, doc=None), ("count", "docs")),
        (edit(**{"dp.kye": "thing_id"}), ("(record)", "metadata")),
        (edit(**{"dp.key": "nope"}), ("dp.key", "metadata")),
        (edit(**{"dp.key": "count"}), ("count", "metadata")),
        (edit(**{"dp.event_time": "count"}), ("count", "metadata")),
        (edit(**{"dp.event_id": None}), ("(record)", "metadata")),
        (edit(**{"dp.partitioning": ["daily(occurred_at)"]}), ("dp.partitioning", "metadata")),
        (edit(**{"dp.partitioning": ["day(nope)"]}), ("dp.partitioning", "metadata")),
        (edit(**{"dp.compatibility": "SIDEWAYS"}), ("(record)", "metadata")),
        (with_field(4, type="string"), ("occurred_at", "logical-types")),
        (with_field(3, type="double"), ("price", "logical-types")),
        (with_field(2, **{"dp.pii": "yes"}), ("count", "metadata")),
        (with_field(2, **{"dp.secret": True}), ("count", "metadata")),
        (with_field(2, type=["null", "int"], default=0), ("count", "defaults")),
        (with_field(2, **{"field-id": None}), ("(record)", "field-ids")),
        (with_field(2, type=["null", "int", "string"]), ("(record)", "table-types")),
        (with_field(2, type="no_such_type"), ("(record)", "avro")),
    ],
)
def test_each_rule_reports_its_path(schema: dict[str, Any], expected: tuple[str, str]) -> None:
    if schema.get("doc") is None:
        schema.pop("doc", None)
    for f in schema["fields"]:
        for key in [k for k, v in f.items() if v is None and k != "default"]:
            del f[key]
    for key in [k for k, v in schema.items() if v is None]:
        del schema[key]
    assert expected in rules(schema)


def test_file_name_must_match_the_record_name() -> None:
    assert ("(record)", "naming") in rules(base(), name="thing")


# -- evolution -----------------------------------------------------------------------------------------------------


def evolve(mutate: Any) -> list[tuple[str, str]]:
    old = base()
    new = copy.deepcopy(old)
    mutate(new)
    change = Change(contract(new), [contract(old)])
    return [(v.path, v.rule) for v in check_change(change)]


def add_field(field: dict[str, Any]) -> Any:
    return lambda s: s["fields"].append(field)


def set_type(index: int, new_type: Any, **extra: Any) -> Any:
    def mutate(s: dict[str, Any]) -> None:
        s["fields"][index]["type"] = new_type
        s["fields"][index].update(extra)

    return mutate


DEC = {"type": "bytes", "logicalType": "decimal"}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (add_field({"name": "note", "type": ["null", "string"], "default": None, "doc": "n", "field-id": 6}), []),
        (add_field({"name": "qty", "type": "int", "default": 0, "doc": "q", "field-id": 6}), []),
        (set_type(2, "long"), []),  # int -> long
        (set_type(3, {**DEC, "precision": 12, "scale": 2}), []),  # decimal widened
        (set_type(2, ["null", "int"], default=None), []),  # made optional, with a default
        (lambda s: s["fields"].pop(2), []),  # dropped (old readers had no default for it: BACKWARD is fine)
    ],
    ids=["add-optional", "add-with-default", "int-to-long", "decimal-widened", "made-optional", "dropped"],
)
def test_legal_evolutions_pass(mutate: Any, expected: list[tuple[str, str]]) -> None:
    assert evolve(mutate) == expected


def test_required_field_without_default_is_refused() -> None:
    found = evolve(add_field({"name": "qty", "type": "int", "doc": "q", "field-id": 6}))
    assert ("qty", "required-without-default") in found
    assert ("(record)", "compatibility-BACKWARD") in found


@pytest.mark.parametrize(
    ("mutate", "path", "rule"),
    [
        (set_type(2, "string"), "count", "iceberg-evolution"),
        (set_type(3, {**DEC, "precision": 8, "scale": 2}), "price", "iceberg-evolution"),
        (set_type(3, {**DEC, "precision": 10, "scale": 3}), "price", "iceberg-evolution"),
    ],
    ids=["int-to-string", "decimal-narrowed", "decimal-scale-changed"],
)
def test_narrowing_and_retyping_are_refused(mutate: Any, path: str, rule: str) -> None:
    assert (path, rule) in evolve(mutate)


def test_long_to_int_is_refused_by_both_checks() -> None:
    old = copy.deepcopy(base())
    old["fields"][2]["type"] = "long"
    new = base()
    found = [(v.path, v.rule) for v in check_change(Change(contract(new), [contract(old)]))]
    assert ("count", "iceberg-evolution") in found
    assert ("(record)", "compatibility-BACKWARD") in found


def test_optional_made_required_is_refused() -> None:
    old = copy.deepcopy(base())
    old["fields"][2]["type"] = ["null", "int"]
    old["fields"][2]["default"] = None
    old_schema, new_schema = to_iceberg(from_avro(old)), to_iceberg(from_avro(base()))
    assert [(v.path, v.rule) for v in iceberg_violations("t", old_schema, new_schema)] == [
        ("count", "iceberg-evolution")
    ]


def test_changed_field_id_is_refused() -> None:
    found = evolve(set_type(2, "int", **{"field-id": 60}))
    assert ("count", "field-ids") in found


def test_messages_name_the_version_and_the_field() -> None:
    old = base()
    new = copy.deepcopy(old)
    new["fields"].append({"name": "qty", "type": "int", "doc": "q", "field-id": 6})
    messages = [v.message for v in check_change(Change(contract(new), [contract(old)]))]
    assert any("version 1" in m and "qty" in m for m in messages), messages


def test_shipped_contract_round_trips_as_json() -> None:
    for c in SHIPPED:
        assert json.loads(c.text) == c.schema


def test_new_column_may_not_reuse_a_lower_id() -> None:
    old = base()
    old["fields"].pop(2)  # a version without count: id 3 is free, the highest id is 5
    new = copy.deepcopy(old)
    new["fields"].append({"name": "memo", "type": ["null", "string"], "default": None, "doc": "m", "field-id": 3})
    found = [(v.path, v.rule, v.message) for v in check_change(Change(contract(new), [contract(old)]))]
    assert found == [("memo", "field-ids", "new column takes id 3; new ids must be above 5")]


def test_new_contract_ids_must_be_the_ones_iceberg_assigns() -> None:
    from dp_contracts.evolution import fresh_id_violations

    assert fresh_id_violations(contract(base())) == []
    schema = base()
    schema["fields"][2]["field-id"] = 30
    found = [(v.path, v.rule, v.message) for v in fresh_id_violations(contract(schema))]
    assert ("count", "field-ids", "id 30 should be 3, the id Iceberg assigns") in found
    for shipped in SHIPPED:
        assert fresh_id_violations(shipped) == [], shipped.name
