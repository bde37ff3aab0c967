"""Dead letters: an event that breaks its contract, kept with everything an operator needs to see and replay it."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dp_ingest.errors import FieldError

#: dead letters are JSON (readable with any consumer), version-stamped so the format can evolve
DLQ_FORMAT = "dp.dead-letter.v1"


@dataclass(frozen=True)
class Source:
    """Where an event came from: ``kind`` (http, file, simulator) and its coordinates there."""

    kind: str
    coordinates: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.coordinates}

    def describe(self) -> str:
        return self.kind + "".join(f" {k}={v}" for k, v in self.coordinates.items())


def dead_letter(
    contract: str,
    topic: str,
    errors: Sequence[FieldError],
    source: Source,
    payload: Any = None,
    raw: bytes | None = None,
) -> tuple[bytes, list[tuple[str, str | bytes | None]]]:
    """(value, headers) of a dead-letter record: the original payload, the contract, the reasons, the source."""
    body: dict[str, Any] = {
        "format": DLQ_FORMAT,
        "contract": contract,
        "topic": topic,
        "errors": [e.as_dict() for e in errors],
        "source": source.as_dict(),
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
    }
    if raw is not None:
        body["payload_base64"] = base64.b64encode(raw).decode()
    else:
        body["payload"] = payload
    first = errors[0] if errors else FieldError("", "unknown", "rejected")
    headers: list[tuple[str, str | bytes | None]] = [
        ("dp-contract", contract.encode()),
        ("dp-error", f"{first.path}:{first.rule}".encode()),
        ("dp-source", source.describe().encode()),
    ]
    return json.dumps(body, default=str, separators=(",", ":")).encode(), headers


def read_dead_letter(value: bytes) -> dict[str, Any]:
    """Parse a dead-letter value (the inverse of :func:`dead_letter`)."""
    body: dict[str, Any] = json.loads(value)
    if body.get("format") != DLQ_FORMAT:
        raise ValueError(f"not a dead letter of format {DLQ_FORMAT}")
    return body
