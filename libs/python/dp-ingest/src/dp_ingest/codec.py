"""One contract's encoder: JSON event -> checked datum -> Avro body -> Confluent-framed bytes, and back."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import fastavro

from dp_contracts.model import Contract
from dp_contracts.plausibility import RULE, EventTimeBounds
from dp_ingest.convert import compile_converter
from dp_ingest.errors import FieldError, InvalidEventError
from dp_ingest.wire import header, unframe


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ContractCodec:
    """Encodes events of one contract under one registered schema id."""

    def __init__(
        self,
        contract: Contract,
        schema_id: int,
        bounds: EventTimeBounds | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        """``bounds``: the plausible event times (None: any time Avro holds); ``clock``: now, for their newest end."""
        self.contract = contract
        self._bounds, self._clock = bounds, clock
        self.schema_id = schema_id
        self.topic = contract.topic
        self.key_field = contract.meta.key
        self.id_field = contract.meta.event_id or contract.meta.key
        self._header = header(schema_id)
        time_field = next((f for f in contract.record.fields if f.name == contract.meta.event_time), None)
        self._event_time_micros = time_field is not None and "micros" in str(getattr(time_field.type, "kind", ""))
        self._parsed = fastavro.parse_schema(contract.schema)
        self._convert: Callable[[Any], tuple[dict[str, Any] | None, list[FieldError]]] = compile_converter(
            contract.record
        )

    def to_datum(self, event: Any) -> dict[str, Any]:
        """The Avro datum of a JSON event; :class:`InvalidEventError` lists every broken rule."""
        datum, errors = self._convert(event)
        if datum is None:
            raise InvalidEventError(self.contract.name, errors)
        if self._bounds is not None:
            moment = datum.get(self.contract.meta.event_time)
            problem = self._bounds.problem(moment, self._clock()) if isinstance(moment, dt.datetime) else None
            if problem is not None:
                raise InvalidEventError(self.contract.name, [FieldError(self.contract.meta.event_time, RULE, problem)])
        return datum

    def timestamp_ms(self, datum: dict[str, Any]) -> int | None:
        """The record timestamp to produce with: the event time in epoch milliseconds (None: the broker's clock).

        Stamping records with their event time lets stream processors take watermarks from the Kafka records
        themselves, per partition, without decoding the value.
        """
        value = datum.get(self.contract.meta.event_time)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return int(value.timestamp() * 1000) if value.timestamp() > 0 else None
        if isinstance(value, int) and value > 0:
            return value // 1000 if self._event_time_micros else value
        return None

    def encode_datum(self, datum: dict[str, Any]) -> bytes:
        buffer = io.BytesIO()
        buffer.write(self._header)
        try:
            fastavro.schemaless_writer(buffer, self._parsed, datum)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidEventError(self.contract.name, [FieldError("", "encoding", f"cannot encode: {exc}")]) from exc
        return buffer.getvalue()

    def encode(self, event: Any) -> tuple[bytes, bytes]:
        """(key, framed value) of a JSON event."""
        datum = self.to_datum(event)
        return str(datum[self.key_field]).encode(), self.encode_datum(datum)

    def decode(self, data: bytes, writer_schema: dict[str, Any] | None = None) -> dict[str, Any]:
        """A framed record back to its datum (with this contract's schema as writer schema by default)."""
        _, body = unframe(data)
        parsed = fastavro.parse_schema(writer_schema) if writer_schema else self._parsed
        record = fastavro.schemaless_reader(io.BytesIO(body), parsed, self._parsed)
        if not isinstance(record, dict):  # pragma: no cover - a contract is a record
            raise TypeError("decoded datum is not a record")
        return record
