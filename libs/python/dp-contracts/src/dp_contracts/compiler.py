"""From one contract to every engine's schema: Iceberg (stable field ids), Spark, Flink SQL and JSON Schema.

Pure functions over the neutral tree of :mod:`dp_contracts.ir`, each target a visitor of it whose scalar types are
one column of the table below (``_TYPES`` in code); no engine is imported (pyiceberg's type objects are plain
Python). Mapping of Avro types:

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

from abc import abstractmethod
from typing import Any, NamedTuple, TypeVar

from pyiceberg import types as iceberg
from pyiceberg.schema import Schema as IcebergSchema

from dp_contracts import ir
from dp_contracts.errors import InvalidSchemaError

T = TypeVar("T")

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


def decimal_pattern(node: ir.DecimalT) -> str:
    whole = node.precision - node.scale
    frac = rf"(\.[0-9]{{1,{node.scale}}})?" if node.scale else ""
    return rf"^-?[0-9]{{1,{max(whole, 1)}}}{frac}$"


class _Types(NamedTuple):
    """One Avro type in every target: a row of the table above."""

    iceberg: iceberg.IcebergType
    spark: str
    flink: str
    json: dict[str, Any]


#: the JSON Schema of the values of the integer and of the string-encoded logical types
_JSON_INT = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_JSON_LONG = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
_JSON_DATE = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
_JSON_TIME = {"type": "string", "format": "time", "pattern": TIME_PATTERN}
_JSON_DATE_TIME = {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}
_JSON_LOCAL_DATE_TIME = {"type": "string", "pattern": LOCAL_DATE_TIME_PATTERN}
_JSON_UUID = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
#: the primitive and logical types, by name
_TYPES: dict[str, _Types] = {
    "boolean": _Types(iceberg.BooleanType(), "boolean", "BOOLEAN", {"type": "boolean"}),
    "int": _Types(iceberg.IntegerType(), "integer", "INT", _JSON_INT),
    "long": _Types(iceberg.LongType(), "long", "BIGINT", _JSON_LONG),
    "float": _Types(iceberg.FloatType(), "float", "FLOAT", {"type": "number"}),
    "double": _Types(iceberg.DoubleType(), "double", "DOUBLE", {"type": "number"}),
    "bytes": _Types(iceberg.BinaryType(), "binary", "BYTES", {"type": "string", "contentEncoding": "base64"}),
    "string": _Types(iceberg.StringType(), "string", "STRING", {"type": "string"}),
    "date": _Types(iceberg.DateType(), "date", "DATE", _JSON_DATE),
    "time-millis": _Types(iceberg.TimeType(), "long", "TIME(3)", _JSON_TIME),
    "time-micros": _Types(iceberg.TimeType(), "long", "TIME(6)", _JSON_TIME),
    "timestamp-millis": _Types(iceberg.TimestamptzType(), "timestamp", "TIMESTAMP_LTZ(3)", _JSON_DATE_TIME),
    "timestamp-micros": _Types(iceberg.TimestamptzType(), "timestamp", "TIMESTAMP_LTZ(6)", _JSON_DATE_TIME),
    "local-timestamp-millis": _Types(iceberg.TimestampType(), "timestamp_ntz", "TIMESTAMP(3)", _JSON_LOCAL_DATE_TIME),
    "local-timestamp-micros": _Types(iceberg.TimestampType(), "timestamp_ntz", "TIMESTAMP(6)", _JSON_LOCAL_DATE_TIME),
    "uuid": _Types(iceberg.UUIDType(), "string", "STRING", _JSON_UUID),
}


def _decimal(node: ir.DecimalT) -> _Types:
    p, s = node.precision, node.scale
    json = {"type": "string", "pattern": decimal_pattern(node), "description": f"decimal({p},{s})"}
    return _Types(iceberg.DecimalType(p, s), f"decimal({p},{s})", f"DECIMAL({p}, {s})", json)


def _fixed(node: ir.FixedT) -> _Types:
    json = {"type": "string", "contentEncoding": "base64", "description": f"{node.size} bytes"}
    return _Types(iceberg.FixedType(node.size), "binary", f"BINARY({node.size})", json)


def _enum(node: ir.EnumT) -> _Types:
    return _Types(iceberg.StringType(), "string", "STRING", {"type": "string", "enum": list(node.symbols)})


class _TargetTypes(ir.TypeVisitor[T]):
    """One target's types: its column of the table for the scalar nodes, its own structure for the others."""

    @abstractmethod
    def column(self, row: _Types) -> T:
        """This target's type in a row of the table."""

    def primitive(self, node: ir.PrimitiveT) -> T:
        return self.column(_TYPES[node.kind])

    def logical(self, node: ir.LogicalT) -> T:
        return self.column(_TYPES[node.kind])

    def decimal(self, node: ir.DecimalT) -> T:
        return self.column(_decimal(node))

    def fixed(self, node: ir.FixedT) -> T:
        return self.column(_fixed(node))

    def enum(self, node: ir.EnumT) -> T:
        return self.column(_enum(node))


# ------------------------------------------------------------------------------------------------------------ Iceberg


def _need(value: int | None, what: str, path: str) -> int:
    if value is None:
        raise InvalidSchemaError(f"{path}: missing {what} (Iceberg needs a stable id for every column)")
    return value


class _IcebergTypes(_TargetTypes[iceberg.IcebergType]):
    """The Iceberg type of the node at ``path`` (which the errors about missing ids name)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def column(self, row: _Types) -> iceberg.IcebergType:
        return row.iceberg

    def array(self, node: ir.ArrayT) -> iceberg.IcebergType:
        return iceberg.ListType(
            element_id=_need(node.element_id, "element-id", self.path),
            element_type=_IcebergTypes(f"{self.path}[]").visit(node.items),
            element_required=node.items_required,
        )

    def map(self, node: ir.MapT) -> iceberg.IcebergType:
        return iceberg.MapType(
            key_id=_need(node.key_id, "key-id", self.path),
            key_type=iceberg.StringType(),
            value_id=_need(node.value_id, "value-id", self.path),
            value_type=_IcebergTypes(f"{self.path}{{}}").visit(node.values),
            value_required=node.values_required,
        )

    def record(self, node: ir.RecordT) -> iceberg.IcebergType:
        return iceberg.StructType(*(_iceberg_field(f, f"{self.path}.{f.name}") for f in node.fields))


def _iceberg_field(f: ir.FieldT, path: str) -> iceberg.NestedField:
    return iceberg.NestedField(
        field_id=_need(f.field_id, "field-id", path),
        name=f.name,
        field_type=_IcebergTypes(path).visit(f.type),
        required=f.required,
        doc=f.doc,
    )


def _ids(node: iceberg.IcebergType | iceberg.NestedField) -> list[int]:
    if isinstance(node, iceberg.NestedField):
        return [node.field_id, *_ids(node.field_type)]
    if isinstance(node, iceberg.StructType):
        return [i for f in node.fields for i in _ids(f)]
    if isinstance(node, iceberg.ListType):
        return [node.element_id, *_ids(node.element_type)]
    if isinstance(node, iceberg.MapType):
        return [node.key_id, node.value_id, *_ids(node.value_type)]
    return []


def to_iceberg(record: ir.RecordT, identifier_fields: tuple[str, ...] = ()) -> IcebergSchema:
    """The Iceberg schema, with the ids the contract declares (``field-id``, ``element-id``, ``key-id``...)."""
    fields = [_iceberg_field(f, f.name) for f in record.fields]
    ids = [i for f in fields for i in _ids(f)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InvalidSchemaError(f"{record.name}: field ids used more than once: {duplicates}")
    ident = [next(f.field_id for f in fields if f.name == name) for name in identifier_fields]
    return IcebergSchema(*fields, identifier_field_ids=ident)


# -------------------------------------------------------------------------------------------------------------- Spark


class _SparkTypes(_TargetTypes[Any]):
    """Spark's type of a node in its JSON form: a name, or an object for the nested types."""

    def column(self, row: _Types) -> Any:
        return row.spark

    def array(self, node: ir.ArrayT) -> Any:
        return {"type": "array", "elementType": self.visit(node.items), "containsNull": not node.items_required}

    def map(self, node: ir.MapT) -> Any:
        return {
            "type": "map",
            "keyType": "string",
            "valueType": self.visit(node.values),
            "valueContainsNull": not node.values_required,
        }

    def record(self, node: ir.RecordT) -> Any:
        return to_spark(node)


def to_spark(record: ir.RecordT) -> dict[str, Any]:
    """Spark's StructType in its JSON form (``StructType.fromJson`` reads it); docs become column comments."""
    return {
        "type": "struct",
        "fields": [
            {
                "name": f.name,
                "type": _SparkTypes().visit(f.type),
                "nullable": not f.required,
                "metadata": {"comment": f.doc} if f.doc else {},
            }
            for f in record.fields
        ],
    }


# -------------------------------------------------------------------------------------------------------------- Flink


def not_null(required: bool) -> str:
    return " NOT NULL" if required else ""


class FlinkTypes(_TargetTypes[str]):
    """The Flink SQL type of a node."""

    def column(self, row: _Types) -> str:
        return row.flink

    def array(self, node: ir.ArrayT) -> str:
        return f"ARRAY<{self.visit(node.items)}{not_null(node.items_required)}>"

    def map(self, node: ir.MapT) -> str:
        return f"MAP<STRING NOT NULL, {self.visit(node.values)}{not_null(node.values_required)}>"

    def record(self, node: ir.RecordT) -> str:
        return f"ROW<{', '.join(f'`{f.name}` {self.visit(f.type)}{not_null(f.required)}' for f in node.fields)}>"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def to_flink_columns(record: ir.RecordT) -> list[str]:
    """Flink SQL column definitions: ```name` TYPE [NOT NULL] [COMMENT '...']``, one per top-level field."""
    return [
        f"`{f.name}` {FlinkTypes().visit(f.type)}{not_null(f.required)}"
        + (f" COMMENT {_sql_string(f.doc)}" if f.doc else "")
        for f in record.fields
    ]


# -------------------------------------------------------------------------------------------------------- JSON Schema


class _JsonTypes(_TargetTypes[dict[str, Any]]):
    """The JSON Schema of a node's value in an event posted as JSON."""

    def column(self, row: _Types) -> dict[str, Any]:
        return dict(row.json)

    def array(self, node: ir.ArrayT) -> dict[str, Any]:
        return {"type": "array", "items": _nullable(self.visit(node.items), not node.items_required)}

    def map(self, node: ir.MapT) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": _nullable(self.visit(node.values), not node.values_required)}

    def record(self, node: ir.RecordT) -> dict[str, Any]:
        return _json_object(node)


def _nullable(schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]} if nullable else schema


def _json_object(record: ir.RecordT) -> dict[str, Any]:
    properties = {}
    for f in record.fields:
        prop = _nullable(_JsonTypes().visit(f.type), not f.required)
        if f.doc:
            prop = {**prop, "description": f.doc}
        properties[f.name] = prop
    return {
        "type": "object",
        "properties": properties,
        # a field is required in JSON unless the contract gives it a default (nullable fields default to null)
        "required": [f.name for f in record.fields if f.default is ir.MISSING],
        "additionalProperties": False,
    }


def to_json_schema(record: ir.RecordT, title: str | None = None) -> dict[str, Any]:
    """A JSON Schema (2020-12) for events posted as JSON: unknown fields rejected, logical types as strings."""
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title or record.name}
    if record.doc:
        schema["description"] = record.doc
    return {**schema, **_json_object(record)}
