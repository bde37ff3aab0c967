"""The evolution gate: is a changed contract still compatible for its readers and a legal Iceberg evolution?

Two checks per changed contract:

* registry compatibility under the contract's mode (``dp.compatibility``), with Avro's resolution rules;
* Iceberg schema evolution, column by column matched on the stable field ids: a column may be added if it is
  optional (or has a default), dropped, renamed, made optional, or widened (int -> long, float -> double,
  decimal(p, s) -> decimal(p', s) with p' > p); anything narrowed or retyped, or a required column appearing
  without a default, is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pyiceberg.schema import Schema as IcebergSchema
from pyiceberg.schema import assign_fresh_schema_ids
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StructType,
)

from dp_contracts.compat import check_compatibility
from dp_contracts.compiler import to_iceberg
from dp_contracts.errors import InvalidSchemaError
from dp_contracts.ir import MISSING, ArrayT, FieldT, MapT, RecordT
from dp_contracts.lint import Violation
from dp_contracts.model import Contract


def _columns(schema: IcebergSchema) -> dict[int, tuple[str, NestedField]]:
    """Every column of the schema by field id, with its dotted path (list elements / map values as pseudo-columns)."""
    out: dict[int, tuple[str, NestedField]] = {}

    def walk(node: IcebergType, prefix: str) -> None:
        if isinstance(node, StructType):
            for f in node.fields:
                path = f"{prefix}.{f.name}" if prefix else f.name
                out[f.field_id] = (path, f)
                walk(f.field_type, path)
        elif isinstance(node, ListType):
            out[node.element_id] = (f"{prefix}[]", node.element_field)
            walk(node.element_type, f"{prefix}[]")
        elif isinstance(node, MapType):
            out[node.value_id] = (f"{prefix}{{}}", node.value_field)
            walk(node.value_type, f"{prefix}{{}}")

    walk(schema.as_struct(), "")
    return out


def _kind(t: IcebergType) -> str:
    return type(t).__name__


def _type_change(old: IcebergType, new: IcebergType) -> str | None:
    """Why changing a column from ``old`` to ``new`` is not a legal Iceberg evolution (None when it is)."""
    if old == new:
        return None
    if isinstance(old, IntegerType) and isinstance(new, LongType):
        return None
    if isinstance(old, FloatType) and isinstance(new, DoubleType):
        return None
    if isinstance(old, DecimalType) and isinstance(new, DecimalType):
        if new.scale != old.scale:
            return f"decimal scale changed from {old.scale} to {new.scale}"
        if new.precision < old.precision:
            return f"decimal precision narrowed from {old.precision} to {new.precision}"
        return None
    nested = (StructType, ListType, MapType)
    if isinstance(old, nested) and type(old) is type(new):
        return None  # children are compared by their own ids
    return f"type changed from {old} to {new}"


def iceberg_violations(name: str, old: IcebergSchema, new: IcebergSchema) -> list[Violation]:
    """Column-by-column checks of an Iceberg evolution (matched on field ids)."""
    before, after = _columns(old), _columns(new)
    out = []
    for fid, (path, field) in after.items():
        if fid not in before:
            continue
        _, old_field = before[fid]
        reason = _type_change(old_field.field_type, field.field_type)
        if reason:
            out.append(Violation(name, path, "iceberg-evolution", f"{reason} (field id {fid})"))
        if field.required and not old_field.required:
            out.append(Violation(name, path, "iceberg-evolution", f"optional column made required (field id {fid})"))
    old_names = {p: fid for fid, (p, _) in before.items()}
    for fid, (path, _) in after.items():
        if fid not in before and path in old_names:
            out.append(
                Violation(
                    name,
                    path,
                    "field-ids",
                    f"column {path} changed its field id from {old_names[path]} to {fid}: ids are stable",
                )
            )
    return out


def reused_id_violations(name: str, old: IcebergSchema, new: IcebergSchema) -> list[Violation]:
    """A new column must take an id above every id of the previous version, as Iceberg assigns it one
    (last-column-id + 1): then the table's ids stay equal to the contract's."""
    before, after = _columns(old), _columns(new)
    highest = max(before, default=0)
    return [
        Violation(name, path, "field-ids", f"new column takes id {fid}; new ids must be above {highest}")
        for fid, (path, _) in sorted(after.items())
        if fid not in before and fid <= highest
    ]


def fresh_id_violations(contract: Contract) -> list[Violation]:
    """A new contract's ids must be the ones Iceberg assigns when the table is created (fields of each struct
    numbered in order, level by level), so that the table's ids equal the contract's."""
    declared = to_iceberg(contract.record, (contract.meta.key,))
    fresh = assign_fresh_schema_ids(declared)
    if fresh == declared:
        return []
    columns, expected = _columns(declared), _columns(fresh)
    out = []
    for (fid, (path, _)), (want, _) in zip(
        sorted(columns.items(), key=lambda c: c[1][0]), sorted(expected.items(), key=lambda c: c[1][0]), strict=True
    ):
        if fid != want:
            out.append(
                Violation(contract.name, path, "field-ids", f"id {fid} should be {want}, the id Iceberg assigns")
            )
    return out or [Violation(contract.name, "(record)", "field-ids", "ids differ from Iceberg's assignment")]


def _fields(record: RecordT, prefix: str = "") -> Iterator[tuple[str, FieldT]]:
    for f in record.fields:
        path = f"{prefix}.{f.name}" if prefix else f.name
        yield path, f
        inner = f.type
        while isinstance(inner, ArrayT | MapT):
            inner = inner.items if isinstance(inner, ArrayT) else inner.values
        if isinstance(inner, RecordT):
            yield from _fields(inner, path)


def new_required_fields(name: str, old: RecordT, new: RecordT) -> list[Violation]:
    """Fields that appear in ``new``, are required and have no default: old data has no value for them."""
    old_ids = {f.field_id for _, f in _fields(old)}
    return [
        Violation(name, path, "required-without-default", "new required field has no default: old records lack it")
        for path, f in _fields(new)
        if f.field_id not in old_ids and f.required and f.default is MISSING
    ]


@dataclass(frozen=True)
class Change:
    """A contract and the versions it must stay compatible with (oldest first)."""

    contract: Contract
    previous: Sequence[Contract]


def check_change(change: Change) -> list[Violation]:
    """Every violation of one changed contract: registry compatibility, Iceberg legality, new required fields."""
    contract, name = change.contract, change.contract.name
    if not change.previous:
        return []
    latest = change.previous[-1]
    out: list[Violation] = []
    verdict = check_compatibility(contract.text, [p.text for p in change.previous], contract.meta.compatibility)
    for message in verdict.messages:
        out.append(Violation(name, "(record)", f"compatibility-{contract.meta.compatibility.value}", message))
    try:
        old_schema, new_schema = to_iceberg(latest.record), to_iceberg(contract.record)
        out.extend(iceberg_violations(name, old_schema, new_schema))
        out.extend(reused_id_violations(name, old_schema, new_schema))
    except InvalidSchemaError as exc:
        out.append(Violation(name, "(record)", "field-ids", str(exc)))
    out.extend(new_required_fields(name, latest.record, contract.record))
    return out
