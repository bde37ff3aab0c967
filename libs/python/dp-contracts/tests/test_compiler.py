"""The compiler maps every Avro type and logical type to Iceberg, Spark, Flink SQL and JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)

from dp_contracts.compiler import to_flink_columns, to_iceberg, to_json_schema, to_spark
from dp_contracts.errors import InvalidSchemaError
from dp_contracts.ir import from_avro

# (avro type, iceberg type, spark type, flink type, json schema)
CASES: list[tuple[str, Any, Any, Any, str, dict[str, Any]]] = [
    ("boolean", "boolean", BooleanType(), "boolean", "BOOLEAN", {"type": "boolean"}),
    ("int", "int", IntegerType(), "integer", "INT", {"type": "integer"}),
    ("long", "long", LongType(), "long", "BIGINT", {"type": "integer"}),
    ("float", "float", FloatType(), "float", "FLOAT", {"type": "number"}),
    ("double", "double", DoubleType(), "double", "DOUBLE", {"type": "number"}),
    ("bytes", "bytes", BinaryType(), "binary", "BYTES", {"type": "string", "contentEncoding": "base64"}),
    ("string", "string", StringType(), "string", "STRING", {"type": "string"}),
    (
        "enum",
        {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]},
        StringType(),
        "string",
        "STRING",
        {"type": "string", "enum": ["RED", "GREEN"]},
    ),
    ("fixed", {"type": "fixed", "name": "Hash", "size": 16}, FixedType(16), "binary", "BINARY(16)", {"type": "string"}),
    (
        "decimal-bytes",
        {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2},
        DecimalType(12, 2),
        "decimal(12,2)",
        "DECIMAL(12, 2)",
        {"type": "string"},
    ),
    (
        "decimal-fixed",
        {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 4},
        DecimalType(18, 4),
        "decimal(18,4)",
        "DECIMAL(18, 4)",
        {"type": "string"},
    ),
    ("uuid", {"type": "string", "logicalType": "uuid"}, UUIDType(), "string", "STRING", {"format": "uuid"}),
    ("date", {"type": "int", "logicalType": "date"}, DateType(), "date", "DATE", {"format": "date"}),
    ("time-millis", {"type": "int", "logicalType": "time-millis"}, TimeType(), "long", "TIME(3)", {"format": "time"}),
    ("time-micros", {"type": "long", "logicalType": "time-micros"}, TimeType(), "long", "TIME(6)", {"format": "time"}),
    (
        "timestamp-millis",
        {"type": "long", "logicalType": "timestamp-millis"},
        TimestamptzType(),
        "timestamp",
        "TIMESTAMP_LTZ(3)",
        {"format": "date-time"},
    ),
    (
        "timestamp-micros",
        {"type": "long", "logicalType": "timestamp-micros"},
        TimestamptzType(),
        "timestamp",
        "TIMESTAMP_LTZ(6)",
        {"format": "date-time"},
    ),
    (
        "local-timestamp-millis",
        {"type": "long", "logicalType": "local-timestamp-millis"},
        TimestampType(),
        "timestamp_ntz",
        "TIMESTAMP(3)",
        {"type": "string"},
    ),
    (
        "local-timestamp-micros",
        {"type": "long", "logicalType": "local-timestamp-micros"},
        TimestampType(),
        "timestamp_ntz",
        "TIMESTAMP(6)",
        {"type": "string"},
    ),
]


def record(*fields: dict[str, Any], name: str = "T") -> dict[str, Any]:
    return {"type": "record", "name": name, "doc": "test", "fields": list(fields)}


@pytest.mark.parametrize(("case", "avro", "iceberg", "spark", "flink", "json"), CASES, ids=[c[0] for c in CASES])
def test_every_type_maps_to_every_engine(
    case: str, avro: Any, iceberg: Any, spark: Any, flink: str, json: dict[str, Any]
) -> None:
    tree = from_avro(record({"name": "v", "type": avro, "doc": "a value", "field-id": 1}))
    field = to_iceberg(tree).find_field("v")
    assert field.field_type == iceberg and field.required and field.doc == "a value"
    assert to_spark(tree)["fields"][0] == {
        "name": "v",
        "type": spark,
        "nullable": False,
        "metadata": {"comment": "a value"},
    }
    assert to_flink_columns(tree) == [f"`v` {flink} NOT NULL COMMENT 'a value'"]
    prop = to_json_schema(tree)["properties"]["v"]
    assert json.items() <= prop.items()


def test_nullable_union_becomes_optional_everywhere() -> None:
    tree = from_avro(record({"name": "v", "type": ["null", "string"], "default": None, "field-id": 1}))
    assert not to_iceberg(tree).find_field("v").required
    assert to_spark(tree)["fields"][0]["nullable"] is True
    assert to_flink_columns(tree) == ["`v` STRING"]
    schema = to_json_schema(tree)
    assert schema["properties"]["v"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schema["required"] == []  # it has a default


NESTED = record(
    {"name": "id", "type": "string", "field-id": 1},
    {
        "name": "lines",
        "field-id": 2,
        "type": {
            "type": "array",
            "element-id": 10,
            "items": {
                "type": "record",
                "name": "Line",
                "fields": [
                    {"name": "sku", "type": "string", "field-id": 11},
                    {"name": "qty", "type": ["null", "int"], "default": None, "field-id": 12},
                ],
            },
        },
    },
    {"name": "tags", "field-id": 3, "type": {"type": "map", "values": ["null", "long"], "key-id": 20, "value-id": 21}},
)


def test_nested_records_arrays_maps_keep_declared_ids() -> None:
    schema = to_iceberg(from_avro(NESTED), ("id",))
    lines = schema.find_field("lines").field_type
    assert isinstance(lines, ListType) and lines.element_id == 10 and lines.element_required
    line = lines.element_type
    assert isinstance(line, StructType)
    assert [(f.field_id, f.name, f.required) for f in line.fields] == [(11, "sku", True), (12, "qty", False)]
    tags = schema.find_field("tags").field_type
    assert isinstance(tags, MapType) and (tags.key_id, tags.value_id, tags.value_required) == (20, 21, False)
    assert schema.identifier_field_ids == [1]


def test_a_named_record_used_twice_would_share_ids() -> None:
    reused = {**NESTED, "fields": [*NESTED["fields"], {"name": "again", "field-id": 4, "type": ["null", "Line"]}]}
    tree = from_avro(reused)
    again = tree.fields[-1].type
    assert isinstance(again, type(tree.fields[1].type.items))  # type: ignore[union-attr]
    with pytest.raises(InvalidSchemaError, match=r"field ids used more than once: \[11, 12\]"):
        to_iceberg(tree)


def test_nested_types_in_spark_flink_and_json() -> None:
    tree = from_avro(NESTED)
    spark = {f["name"]: f["type"] for f in to_spark(tree)["fields"]}
    assert spark["lines"]["type"] == "array" and spark["lines"]["containsNull"] is False
    assert spark["lines"]["elementType"]["fields"][1] == {
        "name": "qty",
        "type": "integer",
        "nullable": True,
        "metadata": {},
    }
    assert spark["tags"] == {"type": "map", "keyType": "string", "valueType": "long", "valueContainsNull": True}
    flink = to_flink_columns(tree)
    assert flink[1] == "`lines` ARRAY<ROW<`sku` STRING NOT NULL, `qty` INT> NOT NULL> NOT NULL"
    assert flink[2] == "`tags` MAP<STRING NOT NULL, BIGINT> NOT NULL"
    json = to_json_schema(tree)
    assert json["properties"]["lines"]["items"]["additionalProperties"] is False
    assert json["properties"]["tags"]["additionalProperties"] == {
        "anyOf": [{"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}, {"type": "null"}]
    }


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (record({"name": "v", "type": "string"}), "v: missing field-id"),
        (
            record({"name": "v", "type": {"type": "array", "items": "int"}, "field-id": 1}),
            "v: missing element-id",
        ),
        (
            record({"name": "a", "type": "int", "field-id": 1}, {"name": "b", "type": "int", "field-id": 1}),
            "field ids used more than once: [1]",
        ),
    ],
)
def test_iceberg_needs_stable_unique_ids(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSchemaError, match=message.replace("[", r"\[").replace("]", r"\]")):
        to_iceberg(from_avro(schema))


@pytest.mark.parametrize(
    ("field_type", "message"),
    [
        (["null", "int", "string"], "unions other than \\[null, T\\] are not supported"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 5}, "decimal needs"),
        ({"type": "string", "logicalType": "date"}, "logical type date cannot annotate string"),
        ({"type": "long", "logicalType": "duration-ish"}, "unsupported logical type"),
        ("NoSuchType", "unknown type 'NoSuchType'"),
    ],
)
def test_unsupported_shapes_are_named(field_type: Any, message: str) -> None:
    with pytest.raises(InvalidSchemaError, match=message):
        from_avro(record({"name": "v", "type": field_type, "field-id": 1}))


def test_round_trip_through_a_real_iceberg_table(tmp_path: Path) -> None:
    """Create a table from a compiled schema in pyiceberg's SQL catalog, write a row, read it back."""
    fields = [{"name": f"f_{i}", "type": c[1], "field-id": i + 1} for i, c in enumerate(CASES)]
    tree = from_avro(record(*fields))
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path}/c.db", warehouse=f"file://{tmp_path}/wh")
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.every_type", schema=to_iceberg(tree))
    assert [f.field_id for f in table.schema().fields] == list(range(1, len(CASES) + 1))
    arrow_schema = table.schema().as_arrow()
    assert len(arrow_schema) == len(CASES)
    empty = pa.Table.from_pylist([], schema=arrow_schema)
    table.append(empty)
    assert table.scan().to_arrow().num_rows == 0
    assert table.schema() == to_iceberg(tree)
