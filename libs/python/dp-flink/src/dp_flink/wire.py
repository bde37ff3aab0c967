"""Decoding of the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary) without Confluent's jars.

Each record is read with the writer schema its id names (fetched once per id from the registry) and resolved to the
reader schema: the latest contract, so records of older versions gain the new optional fields as nulls. The result is
a flat list of values in the order of the contract's top-level fields, in the types Flink's Python bridge carries
reliably: timestamps as epoch microseconds, dates as epoch days, uuids and enums as strings, nested records as
tuples (the caller wraps them in its Row type). Pure: the registry lookup is a function passed in.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import fastavro

from dp_contracts.ir import (
    ArrayT,
    DecimalT,
    EnumT,
    FixedT,
    LogicalT,
    MapT,
    PrimitiveT,
    RecordT,
    ScalarT,
    TypeT,
    TypeVisitor,
)
from dp_flink.errors import RegistryAccessError, RegistryUnavailableError
from dp_ingest.wire import HEADER, MAGIC_BYTE

MAGIC = MAGIC_BYTE
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DAY = dt.date(1970, 1, 1)
#: the writer schema text of an id, or None when the registry does not know the id
SchemaFetcher = Callable[[int], "str | None"]
Convert = Callable[[Any], Any]
#: an id the registry did not know is asked for again after this long (it may have been registered since)
UNKNOWN_RETRY_S = 60.0


@dataclass(frozen=True)
class Decoded:
    """One record: ``values`` in contract field order, or ``reason`` why it could not be read."""

    values: list[Any] | None
    schema_id: int | None
    reason: str | None


def registry_fetcher(url: str, timeout_s: float = 10.0, auth: tuple[str, str] | None = None) -> SchemaFetcher:
    """Look writer schemas up by id in a Confluent-compatible registry (``GET /schemas/ids/{id}``).

    404: None (the id is unknown). 401/403: :class:`RegistryAccessError` (terminal: retrying will not help).
    Anything else (down, 5xx, a body that is not a schema): :class:`RegistryUnavailableError` (transient).
    """
    base = url.rstrip("/")
    headers = {"Accept": "application/vnd.schemaregistry.v1+json, application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()

    def fetch(schema_id: int) -> str | None:
        request = urllib.request.Request(f"{base}/schemas/ids/{schema_id}", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code in (401, 403):
                denied = f"schema registry {base} refused access ({exc.code}): check registry.basic_auth_*"
                raise RegistryAccessError(denied) from None
            raise RegistryUnavailableError(f"schema registry {base} answered {exc.code} for id {schema_id}") from exc
        except (OSError, ValueError) as exc:
            raise RegistryUnavailableError(f"schema registry {base} unreachable for id {schema_id}: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            raise RegistryUnavailableError(f"schema registry {base} sent no schema for id {schema_id}")
        return str(body["schema"])

    return fetch


def _micros(value: Any) -> int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int((value - EPOCH) // dt.timedelta(microseconds=1))
    return int(value)


def _epoch_days(value: Any) -> int:
    return (value - EPOCH_DAY).days if isinstance(value, dt.date) else int(value)


def _time_micros(value: dt.time) -> int:
    return (value.hour * 3600 + value.minute * 60 + value.second) * 1_000_000 + value.microsecond


#: logical type -> its bridge value: uuids as text, dates as epoch days, times and timestamps in microseconds
_LOGICAL: dict[str, Convert] = {
    "uuid": str,
    "date": _epoch_days,
    "time-millis": _time_micros,
    "time-micros": _time_micros,
    **dict.fromkeys(
        ("timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"), _micros
    ),
}


def _same(value: Any) -> Any:
    return value


def _hex(value: Any) -> str:
    return bytes(value).hex()


def _each(item: Convert) -> Convert:
    """A list converted item by item (nulls stay null)."""
    return lambda v: [None if x is None else item(x) for x in v]


def _each_value(value: Convert) -> Convert:
    """A map converted value by value (nulls stay null)."""
    return lambda v: {k: None if x is None else value(x) for k, x in v.items()}


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class _Plain(TypeVisitor[Convert]):
    """Decoded value -> JSON-ready value: records as objects, decimals as strings, bytes as hex, times as numbers."""

    def primitive(self, node: PrimitiveT) -> Convert:
        return _hex if node.kind == "bytes" else _same

    def logical(self, node: LogicalT) -> Convert:
        return _LOGICAL[node.kind]

    def decimal(self, node: DecimalT) -> Convert:
        return str

    def fixed(self, node: FixedT) -> Convert:
        return _hex

    def enum(self, node: EnumT) -> Convert:
        return _same

    def array(self, node: ArrayT) -> Convert:
        return _each(self.visit(node.items))

    def map(self, node: MapT) -> Convert:
        return _each_value(self.visit(node.values))

    def record(self, node: RecordT) -> Convert:
        fields = [(f.name, self.visit(f.type)) for f in node.fields]
        return lambda v: {n: None if v.get(n) is None else c(v[n]) for n, c in fields}


class _Bridge(TypeVisitor["Convert | None"]):
    """How one decoded value becomes a bridge value; None when it passes as it is. An array of records becomes a
    list of JSON objects, other collections holding records one JSON text (see :func:`dp_flink.sql.bridge_type`);
    records elsewhere become ``make_row(values)``."""

    def __init__(self, make_row: Callable[[list[Any]], Any]) -> None:
        self.make_row = make_row

    def _as_is(self, node: PrimitiveT | FixedT | EnumT) -> Convert | None:
        return None

    primitive = fixed = enum = _as_is

    def logical(self, node: LogicalT) -> Convert | None:
        return _LOGICAL[node.kind]

    def decimal(self, node: DecimalT) -> Convert | None:
        return lambda v: v if isinstance(v, Decimal) else Decimal(v)

    def array(self, node: ArrayT) -> Convert | None:
        if isinstance(node.items, RecordT):
            plain_item = _Plain().visit(node.items)
            return lambda v: [None if x is None else _compact_json(plain_item(x)) for x in v]
        return self._collection(node, node.items, _each)

    def map(self, node: MapT) -> Convert | None:
        return self._collection(node, node.values, _each_value)

    def _collection(self, node: ArrayT | MapT, inner: TypeT, each: Callable[[Convert], Convert]) -> Convert | None:
        """One JSON text when a record is inside; else each element (``each`` of the converter of ``inner``)."""
        if holds_record(node):
            plain = _Plain().visit(node)
            return lambda v: _compact_json(plain(v))
        converted = self.visit(inner)
        return None if converted is None else each(converted)

    def record(self, node: RecordT) -> Convert | None:
        return record_converter(node, self.make_row)


class _HoldsRecord(TypeVisitor[bool]):
    """Whether a record appears anywhere inside a node."""

    def _scalar(self, node: ScalarT) -> bool:
        return False

    primitive = logical = decimal = fixed = enum = _scalar

    def array(self, node: ArrayT) -> bool:
        return self.visit(node.items)

    def map(self, node: MapT) -> bool:
        return self.visit(node.values)

    def record(self, node: RecordT) -> bool:
        return True


def holds_record(node: TypeT) -> bool:
    """True when a record appears anywhere inside ``node`` (such collections cross the bridge as JSON)."""
    return _HoldsRecord().visit(node)


def record_converter(
    record: RecordT, make_row: Callable[[list[Any]], Any], top: Callable[[list[Any]], Any] | None = None
) -> Callable[[dict[str, Any]], Any]:
    """Datum (dict) of ``record`` -> ``top(values)`` (default ``make_row``), nested records through ``make_row``."""
    bridge = _Bridge(make_row)
    steps = [(f.name, bridge.visit(f.type)) for f in record.fields]
    wrap = top or make_row

    def convert(datum: dict[str, Any]) -> Any:
        return wrap([None if (v := datum.get(n)) is None else (c(v) if c else v) for n, c in steps])

    return convert


class WireDecoder:
    """Confluent-framed Avro bytes -> :class:`Decoded`, resolving each writer schema to ``reader``."""

    def __init__(
        self,
        reader: dict[str, Any],
        record: RecordT,
        fetch: SchemaFetcher,
        make_row: Callable[[list[Any]], Any] = tuple,
    ) -> None:
        self._reader = fastavro.parse_schema(reader)
        self._fetch = fetch
        self._writers: dict[int, Any] = {}
        self._unknown: dict[int, float] = {}  # id -> when it was last found unknown (asked again after a while)
        self._top = record_converter(record, make_row, top=list)

    def _writer(self, schema_id: int) -> Any | None:
        if schema_id in self._writers:
            return self._writers[schema_id]
        asked = self._unknown.get(schema_id)
        if asked is not None and time.monotonic() - asked < UNKNOWN_RETRY_S:
            return None
        text = self._fetch(schema_id)
        if text is None:
            self._unknown[schema_id] = time.monotonic()
            return None
        self._unknown.pop(schema_id, None)
        parsed = fastavro.parse_schema(json.loads(text))
        self._writers[schema_id] = parsed
        return parsed

    def decode(self, value: bytes | None) -> Decoded:
        if value is None or len(value) < HEADER.size:
            return Decoded(None, None, "no Confluent header: record shorter than 5 bytes")
        magic, schema_id = HEADER.unpack_from(value)
        if magic != MAGIC:
            return Decoded(None, None, f"no Confluent header: magic byte {magic}, expected {MAGIC}")
        writer = self._writer(schema_id)
        if writer is None:
            return Decoded(None, schema_id, f"unknown schema id {schema_id}")
        try:
            datum = fastavro.schemaless_reader(io.BytesIO(value[HEADER.size :]), writer, self._reader)
        except Exception as exc:  # noqa: BLE001 -- any failure to read is a reason to reject, not to stop
            return Decoded(None, schema_id, f"undecodable with schema id {schema_id}: {type(exc).__name__}: {exc}")
        if not isinstance(datum, dict):
            return Decoded(None, schema_id, f"schema id {schema_id} does not decode to a record")
        try:
            values = self._top(datum)
        except Exception as exc:  # noqa: BLE001 -- a value the bridge cannot carry rejects its record, never the job
            return Decoded(None, schema_id, f"not convertible with schema id {schema_id}: {type(exc).__name__}: {exc}")
        return Decoded(values, schema_id, None)
