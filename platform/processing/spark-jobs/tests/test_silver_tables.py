"""How a Silver table follows its contract's evolution: fields an evolution adds become optional columns."""

from __future__ import annotations

from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType, StructType

from dp_spark_jobs.silver.tables import _added_optional, _new_paths


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
