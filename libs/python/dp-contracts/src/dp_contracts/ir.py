"""A neutral type tree of an Avro record, from which every engine's schema is derived.

Avro's JSON is walked once into these frozen nodes (named types resolved, nullable unions folded into
``required``); the emitters for Iceberg, Spark, Flink and JSON Schema are then small pure functions over it. Every
walk of the tree is a :class:`TypeVisitor`: one method per kind of node, so a new kind fails loudly in each of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from dp_contracts.errors import InvalidSchemaError, UnknownNodeError

Primitive = Literal["boolean", "int", "long", "float", "double", "bytes", "string"]
LogicalKind = Literal[
    "date",
    "time-millis",
    "time-micros",
    "timestamp-millis",
    "timestamp-micros",
    "local-timestamp-millis",
    "local-timestamp-micros",
    "uuid",
]
PRIMITIVES = frozenset({"boolean", "int", "long", "float", "double", "bytes", "string"})
#: logical type -> the Avro types it may annotate
LOGICAL_BASES: dict[str, frozenset[str]] = {
    "date": frozenset({"int"}),
    "time-millis": frozenset({"int"}),
    "time-micros": frozenset({"long"}),
    "timestamp-millis": frozenset({"long"}),
    "timestamp-micros": frozenset({"long"}),
    "local-timestamp-millis": frozenset({"long"}),
    "local-timestamp-micros": frozenset({"long"}),
    "uuid": frozenset({"string", "fixed"}),
}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class PrimitiveT:
    kind: Primitive


@dataclass(frozen=True)
class LogicalT:
    kind: LogicalKind


@dataclass(frozen=True)
class DecimalT:
    precision: int
    scale: int


@dataclass(frozen=True)
class FixedT:
    name: str
    size: int


@dataclass(frozen=True)
class EnumT:
    name: str
    symbols: tuple[str, ...]
    default: str | None = None


@dataclass(frozen=True)
class ArrayT:
    items: TypeT
    items_required: bool
    element_id: int | None


@dataclass(frozen=True)
class MapT:
    values: TypeT
    values_required: bool
    key_id: int | None
    value_id: int | None


@dataclass(frozen=True)
class FieldT:
    name: str
    type: TypeT
    required: bool
    doc: str | None = None
    field_id: int | None = None
    default: Any = MISSING
    pii: bool = False
    props: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordT:
    name: str
    fields: tuple[FieldT, ...]
    doc: str | None = None


TypeT = PrimitiveT | LogicalT | DecimalT | FixedT | EnumT | ArrayT | MapT | RecordT
#: the kinds of node without children
ScalarT = PrimitiveT | LogicalT | DecimalT | FixedT | EnumT
T = TypeVar("T")
#: the :class:`TypeVisitor` method of each kind of node
VISITOR_METHODS: dict[type, str] = {
    PrimitiveT: "primitive",
    LogicalT: "logical",
    DecimalT: "decimal",
    FixedT: "fixed",
    EnumT: "enum",
    ArrayT: "array",
    MapT: "map",
    RecordT: "record",
}


class TypeVisitor(ABC, Generic[T]):
    """A walk of the type tree that makes a ``T`` of each node: one method per kind of node.

    :meth:`visit` calls the method of the node's kind; the methods of collections and records recurse with
    ``self.visit`` where (and whether) they need their children. A kind of node added to :data:`TypeT` fails loudly
    in every visitor: a node of a class :data:`VISITOR_METHODS` does not name raises :class:`UnknownNodeError`, and
    a visitor that lacks the method of a kind cannot be created (every method is abstract here).
    """

    def visit(self, node: TypeT) -> T:
        name = VISITOR_METHODS.get(type(node))
        if name is None:
            raise UnknownNodeError(f"{type(node).__name__} is not a kind of contract type node the visitors know")
        result: T = getattr(self, name)(node)
        return result

    @abstractmethod
    def primitive(self, node: PrimitiveT) -> T:
        """boolean, int, long, float, double, bytes or string (``node.kind``)."""

    @abstractmethod
    def logical(self, node: LogicalT) -> T:
        """A date, a time of day, an instant (``timestamp-*``), a local date-time (``local-timestamp-*``) or a uuid:
        ``node.kind`` says which, and whether to the millisecond or to the microsecond."""

    @abstractmethod
    def decimal(self, node: DecimalT) -> T:
        """A decimal of ``node.precision`` digits, ``node.scale`` of them after the point."""

    @abstractmethod
    def fixed(self, node: FixedT) -> T:
        """``node.size`` bytes."""

    @abstractmethod
    def enum(self, node: EnumT) -> T:
        """One of ``node.symbols``."""

    @abstractmethod
    def array(self, node: ArrayT) -> T:
        """A list of ``node.items``, each of which may be null unless ``node.items_required``; a visitor that needs
        the items' result calls ``self.visit(node.items)``."""

    @abstractmethod
    def map(self, node: MapT) -> T:
        """String keys to ``node.values`` (null allowed unless ``node.values_required``)."""

    @abstractmethod
    def record(self, node: RecordT) -> T:
        """``node.fields``, each with its own type."""


class _Walker:
    def __init__(self, namespace: str | None) -> None:
        self.named: dict[str, TypeT] = {}
        self.namespace = namespace

    def fullname(self, name: str, namespace: str | None) -> str:
        return name if "." in name else f"{namespace}.{name}" if namespace else name

    def register(self, name: str, namespace: str | None, node: TypeT) -> None:
        self.named[self.fullname(name, namespace)] = node
        self.named.setdefault(name, node)

    def nullable(self, schema: Any, path: str, namespace: str | None) -> tuple[TypeT, bool]:
        """(type, required): ``["null", T]`` and ``[T, "null"]`` become T, not required."""
        if isinstance(schema, list):
            branches = [b for b in schema if b != "null"]
            if len(branches) != 1 or len(schema) > 2:
                raise InvalidSchemaError(
                    f"{path}: unions other than [null, T] are not supported by the table formats (got {schema})"
                )
            return self.type(branches[0], path, namespace), len(branches) == len(schema)
        return self.type(schema, path, namespace), True

    def type(self, schema: Any, path: str, namespace: str | None) -> TypeT:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return PrimitiveT(schema)  # type: ignore[arg-type]
            if schema == "null":
                raise InvalidSchemaError(f"{path}: a field of type null carries no data")
            resolved = self.named.get(self.fullname(schema, namespace)) or self.named.get(schema)
            if resolved is None:
                raise InvalidSchemaError(f"{path}: unknown type {schema!r}")
            return resolved
        if isinstance(schema, list):
            raise InvalidSchemaError(f"{path}: nested unions are not supported")
        if not isinstance(schema, dict):
            raise InvalidSchemaError(f"{path}: not a schema: {schema!r}")
        kind = schema.get("type")
        logical = schema.get("logicalType")
        ns = schema.get("namespace", namespace)
        if logical == "decimal":
            if kind not in ("bytes", "fixed"):
                raise InvalidSchemaError(f"{path}: decimal must annotate bytes or fixed")
            precision, scale = schema.get("precision"), schema.get("scale", 0)
            if not isinstance(precision, int) or not isinstance(scale, int) or not 0 <= scale <= precision <= 38:
                raise InvalidSchemaError(f"{path}: decimal needs 0 <= scale <= precision <= 38")
            node: TypeT = DecimalT(precision, scale)
            if kind == "fixed":
                self.register(schema["name"], ns, node)
            return node
        if logical is not None:
            if logical not in LOGICAL_BASES:
                raise InvalidSchemaError(f"{path}: unsupported logical type {logical!r}")
            if kind not in LOGICAL_BASES[logical]:
                raise InvalidSchemaError(f"{path}: logical type {logical} cannot annotate {kind}")
            return LogicalT(logical)
        if kind in PRIMITIVES:
            return PrimitiveT(kind)
        if kind == "record":
            return self.record(schema, path, namespace)
        if kind == "enum":
            enum = EnumT(schema["name"], tuple(schema["symbols"]), schema.get("default"))
            self.register(schema["name"], ns, enum)
            return enum
        if kind == "fixed":
            fixed = FixedT(schema["name"], int(schema["size"]))
            self.register(schema["name"], ns, fixed)
            return fixed
        if kind == "array":
            items, required = self.nullable(schema["items"], f"{path}[]", ns)
            return ArrayT(items, required, schema.get("element-id"))
        if kind == "map":
            values, required = self.nullable(schema["values"], f"{path}{{}}", ns)
            return MapT(values, required, schema.get("key-id"), schema.get("value-id"))
        raise InvalidSchemaError(f"{path}: unsupported type {kind!r}")

    def record(self, schema: dict[str, Any], path: str, namespace: str | None) -> RecordT:
        ns = schema.get("namespace", namespace)
        fields: list[FieldT] = []
        placeholder = RecordT(schema["name"], (), schema.get("doc"))
        self.register(schema["name"], ns, placeholder)
        for raw in schema.get("fields", []):
            name = raw["name"]
            fpath = f"{path}.{name}" if path else name
            ftype, required = self.nullable(raw["type"], fpath, ns)
            props = {k: v for k, v in raw.items() if k not in ("name", "type", "doc", "default", "field-id")}
            fields.append(
                FieldT(
                    name=name,
                    type=ftype,
                    required=required,
                    doc=raw.get("doc"),
                    field_id=raw.get("field-id"),
                    default=raw.get("default", MISSING),
                    pii=bool(raw.get("dp.pii", False)),
                    props=props,
                )
            )
        record = RecordT(schema["name"], tuple(fields), schema.get("doc"))
        self.register(schema["name"], ns, record)
        return record


def from_avro(schema: dict[str, Any]) -> RecordT:
    """The neutral tree of a top-level Avro record (the file's JSON)."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise InvalidSchemaError("a contract must be an Avro record")
    return _Walker(schema.get("namespace")).record(schema, "", schema.get("namespace"))
