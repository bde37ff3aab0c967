"""Silver tables from contracts: the contract's columns, then where each row came from; created and evolved from
the contract with no manual DDL (a new optional field in the contract becomes a new column, older rows null)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    TruncateTransform,
    YearTransform,
)
from pyiceberg.types import (
    BinaryType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

from dp_contracts.compiler import to_iceberg
from dp_contracts.model import Contract
from dp_spark_jobs.errors import BatchJobFailed

_TRANSFORM = re.compile(r"^(identity|year|month|day|hour|bucket\[(\d+)\]|truncate\[(\d+)\])\((\w+)\)$")
METADATA_FIELDS = (
    ("_source_topic", StringType(), "Kafka topic the record came from"),
    ("_source_partition", IntegerType(), "Kafka partition"),
    ("_source_offset", LongType(), "Kafka offset"),
    ("_schema_id", IntegerType(), "Registry id of the writer schema"),
    ("_ingested_at", TimestamptzType(), "When Bronze landed the record"),
    ("_batch_id", LongType(), "The Silver run that inserted the row"),
)
REJECTED_SCHEMA = Schema(
    NestedField(1, "reason", StringType(), required=True, doc="Why the record was rejected"),
    NestedField(
        2, "rule", StringType(), required=True, doc="Machine-readable rule: wire_format, unknown_schema_id ..."
    ),
    NestedField(3, "_source_topic", StringType(), required=True),
    NestedField(4, "_source_partition", IntegerType(), required=True),
    NestedField(5, "_source_offset", LongType(), required=True),
    NestedField(6, "key", BinaryType(), required=False),
    NestedField(7, "value", BinaryType(), required=False, doc="The Bronze value, unchanged, for replay"),
    NestedField(8, "_schema_id", IntegerType(), required=False),
    NestedField(9, "_ingested_at", TimestamptzType(), required=False),
    NestedField(10, "_batch_id", LongType(), required=True),
    NestedField(11, "rejected_at", TimestamptzType(), required=True),
)


def silver_schema(contract: Contract) -> Schema:
    """The contract's columns (its ids), then the metadata columns (ids after the contract's highest)."""
    base = to_iceberg(contract.record)
    next_id = base.highest_field_id + 1
    extra = [
        NestedField(next_id + i, name, kind, required=False, doc=doc)
        for i, (name, kind, doc) in enumerate(METADATA_FIELDS)
    ]
    return Schema(*base.fields, *extra)


def _transform(kind: str, width: str | None) -> Transform:  # type: ignore[type-arg]
    if kind == "identity":
        return IdentityTransform()
    if kind == "year":
        return YearTransform()
    if kind == "month":
        return MonthTransform()
    if kind == "day":
        return DayTransform()
    if kind == "hour":
        return HourTransform()
    if kind.startswith("bucket"):
        return BucketTransform(int(width or 0))
    return TruncateTransform(int(width or 0))


def partition_spec(contract: Contract, schema: Schema) -> PartitionSpec:
    """The contract's ``dp.partitioning`` (e.g. ``day(occurred_at)``) as an Iceberg partition spec."""
    fields = []
    for index, text in enumerate(contract.meta.partitioning):
        match = _TRANSFORM.match(text)
        if match is None:
            raise BatchJobFailed(f"{contract.name}: dp.partitioning {text!r} is not an Iceberg transform")
        kind = match.group(1).split("[")[0]
        width = match.group(2) or match.group(3)
        column = match.group(4)
        source = schema.find_field(column).field_id
        fields.append(PartitionField(source, 1000 + index, _transform(kind, width), f"{column}_{kind}"))
    return PartitionSpec(*fields)


def ensure_silver_table(catalog: Catalog, identifier: str, contract: Contract) -> tuple[Table, list[str]]:
    """Create the Silver table of a contract, or add the columns a newer contract version brings.

    Returns the table and the dotted names of the columns added now (``color``, ``lines.element.gift_wrap``).
    """
    wanted = silver_schema(contract)
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        table = catalog.create_table(
            identifier,
            schema=wanted,
            partition_spec=partition_spec(contract, wanted),
            properties={"format-version": "2", "write.merge.isolation-level": "serializable"},
        )
        return table, []
    held = table.schema().as_struct()
    added = _new_paths(held, wanted.as_struct())  # new columns, and fields new inside them
    if added or _changed_paths(held, wanted.as_struct()):
        with table.update_schema() as update:
            update.union_by_name(_added_optional(table.schema().as_struct(), wanted.as_struct()))
        table = catalog.load_table(identifier)
    return table, added


def _new_paths(held: StructType, wanted: StructType) -> list[str]:
    """The fields of ``wanted`` (nested ones included, in structs, list elements and map values) that ``held`` lacks,
    by dotted name (``lines.element.discount``)."""
    return [path for kind, path in _differences(held, wanted) if kind == "added"]


def _changed_paths(held: StructType, wanted: StructType) -> list[str]:
    """The fields both hold that ``wanted`` widened (int -> long, float -> double, a wider decimal) or made optional,
    nested ones included, by dotted name: the evolution gate allows both, and Silver's writes fail until the table
    follows (a long into an int column, a null into a required one)."""
    # a field both widened and loosened once
    return list(dict.fromkeys(path for kind, path in _differences(held, wanted) if kind == "changed"))


def _differences(held: IcebergType, wanted: IcebergType, path: str = "") -> Iterator[tuple[str, str]]:
    """``("added" | "changed", dotted path)`` for each field, list element or map value of ``wanted`` that ``held``
    lacks, or that ``wanted`` made optional or retyped, all the way down."""
    if held.is_primitive and wanted.is_primitive and held != wanted:
        yield "changed", path
    for old, new, sub, old_required, new_required in _children(held, wanted, path):
        if old is None:
            yield "added", sub
            continue
        if old_required and not new_required:
            yield "changed", sub
        yield from _differences(old, new, sub)


def _children(
    held: IcebergType, wanted: IcebergType, path: str
) -> Iterator[tuple[IcebergType | None, IcebergType, str, bool, bool]]:
    """The nested types two versions of one type hold side by side (``None`` where ``held`` has none): struct fields
    by name, the list element, the map value; each with its path and whether each side requires it."""
    dot = f"{path}." if path else ""
    if isinstance(held, StructType) and isinstance(wanted, StructType):
        by_name = {f.name: f for f in held.fields}
        for f in wanted.fields:
            old = by_name.get(f.name)
            yield (old.field_type if old else None), f.field_type, dot + f.name, bool(old and old.required), f.required
    elif isinstance(held, ListType) and isinstance(wanted, ListType):
        yield held.element_type, wanted.element_type, f"{dot}element", held.element_required, wanted.element_required
    elif isinstance(held, MapType) and isinstance(wanted, MapType):
        yield held.value_type, wanted.value_type, f"{dot}value", held.value_required, wanted.value_required


def _added_optional(held: StructType, wanted: StructType) -> Schema:
    """``wanted`` with every field ``held`` lacks made optional: a contract field added by an evolution (required,
    with its Avro default) cannot be required in Silver, whose rows from before it have no value (Iceberg refuses to
    add a required column to a table with data). Fields inside list elements and map values too."""

    def loosen(old: StructType, new: StructType) -> StructType:
        by_name = {f.name: f for f in old.fields}
        fields = []
        for f in new.fields:
            before = by_name.get(f.name)
            if before is None:  # new: optional (a new struct's own fields as the contract says: it is null before)
                fields.append(NestedField(f.field_id, f.name, f.field_type, required=False, doc=f.doc))
                continue
            kind = loosen_type(before.field_type, f.field_type)
            # an existing field keeps its nullability unless the contract loosened it
            fields.append(NestedField(f.field_id, f.name, kind, required=f.required and before.required, doc=f.doc))
        return StructType(*fields)

    def loosen_type(old: IcebergType, new: IcebergType) -> IcebergType:
        if isinstance(old, StructType) and isinstance(new, StructType):
            return loosen(old, new)
        if isinstance(old, ListType) and isinstance(new, ListType):
            element = loosen_type(old.element_type, new.element_type)
            return ListType(new.element_id, element, element_required=new.element_required and old.element_required)
        if isinstance(old, MapType) and isinstance(new, MapType):
            value = loosen_type(old.value_type, new.value_type)
            required = new.value_required and old.value_required
            return MapType(new.key_id, new.key_type, new.value_id, value, value_required=required)
        return new

    return Schema(*loosen(held, wanted).fields)


def ensure_rejected_table(catalog: Catalog, identifier: str) -> Table:
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        return catalog.create_table(identifier, schema=REJECTED_SCHEMA, properties={"format-version": "2"})
