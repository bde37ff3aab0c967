"""From one contract to every engine's schema: Iceberg (stable field ids), Spark, Flink SQL and JSON Schema.

Pure functions over the neutral tree of :mod:`dp_contracts.ir`; no engine is imported (pyiceberg's type objects
are plain Python). Mapping of Avro types:

======================== ================== ================ ==================== ==========================
Avro                     Iceberg            Spark            Flink SQL            JSON (HTTP edge)
======================== ================== ================ ==================== ==========================
boolean/int/long         boolean/int/long   boolean/int/long BOOLEAN/INT/BIGINT   boolean/integer
float/double             float/double       float/double     FLOAT/DOUBLE         number
bytes                    binary             binary           BYTES                base64 string
string, enum             string             string           STRING               string (enum: its symbols)
fixed(n)                 fixed[n]           binary           BINARY(n)            base64 string
decimal(p,s)             decimal(p,s)       decimal(p,s)     DECIMAL(p,s)         decimal string "12.34"
uuid                     uuid               string           STRING               string, format uuid
date                     date               date             DATE                 string, format date
time-millis/micros       time               long (micros)    TIME(3)/TIME(6)      string, format time
timestamp-millis/micros  timestamptz        timestamp        TIMESTAMP_LTZ(3/6)   string, format date-time
local-timestamp-*        timestamp          timestamp_ntz    TIMESTAMP(3/6)       string (no offset)
record / array / map     struct/list/map    struct/array/map ROW/ARRAY/MAP        object/array/object
["null", T]              optional T         nullable T       T (nullable)         T or null
======================== ================== ================ ==================== ==========================
"""

from __future__ import annotations

from typing import Any

from pyiceberg.schema import Schema as IcebergSchema
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)

from dp_contracts.errors import InvalidSchemaError
from dp_contracts.ir import (
    MISSING,
    ArrayT,
    DecimalT,
    EnumT,
    FieldT,
    FixedT,
    LogicalT,
    MapT,
    PrimitiveT,
    RecordT,
    TypeT,
)

# ------------------------------------------------------------------------------------------------------------ Iceberg

_ICEBERG_PRIMITIVES: dict[str, IcebergType] = {
    "boolean": BooleanType(),
    "int": IntegerType(),
    "long": LongType(),
    "float": FloatType(),
    "double": DoubleType(),
    "bytes": BinaryType(),
    "string": StringType(),
}
_ICEBERG_LOGICAL: dict[str, IcebergType] = {
    "date": DateType(),
    "time-millis": TimeType(),
    "time-micros": TimeType(),
    "timestamp-millis": TimestamptzType(),
    "timestamp-micros": TimestamptzType(),
    "local-timestamp-millis": TimestampType(),
    "local-timestamp-micros": TimestampType(),
    "uuid": UUIDType(),
}


def _need(value: int | None, what: str, path: str) -> int:
    if value is None:
        raise InvalidSchemaError(f"{path}: missing {what} (Iceberg needs a stable id for every column)")
    return value


def _iceberg_type(node: TypeT, path: str) -> IcebergType:
    if isinstance(node, PrimitiveT):
        return _ICEBERG_PRIMITIVES[node.kind]
    if isinstance(node, LogicalT):
        return _ICEBERG_LOGICAL[node.kind]
    if isinstance(node, DecimalT):
        return DecimalType(node.precision, node.scale)
    if isinstance(node, FixedT):
        return FixedType(node.size)
    if isinstance(node, EnumT):
        return StringType()
    if isinstance(node, ArrayT):
        return ListType(
            element_id=_need(node.element_id, "element-id", path),
            element_type=_iceberg_type(node.items, f"{path}[]"),
            element_required=node.items_required,
        )
    if isinstance(node, MapT):
        return MapType(
            key_id=_need(node.key_id, "key-id", path),
            key_type=StringType(),
            value_id=_need(node.value_id, "value-id", path),
            value_type=_iceberg_type(node.values, f"{path}{{}}"),
            value_required=node.values_required,
        )
    return StructType(*(_iceberg_field(f, f"{path}.{f.name}") for f in node.fields))


def _iceberg_field(f: FieldT, path: str) -> NestedField:
    return NestedField(
        field_id=_need(f.field_id, "field-id", path),
        name=f.name,
        field_type=_iceberg_type(f.type, path),
        required=f.required,
        doc=f.doc,
    )


def _ids(node: IcebergType | NestedField) -> list[int]:
    if isinstance(node, NestedField):
        return [node.field_id, *_ids(node.field_type)]
    if isinstance(node, StructType):
        return [i for f in node.fields for i in _ids(f)]
    if isinstance(node, ListType):
        return [node.element_id, *_ids(node.element_type)]
    if isinstance(node, MapType):
        return [node.key_id, node.value_id, *_ids(node.value_type)]
    return []


def to_iceberg(record: RecordT, identifier_fields: tuple[str, ...] = ()) -> IcebergSchema:
    """The Iceberg schema, with the ids the contract declares (``field-id``, ``element-id``, ``key-id``...)."""
    fields = [_iceberg_field(f, f.name) for f in record.fields]
    ids = [i for f in fields for i in _ids(f)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InvalidSchemaError(f"{record.name}: field ids used more than once: {duplicates}")
    ident = [next(f.field_id for f in fields if f.name == name) for name in identifier_fields]
    return IcebergSchema(*fields, identifier_field_ids=ident)


# -------------------------------------------------------------------------------------------------------------- Spark


def _spark_type(node: TypeT) -> Any:
    if isinstance(node, PrimitiveT):
        return {"int": "integer", "bytes": "binary"}.get(node.kind, node.kind)
    if isinstance(node, LogicalT):
        return {
            "date": "date",
            "time-millis": "long",
            "time-micros": "long",
            "timestamp-millis": "timestamp",
            "timestamp-micros": "timestamp",
            "local-timestamp-millis": "timestamp_ntz",
            "local-timestamp-micros": "timestamp_ntz",
            "uuid": "string",
        }[node.kind]
    if isinstance(node, DecimalT):
        return f"decimal({node.precision},{node.scale})"
    if isinstance(node, FixedT):
        return "binary"
    if isinstance(node, EnumT):
        return "string"
    if isinstance(node, ArrayT):
        return {"type": "array", "elementType": _spark_type(node.items), "containsNull": not node.items_required}
    if isinstance(node, MapT):
        return {
            "type": "map",
            "keyType": "string",
            "valueType": _spark_type(node.values),
            "valueContainsNull": not node.values_required,
        }
    return to_spark(node)


def to_spark(record: RecordT) -> dict[str, Any]:
    """Spark's StructType in its JSON form (``StructType.fromJson`` reads it); docs become column comments."""
    return {
        "type": "struct",
        "fields": [
            {
                "name": f.name,
                "type": _spark_type(f.type),
                "nullable": not f.required,
                "metadata": {"comment": f.doc} if f.doc else {},
            }
            for f in record.fields
        ],
    }


# -------------------------------------------------------------------------------------------------------------- Flink


def _flink_type(node: TypeT) -> str:
    if isinstance(node, PrimitiveT):
        return {
            "boolean": "BOOLEAN",
            "int": "INT",
            "long": "BIGINT",
            "float": "FLOAT",
            "double": "DOUBLE",
            "bytes": "BYTES",
            "string": "STRING",
        }[node.kind]
    if isinstance(node, LogicalT):
        return {
            "date": "DATE",
            "time-millis": "TIME(3)",
            "time-micros": "TIME(6)",
            "timestamp-millis": "TIMESTAMP_LTZ(3)",
            "timestamp-micros": "TIMESTAMP_LTZ(6)",
            "local-timestamp-millis": "TIMESTAMP(3)",
            "local-timestamp-micros": "TIMESTAMP(6)",
            "uuid": "STRING",
        }[node.kind]
    if isinstance(node, DecimalT):
        return f"DECIMAL({node.precision}, {node.scale})"
    if isinstance(node, FixedT):
        return f"BINARY({node.size})"
    if isinstance(node, EnumT):
        return "STRING"
    if isinstance(node, ArrayT):
        return f"ARRAY<{_flink_type(node.items)}{'' if not node.items_required else ' NOT NULL'}>"
    if isinstance(node, MapT):
        return f"MAP<STRING NOT NULL, {_flink_type(node.values)}{'' if not node.values_required else ' NOT NULL'}>"
    inner = ", ".join(f"`{f.name}` {_flink_type(f.type)}{' NOT NULL' if f.required else ''}" for f in node.fields)
    return f"ROW<{inner}>"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def to_flink_columns(record: RecordT) -> list[str]:
    """Flink SQL column definitions: ```name` TYPE [NOT NULL] [COMMENT '...']``, one per top-level field."""
    return [
        f"`{f.name}` {_flink_type(f.type)}{' NOT NULL' if f.required else ''}"
        + (f" COMMENT {_sql_string(f.doc)}" if f.doc else "")
        for f in record.fields
    ]


# -------------------------------------------------------------------------------------------------------- JSON Schema


def decimal_pattern(node: DecimalT) -> str:
    whole = node.precision - node.scale
    frac = rf"(\.[0-9]{{1,{node.scale}}})?" if node.scale else ""
    return rf"^-?[0-9]{{1,{max(whole, 1)}}}{frac}$"


# patterns as well as formats: format checks are optional in JSON Schema validators. The producer core checks
# events with these same patterns (dp_ingest.convert), so what the JSON Schema refuses the collector refuses too.
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-][0-9][0-9]:[0-9][0-9])?$"
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
    r"(Z|[+-][0-9][0-9]:[0-9][0-9])$"
)
LOCAL_DATE_TIME_PATTERN = r"^[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]{1,6})?$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_JSON_PRIMITIVES: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "int": {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    "long": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
    "string": {"type": "string"},
}


def _json_type(node: TypeT) -> dict[str, Any]:
    if isinstance(node, PrimitiveT):
        return dict(_JSON_PRIMITIVES[node.kind])
    if isinstance(node, LogicalT):
        return {
            "date": {"type": "string", "format": "date", "pattern": DATE_PATTERN},
            "time-millis": {"type": "string", "format": "time", "pattern": TIME_PATTERN},
            "time-micros": {"type": "string", "format": "time", "pattern": TIME_PATTERN},
            "timestamp-millis": {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN},
            "timestamp-micros": {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN},
            "local-timestamp-millis": {"type": "string", "pattern": LOCAL_DATE_TIME_PATTERN},
            "local-timestamp-micros": {"type": "string", "pattern": LOCAL_DATE_TIME_PATTERN},
            "uuid": {"type": "string", "format": "uuid", "pattern": UUID_PATTERN},
        }[node.kind]
    if isinstance(node, DecimalT):
        return {
            "type": "string",
            "pattern": decimal_pattern(node),
            "description": f"decimal({node.precision},{node.scale})",
        }
    if isinstance(node, FixedT):
        return {"type": "string", "contentEncoding": "base64", "description": f"{node.size} bytes"}
    if isinstance(node, EnumT):
        return {"type": "string", "enum": list(node.symbols)}
    if isinstance(node, ArrayT):
        return {"type": "array", "items": _nullable(_json_type(node.items), not node.items_required)}
    if isinstance(node, MapT):
        return {"type": "object", "additionalProperties": _nullable(_json_type(node.values), not node.values_required)}
    return _json_object(node)


def _nullable(schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]} if nullable else schema


def _json_object(record: RecordT) -> dict[str, Any]:
    properties = {}
    for f in record.fields:
        prop = _nullable(_json_type(f.type), not f.required)
        if f.doc:
            prop = {**prop, "description": f.doc}
        properties[f.name] = prop
    return {
        "type": "object",
        "properties": properties,
        # a field is required in JSON unless the contract gives it a default (nullable fields default to null)
        "required": [f.name for f in record.fields if f.default is MISSING],
        "additionalProperties": False,
    }


def to_json_schema(record: RecordT, title: str | None = None) -> dict[str, Any]:
    """A JSON Schema (2020-12) for events posted as JSON: unknown fields rejected, logical types as strings."""
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title or record.name}
    if record.doc:
        schema["description"] = record.doc
    return {**schema, **_json_object(record)}
