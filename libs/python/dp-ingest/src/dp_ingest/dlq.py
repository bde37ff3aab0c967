"""Dead letters: an event that breaks its contract, kept with everything an operator needs to see and replay it."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dp_ingest.errors import FieldError

#: dead letters are JSON (readable with any consumer), version-stamped so the format can evolve
DLQ_FORMAT = "dp.dead-letter.v1"
#: how much of a payload a dead letter keeps when all of it would make a record larger than Kafka takes
TRUNCATED_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Source:
    """Where an event came from: ``kind`` (http, file, simulator) and its coordinates there."""

    kind: str
    coordinates: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.coordinates}

    def describe(self) -> str:
        return self.kind + "".join(f" {k}={v}" for k, v in self.coordinates.items())


@dataclass(frozen=True)
class TruncatedPayload:
    """The start of a payload too large to keep whole in a dead letter, with the size and sha256 of all of it."""

    head: bytes
    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes, keep: int = TRUNCATED_PAYLOAD_BYTES) -> TruncatedPayload:
        return cls(data[:keep], len(data), hashlib.sha256(data).hexdigest())


def dead_letter_headers(
    contract: str, errors: Sequence[FieldError], source: Source
) -> list[tuple[str, str | bytes | None]]:
    """The headers of a dead letter: the contract, the first reason (``path:rule``, the path cut short), the source."""
    first = errors[0] if errors else FieldError("", "unknown", "rejected")
    return [
        ("dp-contract", contract.encode()),
        ("dp-error", f"{_cut(first.path)}:{_cut(first.rule)}".encode()),
        ("dp-source", _cut(source.describe(), 1000).encode()),
    ]


def dead_letter(
    contract: str,
    topic: str,
    errors: Sequence[FieldError],
    source: Source,
    payload: Any = None,
    raw: bytes | TruncatedPayload | None = None,
    *,
    max_bytes: int | None = None,
) -> tuple[bytes, list[tuple[str, str | bytes | None]]]:
    """(value, headers) of a dead-letter record: the original payload, the contract, the reasons, the source.

    The payload is ``raw`` bytes (``payload_base64``) when given, else the parsed ``payload`` (``payload``). When the
    value would be larger than ``max_bytes`` (what Kafka takes of it), or ``raw`` is already a
    :class:`TruncatedPayload`, only the start of the payload is kept -- ``payload_base64`` holds its first
    :data:`TRUNCATED_PAYLOAD_BYTES` (at most a quarter of ``max_bytes``), with ``"payload_truncated": true`` and the
    ``payload_size`` and ``payload_sha256`` of all of it (of the raw bytes, or of the compact JSON of a parsed
    payload). Should the reasons themselves still not fit, the first ones are kept, cut short, and
    ``errors_total`` counts them all.
    """
    body: dict[str, Any] = {
        "format": DLQ_FORMAT,
        "contract": contract,
        "topic": topic,
        "errors": [e.as_dict() for e in errors],
        "source": source.as_dict(),
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }
    headers = dead_letter_headers(contract, errors, source)
    keep = TRUNCATED_PAYLOAD_BYTES if max_bytes is None else max(0, min(TRUNCATED_PAYLOAD_BYTES, max_bytes // 4))
    if isinstance(raw, TruncatedPayload):
        _keep_start(body, raw)
    elif raw is not None and max_bytes is not None and len(raw) > max_bytes:  # cannot fit: never encoded whole
        _keep_start(body, TruncatedPayload.of(raw, keep))
    elif raw is not None:
        body["payload_base64"] = base64.b64encode(raw).decode()
    else:
        body["payload"] = payload
    value = _encode(body)
    if max_bytes is None or len(value) <= max_bytes:
        return value, headers
    if "payload_truncated" not in body:
        whole = raw if isinstance(raw, bytes) else _encode(payload)
        _keep_start(body, TruncatedPayload.of(whole, keep))
        value = _encode(body)
    for count, width in ((100, 200), (1, 100)):  # the reasons are many, or long (an unknown field's name)
        if len(value) <= max_bytes:
            break
        body["errors"] = [{k: _cut(v, width) for k, v in e.as_dict().items()} for e in errors[:count]]
        body["errors_total"] = len(errors)
        value = _encode(body)
    return value, headers


def _keep_start(body: dict[str, Any], truncated: TruncatedPayload) -> None:
    body.pop("payload", None)
    body["payload_base64"] = base64.b64encode(truncated.head).decode()
    body["payload_truncated"] = True
    body["payload_size"] = truncated.size
    body["payload_sha256"] = truncated.sha256


def _encode(value: Any) -> bytes:
    """Strict JSON: a non-finite number of a payload (NaN, Infinity: a simulator or a Python caller can hand one
    over; JSON has none) is written as a string, so every JSON parser reads the dead letter."""
    try:
        return json.dumps(value, default=str, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        return json.dumps(_finite(value), default=str, separators=(",", ":"), allow_nan=False).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf"
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def read_dead_letter(value: bytes) -> dict[str, Any]:
    """Parse a dead-letter value (the inverse of :func:`dead_letter`)."""
    body: dict[str, Any] = json.loads(value)
    if body.get("format") != DLQ_FORMAT:
        raise ValueError(f"not a dead letter of format {DLQ_FORMAT}")
    return body
