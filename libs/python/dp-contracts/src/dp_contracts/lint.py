"""The platform's rules for a contract, beyond being valid Avro. Each violation names the field path and rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import avro.errors

from dp_contracts.compat import parse_schema
from dp_contracts.compiler import to_iceberg
from dp_contracts.errors import InvalidSchemaError
from dp_contracts.ir import MISSING, ArrayT, DecimalT, EnumT, FieldT, LogicalT, MapT, PrimitiveT, RecordT
from dp_contracts.model import FIELD_ATTRIBUTES, PARTITION_TRANSFORM, RECORD_ATTRIBUTES, Contract, snake_case

TIME_NAME = re.compile(r"(_at|_time|_timestamp)$")
DATE_NAME = re.compile(r"(_date|_day)$")
Adder = Callable[[str, str, str], None]
MONEY_NAME = re.compile(r"(amount|price|total|subtotal|tax|shipping|cost)$")


@dataclass(frozen=True)
class Violation:
    contract: str
    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.contract}: {self.path}: {self.message} [{self.rule}]"


def lint(contract: Contract) -> list[Violation]:
    """Every rule a contract breaks (empty when it is fine)."""
    out: list[Violation] = []

    def add(path: str, rule: str, message: str) -> None:
        out.append(Violation(contract.name, path or "(record)", rule, message))

    try:
        parse_schema(contract.schema)
    except InvalidSchemaError as exc:
        add("", "avro", str(exc))
        return out
    except avro.errors.AvroException as exc:  # pragma: no cover - parse_schema wraps these
        add("", "avro", str(exc))
        return out
    try:
        record = contract.record
    except InvalidSchemaError as exc:
        add("", "table-types", str(exc))
        return out

    if contract.name != snake_case(contract.record_name):
        add("", "naming", f"file name {contract.name}.avsc must be {snake_case(contract.record_name)}.avsc")
    for key in contract.schema:
        if key.startswith("dp.") and key not in RECORD_ATTRIBUTES:
            add("", "metadata", f"unknown attribute {key!r} (known: {', '.join(sorted(RECORD_ATTRIBUTES))})")
    try:
        meta = contract.meta
    except InvalidSchemaError as exc:
        add("", "metadata", str(exc))
        meta = None
    _lint_docs(record, "", add)
    top = {f.name: f for f in record.fields}
    if meta is not None:
        key_field = top.get(meta.key)
        if key_field is None:
            add("dp.key", "metadata", f"names no field: {meta.key!r}")
        elif not key_field.required or key_field.type not in (
            PrimitiveT("string"),
            LogicalT("uuid"),
            PrimitiveT("long"),
        ):
            add(meta.key, "metadata", "dp.key must be a required string, uuid or long field")
        when = top.get(meta.event_time)
        if when is None:
            add("dp.event_time", "metadata", f"names no field: {meta.event_time!r}")
        elif not when.required or not (isinstance(when.type, LogicalT) and "timestamp" in when.type.kind):
            add(meta.event_time, "metadata", "dp.event_time must be a required timestamp-millis/micros field")
        if meta.kind == "event":
            if meta.event_id is None:
                add("", "metadata", "an event needs dp.event_id (the field that identifies duplicates)")
            elif meta.event_id not in top or not top[meta.event_id].required:
                add("dp.event_id", "metadata", f"must name a required field: {meta.event_id!r}")
        for transform in meta.partitioning:
            match = PARTITION_TRANSFORM.match(transform)
            if match is None:
                add("dp.partitioning", "metadata", f"{transform!r} is not an Iceberg transform like day(field)")
            elif match.group(4) not in top:
                add("dp.partitioning", "metadata", f"{transform!r} names no field")
    try:
        identifier = (meta.key,) if meta is not None and meta.key in top and top[meta.key].required else ()
        to_iceberg(record, identifier)
    except InvalidSchemaError as exc:
        add("", "field-ids", str(exc))
    return out


def _lint_docs(record: RecordT, prefix: str, add: Adder) -> None:
    if not record.doc:
        add(prefix, "docs", f"record {record.name} has no doc")
    for f in record.fields:
        path = f"{prefix}.{f.name}" if prefix else f.name
        if not f.doc:
            add(path, "docs", "field has no doc")
        for key in f.props:
            if key.startswith("dp.") and key not in FIELD_ATTRIBUTES:
                add(path, "metadata", f"unknown field attribute {key!r} (known: {', '.join(sorted(FIELD_ATTRIBUTES))})")
        if "dp.pii" in f.props and not isinstance(f.props["dp.pii"], bool):
            add(path, "metadata", "dp.pii must be true or false")
        if not f.required and f.default is not MISSING and f.default is not None:
            add(path, "defaults", "a nullable field must default to null")
        _lint_logical(f, path, add)
        inner = f.type
        while isinstance(inner, ArrayT | MapT):
            inner = inner.items if isinstance(inner, ArrayT) else inner.values
        if isinstance(inner, RecordT):
            _lint_docs(inner, path, add)
        if isinstance(inner, EnumT) and inner.default is not None and inner.default not in inner.symbols:
            add(path, "avro", f"enum default {inner.default!r} is not a symbol")


def _lint_logical(f: FieldT, path: str, add: Adder) -> None:
    """Logical types instead of strings and floats where the name says what the value is."""
    kind = f.type
    if TIME_NAME.search(f.name) and not (isinstance(kind, LogicalT) and "timestamp" in kind.kind):
        add(path, "logical-types", "a time must be timestamp-micros (or -millis), not a plain type")
    if DATE_NAME.search(f.name) and kind != LogicalT("date"):
        add(path, "logical-types", "a date must use the date logical type")
    if MONEY_NAME.search(f.name) and isinstance(kind, PrimitiveT) and kind.kind in ("float", "double", "string"):
        add(path, "logical-types", "money must be a decimal, never float, double or string")
    if isinstance(kind, DecimalT) and kind.scale > kind.precision:  # pragma: no cover - ir rejects it
        add(path, "logical-types", "decimal scale exceeds precision")
