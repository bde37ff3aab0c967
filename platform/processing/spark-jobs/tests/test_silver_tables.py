"""How a Silver table follows its contract's evolution: fields an evolution adds become optional columns."""

from __future__ import annotations

from pyiceberg.schema import Schema
from pyiceberg.types import (
    BooleanType,
    DecimalType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
)

from dp_spark_jobs.silver.tables import _added_optional, _changed_paths, _new_paths


def test_new_fields_are_optional_and_existing_ones_keep_their_nullability_unless_loosened() -> None:
    held = StructType(
        NestedField(1, "a", StringType(), required=True),
        NestedField(2, "s", StructType(NestedField(3, "x", LongType(), required=True)), required=True),
        NestedField(4, "loose", StringType(), required=True),
    )
    wanted = StructType(
        NestedField(1, "a", StringType(), required=True),
        NestedField(
            2,
            "s",
            StructType(NestedField(3, "x", LongType(), required=True), NestedField(5, "y", LongType(), required=True)),
            required=True,
        ),
        NestedField(4, "loose", StringType(), required=False),
        NestedField(6, "b", StringType(), required=True),  # added with its default
        NestedField(7, "t", StructType(NestedField(8, "z", StringType(), required=True)), required=True),
    )
    assert _new_paths(held, wanted) == ["s.y", "b", "t"]
    assert _new_paths(wanted, wanted) == []
    evolved: Schema = _added_optional(held, wanted)
    required = {name: evolved.find_field(name).required for name in ("a", "s", "s.x", "s.y", "loose", "b", "t", "t.z")}
    assert required == {
        "a": True,
        "s": True,
        "s.x": True,
        "s.y": False,  # new inside an existing struct
        "loose": False,  # the contract made it optional
        "b": False,  # new: the rows before it have no value
        "t": False,
        "t.z": True,  # a new struct's own fields as the contract says: the struct is null before
    }


def test_fields_new_inside_list_elements_and_map_values_are_found_and_optional() -> None:
    def line(*extra: NestedField) -> StructType:
        return StructType(NestedField(11, "sku", StringType(), required=True), *extra)

    discount = NestedField(12, "discount", LongType(), required=True)  # added with its default
    held = StructType(
        NestedField(1, "lines", ListType(10, line(), element_required=True), required=True),
        NestedField(2, "by_sku", MapType(20, StringType(), 21, line(), value_required=True), required=True),
    )
    wanted = StructType(
        NestedField(1, "lines", ListType(10, line(discount), element_required=True), required=True),
        NestedField(2, "by_sku", MapType(20, StringType(), 21, line(discount), value_required=True), required=True),
    )
    assert _new_paths(held, wanted) == ["lines.element.discount", "by_sku.value.discount"]
    assert _new_paths(wanted, wanted) == []
    evolved = _added_optional(held, wanted)
    lines, by_sku = evolved.find_field("lines").field_type, evolved.find_field("by_sku").field_type
    assert isinstance(lines, ListType) and isinstance(by_sku, MapType)
    assert lines.element_required and by_sku.value_required
    for element in (lines.element_type, by_sku.value_type):
        assert isinstance(element, StructType)
        assert {f.name: f.required for f in element.fields} == {"sku": True, "discount": False}


def test_widened_and_loosened_fields_are_found_nested_ones_too() -> None:
    def line(quantity: IntegerType | LongType, required: bool) -> StructType:
        return StructType(NestedField(11, "quantity", quantity, required=required))

    held = StructType(
        NestedField(1, "n", IntegerType(), required=True),
        NestedField(2, "price", DecimalType(10, 2), required=True),
        NestedField(3, "active", BooleanType(), required=True),
        NestedField(4, "lines", ListType(10, line(IntegerType(), True), element_required=True), required=True),
        NestedField(5, "same", StringType(), required=False),
    )
    wanted = StructType(
        NestedField(1, "n", LongType(), required=True),
        NestedField(2, "price", DecimalType(18, 2), required=True),
        NestedField(3, "active", BooleanType(), required=False),
        NestedField(4, "lines", ListType(10, line(LongType(), False), element_required=False), required=True),
        NestedField(5, "same", StringType(), required=False),
        NestedField(6, "new", StringType(), required=False),
    )
    assert _changed_paths(held, wanted) == [
        "n",
        "price",
        "active",
        "lines.element",
        "lines.element.quantity",
    ]
    assert _changed_paths(wanted, wanted) == []
    assert _new_paths(held, wanted) == ["new"]
    evolved = _added_optional(held, wanted)
    assert evolved.find_field("n").field_type == LongType()
    assert evolved.find_field("price").field_type == DecimalType(18, 2)
    assert not evolved.find_field("active").required
    lines = evolved.find_field("lines").field_type
    assert isinstance(lines, ListType) and not lines.element_required
    assert evolved.find_field("lines.element.quantity").field_type == LongType()
    assert not evolved.find_field("lines.element.quantity").required
