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

from dp_contracts.ir import ArrayT, DecimalT, EnumT, FixedT, LogicalT, MapT, PrimitiveT, RecordT, TypeT
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


def _plain(node: TypeT) -> Convert:
    """Decoded value -> JSON-ready value: records as objects, decimals as strings, times as epoch numbers."""
    if isinstance(node, RecordT):
        fields = [(f.name, _plain(f.type)) for f in node.fields]
        return lambda v: {n: None if v.get(n) is None else c(v[n]) for n, c in fields}
    if isinstance(node, ArrayT):
        item = _plain(node.items)
        return lambda v: [None if x is None else item(x) for x in v]
    if isinstance(node, MapT):
        val = _plain(node.values)
        return lambda v: {k: None if x is None else val(x) for k, x in v.items()}
    if isinstance(node, DecimalT):
        return str
    if isinstance(node, FixedT) or (isinstance(node, PrimitiveT) and node.kind == "bytes"):
        return lambda v: bytes(v).hex()
    converted = _converter(node, tuple)
    return converted if converted is not None else (lambda v: v)


def _converter(node: TypeT, make_row: Callable[[list[Any]], Any]) -> Convert | None:
    """How one decoded value becomes a bridge value; None when it passes as it is. An array of records becomes a
    list of JSON objects, other collections holding records one JSON text (see :func:`dp_flink.sql.bridge_type`)."""
    if isinstance(node, ArrayT) and isinstance(node.items, RecordT):
        plain_item = _plain(node.items)
        return lambda v: [json.dumps(plain_item(x), separators=(",", ":")) for x in v]
    if isinstance(node, (ArrayT, MapT)) and holds_record(node):
        plain = _plain(node)
        return lambda v: json.dumps(plain(v), separators=(",", ":"))
    if isinstance(node, LogicalT):
        if node.kind == "uuid":
            return str
        if node.kind == "date":
            return lambda v: (v - EPOCH_DAY).days if isinstance(v, dt.date) else int(v)
        if node.kind in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"):
            return _micros
        if node.kind in ("time-millis", "time-micros"):
            return lambda v: (v.hour * 3600 + v.minute * 60 + v.second) * 1_000_000 + v.microsecond
        return None
    if isinstance(node, DecimalT):
        return lambda v: v if isinstance(v, Decimal) else Decimal(v)
    if isinstance(node, (PrimitiveT, EnumT, FixedT)):
        return None
    if isinstance(node, ArrayT):
        item = _converter(node.items, make_row)
        return None if item is None else (lambda v: [None if x is None else item(x) for x in v])
    if isinstance(node, MapT):
        val = _converter(node.values, make_row)
        return None if val is None else (lambda v: {k: None if x is None else val(x) for k, x in v.items()})
    return record_converter(node, make_row)


def holds_record(node: TypeT) -> bool:
    """True when a record appears anywhere inside ``node`` (such collections cross the bridge as JSON)."""
    if isinstance(node, RecordT):
        return True
    if isinstance(node, ArrayT):
        return holds_record(node.items)
    if isinstance(node, MapT):
        return holds_record(node.values)
    return False


def record_converter(
    record: RecordT, make_row: Callable[[list[Any]], Any], top: Callable[[list[Any]], Any] | None = None
) -> Callable[[dict[str, Any]], Any]:
    """Datum (dict) of ``record`` -> ``top(values)`` (default ``make_row``), nested records through ``make_row``."""
    steps = [(f.name, _converter(f.type, make_row)) for f in record.fields]
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
        return Decoded(self._top(datum), schema_id, None)
