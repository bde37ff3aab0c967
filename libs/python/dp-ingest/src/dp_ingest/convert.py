"""JSON events -> Avro datums, checked against the contract, with every error named by field path and rule.

A converter is compiled once per contract into nested closures (no tree walk per event), because the simulator
pushes tens of thousands of events per second through it. The JSON shapes are those of the contract's JSON Schema
(:func:`dp_contracts.compiler.to_json_schema`): times and dates as RFC 3339 strings, decimals as strings, bytes as
base64. Rules: ``type``, ``required``, ``null``, ``unknown_field``, ``enum``, ``decimal``, ``format``, ``range``.

Strings are checked with the JSON Schema's own patterns (ASCII digits, nothing after the value, at most six fraction
digits of a second), so an event passes here exactly when it passes the published JSON Schema, with two further
rules the JSON Schema cannot say: a timestamp must lie in the years 1-9999 once in UTC, and a number must be finite.
What is normalised, without changing a value: a uuid is written in lower case, a decimal gets the contract's scale
(``"12.3"`` -> ``12.30``), a timestamp with an offset becomes the same instant in UTC (Avro keeps no offset).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import uuid
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from dp_contracts.compiler import (
    DATE_PATTERN,
    DATE_TIME_PATTERN,
    LOCAL_DATE_TIME_PATTERN,
    TIME_PATTERN,
    UUID_PATTERN,
)
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
    TypeVisitor,
)
from dp_ingest.errors import FieldError

Errors = list[FieldError]
Conv = Callable[[Any, str, Errors], Any]
_INVALID: Any = object()
_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _pattern(json_schema_pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern (anchored with ^...$) as a Python pattern for ``fullmatch``: ``$`` would also match
    before a trailing newline, and ``\\d`` any Unicode digit, where the JSON Schema means neither."""
    return re.compile(json_schema_pattern.removeprefix("^").removesuffix("$"), re.ASCII)


_DATE = _pattern(DATE_PATTERN)
_TIME = _pattern(TIME_PATTERN)
_DATE_TIME = _pattern(DATE_TIME_PATTERN)
_LOCAL_DATE_TIME = _pattern(LOCAL_DATE_TIME_PATTERN)
_UUID = _pattern(UUID_PATTERN)


def _fail(errors: Errors, path: str, rule: str, message: str) -> Any:
    errors.append(FieldError(path, rule, message))
    return _INVALID


def _cut(text: str, limit: int = 40) -> str:
    """A value short enough for an error message."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _short(value: Any) -> str:
    return repr(_cut(value)) if isinstance(value, str) else _describe(value)


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _iso(
    pattern: re.Pattern[str], parse: Callable[[str], Any], expected: str, shown: Callable[[Any], str], invalid: str
) -> Conv:
    """A date or a time: a string matching ``pattern`` (else: expected ``expected``, got ``shown(v)``) that ``parse``
    reads (else: the value is not ``invalid``)."""

    def conv(v: Any, path: str, errors: Errors) -> Any:
        if not isinstance(v, str) or not pattern.fullmatch(v):
            return _fail(errors, path, "format", f"expected {expected}, got {shown(v)}")
        try:
            return parse(v)
        except ValueError:
            return _fail(errors, path, "format", f"{v!r} is not {invalid}")

    return conv


def _date_time(*, local: bool) -> Conv:
    """An RFC 3339 date-time: with an offset (an instant, which must lie in the years 1-9999 in UTC) or, ``local``,
    without one."""

    def conv_ts(v: Any, path: str, errors: Errors) -> Any:
        if not isinstance(v, str) or "T" not in v:
            return _fail(errors, path, "format", f"expected an RFC 3339 date-time string, got {_short(v)}")
        if local:
            if not _LOCAL_DATE_TIME.fullmatch(v):
                return _fail(errors, path, "format", f"{_cut(v)!r} is not a local date-time YYYY-MM-DDTHH:MM:SS")
            try:
                return dt.datetime.fromisoformat(v)
            except ValueError:
                return _fail(errors, path, "format", f"{_cut(v)!r} is not a calendar date-time")
        if not _DATE_TIME.fullmatch(v):
            if _LOCAL_DATE_TIME.fullmatch(v):
                return _fail(errors, path, "format", f"{v!r} has no UTC offset (add Z)")
            return _fail(
                errors, path, "format", f"{_cut(v)!r} is not an RFC 3339 date-time (at most 6 fraction digits)"
            )
        try:
            value = dt.datetime.fromisoformat(v)
        except ValueError:
            return _fail(errors, path, "format", f"{_cut(v)!r} is not a calendar date-time")
        try:  # 0001-01-01T00:00:00+01:00 is valid RFC 3339 but before year 1 in UTC: no later layer can read it
            value.astimezone(dt.UTC)
        except OverflowError:
            return _fail(errors, path, "range", f"{v!r} is outside the years 1-9999 in UTC")
        return value

    return conv_ts


def _optional(inner: Conv, required: bool) -> Conv:
    if not required:

        def conv_optional(v: Any, path: str, errors: Errors) -> Any:
            return None if v is None else inner(v, path, errors)

        return conv_optional

    def conv_required(v: Any, path: str, errors: Errors) -> Any:
        if v is None:
            return _fail(errors, path, "null", "must not be null")
        return inner(v, path, errors)

    return conv_required


def _checked(kind: type, expected: str, convert: Conv) -> Conv:
    """``convert`` for a JSON value of type ``kind`` (list or dict); a type error, ``expected ...``, for any other."""

    def conv(v: Any, path: str, errors: Errors) -> Any:
        if not isinstance(v, kind):
            return _fail(errors, path, "type", f"expected {expected}, got {_describe(v)}")
        return convert(v, path, errors)

    return conv


def _field_default(f: FieldT) -> Any:
    """The datum of a field's Avro default (the JSON default is already the datum for the types we allow)."""
    return f.default


class _Compiler(TypeVisitor[Conv]):
    """The converter of a JSON value of each kind of node (compiled once per contract)."""

    def primitive(self, node: PrimitiveT) -> Conv:
        kind = node.kind
        if kind == "boolean":

            def conv_bool(v: Any, path: str, errors: Errors) -> Any:
                if isinstance(v, bool):
                    return v
                return _fail(errors, path, "type", f"expected boolean, got {_describe(v)}")

            return conv_bool
        if kind in ("int", "long"):
            low, high = _RANGES[kind]

            def conv_int(v: Any, path: str, errors: Errors) -> Any:
                if not isinstance(v, int) or isinstance(v, bool):
                    return _fail(errors, path, "type", f"expected integer, got {_describe(v)}")
                if not low <= v <= high:
                    return _fail(errors, path, "range", f"{v} is out of range for {kind}")
                return v

            return conv_int
        if kind in ("float", "double"):

            def conv_float(v: Any, path: str, errors: Errors) -> Any:
                if isinstance(v, bool) or not isinstance(v, int | float):
                    return _fail(errors, path, "type", f"expected number, got {_describe(v)}")
                try:
                    value = float(v)
                except OverflowError:
                    return _fail(errors, path, "range", f"{_cut(str(v))} is out of range for {kind}")
                if not math.isfinite(value):
                    return _fail(errors, path, "range", f"{v} is not a finite number")
                return value

            return conv_float
        if kind == "string":

            def conv_str(v: Any, path: str, errors: Errors) -> Any:
                return v if isinstance(v, str) else _fail(errors, path, "type", f"expected string, got {_describe(v)}")

            return conv_str

        def conv_bytes(v: Any, path: str, errors: Errors) -> Any:
            if not isinstance(v, str):
                return _fail(errors, path, "type", f"expected base64 string, got {_describe(v)}")
            try:
                return base64.b64decode(v, validate=True)
            except binascii.Error:
                return _fail(errors, path, "format", "not valid base64")

        return conv_bytes

    def logical(self, node: LogicalT) -> Conv:
        kind = node.kind
        if kind == "uuid":

            def conv_uuid(v: Any, path: str, errors: Errors) -> Any:
                if not isinstance(v, str):
                    return _fail(errors, path, "type", f"expected uuid string, got {_describe(v)}")
                if not _UUID.fullmatch(v):
                    return _fail(errors, path, "format", f"{_cut(v)!r} is not a uuid (8-4-4-4-12 hex digits)")
                return str(uuid.UUID(v))  # lower case: the one normalisation (the JSON Schema allows either case)

            return conv_uuid
        if kind == "date":
            return _iso(_DATE, dt.date.fromisoformat, "a date YYYY-MM-DD", repr, "a calendar date")
        if kind.startswith("timestamp") or kind.startswith("local-timestamp"):
            return _date_time(local=kind.startswith("local"))
        return _iso(_TIME, dt.time.fromisoformat, "a time HH:MM:SS", _short, "a time")

    def decimal(self, node: DecimalT) -> Conv:
        quantum = Decimal(1).scaleb(-node.scale)
        max_int_digits = node.precision - node.scale
        context = Context(prec=node.precision + 2)

        def conv(v: Any, path: str, errors: Errors) -> Any:
            if not isinstance(v, str):
                return _fail(errors, path, "type", f'expected a decimal string like "12.34", got {_describe(v)}')
            if not _DECIMAL.fullmatch(v):
                return _fail(errors, path, "decimal", f"{v!r} is not a decimal number")
            try:
                value = Decimal(v)
            except InvalidOperation:  # pragma: no cover - the pattern rules it out
                return _fail(errors, path, "decimal", f"{v!r} is not a decimal number")
            # the integer digits first: quantize() itself fails on a coefficient longer than the context's precision
            if value != 0 and value.adjusted() + 1 > max_int_digits:
                return _fail(errors, path, "decimal", f"{_cut(v)} does not fit decimal({node.precision},{node.scale})")
            try:
                scaled = value.quantize(quantum, context=context)
            except InvalidOperation:  # pragma: no cover - ruled out by the integer digits above
                return _fail(errors, path, "decimal", f"{_cut(v)} does not fit decimal({node.precision},{node.scale})")
            if scaled != value:
                return _fail(errors, path, "decimal", f"{_cut(v)} has more than {node.scale} decimal places")
            return scaled

        return conv

    def fixed(self, node: FixedT) -> Conv:
        as_bytes = self.primitive(PrimitiveT("bytes"))

        def conv(v: Any, path: str, errors: Errors) -> Any:
            value = as_bytes(v, path, errors)
            if value is not _INVALID and len(value) != node.size:
                return _fail(errors, path, "format", f"expected {node.size} bytes, got {len(value)}")
            return value

        return conv

    def enum(self, node: EnumT) -> Conv:
        symbols = frozenset(node.symbols)

        def conv(v: Any, path: str, errors: Errors) -> Any:
            if not isinstance(v, str):
                return _fail(errors, path, "type", f"expected one of {sorted(symbols)}, got {_describe(v)}")
            if v not in symbols:
                return _fail(errors, path, "enum", f"{v!r} is not one of {', '.join(node.symbols)}")
            return v

        return conv

    def array(self, node: ArrayT) -> Conv:
        item = _optional(self.visit(node.items), node.items_required)
        return _checked(
            list, "array", lambda v, path, errors: [item(x, f"{path}[{i}]", errors) for i, x in enumerate(v)]
        )

    def map(self, node: MapT) -> Conv:
        value = _optional(self.visit(node.values), node.values_required)
        return _checked(
            dict, "object", lambda v, path, errors: {k: value(x, f"{path}.{k}", errors) for k, x in v.items()}
        )

    def record(self, node: RecordT) -> Conv:
        fields = [
            (f.name, _optional(self.visit(f.type), f.required), f.default is MISSING, _field_default(f))
            for f in node.fields
        ]
        known = frozenset(f.name for f in node.fields)

        def conv(v: dict[str, Any], path: str, errors: Errors) -> Any:
            prefix = f"{path}." if path else ""
            if len(v) > len(known) or not known.issuperset(v):
                for extra in sorted(set(v) - known):
                    _fail(errors, f"{prefix}{extra}", "unknown_field", "not a field of the contract")
            out = {}
            for name, field_conv, required, default in fields:
                if name in v:
                    out[name] = field_conv(v[name], f"{prefix}{name}", errors)
                elif required:
                    _fail(errors, f"{prefix}{name}", "required", "missing required field")
                else:
                    out[name] = default
            return out

        return _checked(dict, "object", conv)


_COMPILER = _Compiler()


def compile_type(node: TypeT) -> Conv:
    """The converter of a JSON value of type ``node``."""
    return _COMPILER.visit(node)


def compile_converter(record: RecordT) -> Callable[[Any], tuple[dict[str, Any] | None, list[FieldError]]]:
    """A function JSON event -> (Avro datum, []) or (None, errors)."""
    conv = _COMPILER.record(record)

    def convert(event: Any) -> tuple[dict[str, Any] | None, list[FieldError]]:
        errors: Errors = []
        datum = conv(event, "", errors)
        return (None, errors) if errors else (datum, errors)

    return convert
