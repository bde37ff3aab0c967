"""Replay a JSON-lines file into Kafka with the same validation and dead-letter rules as the collector.

Each line is either an envelope ``{"contract": "order_placed", "event": {...}}`` or, with ``--contract``, the event
itself. A line that breaks its contract goes to the contract's dead-letter topic with ``Source("file", {file,
line})``; a line whose contract cannot be told is reported with its line number (the file keeps it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dp_ingest.dlq import Source
from dp_ingest.errors import FieldError
from dp_ingest.producer import EventProducer

_CONTRACT = re.compile(rb'"contract"\s*:\s*"([a-z0-9_]+)"')


@dataclass
class ReplayReport:
    lines: int = 0
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), dead-lettered
    unroutable: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), not parked


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line.rstrip(b"\r\n")


def replay(
    producer: EventProducer,
    path: Path,
    contract: str | None = None,
    progress: Callable[[ReplayReport], None] | None = None,
) -> ReplayReport:
    """Send every line of ``path``; returns what was accepted, dead-lettered and left unroutable."""
    report = ReplayReport()
    for number, raw in _lines(path):
        report.lines += 1
        source = Source("file", {"file": str(path), "line": number})
        try:
            parsed: Any = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            name = contract or _guess_contract(raw)
            reason = f"not JSON: {exc}"
            if name is None or name not in producer.contracts:
                report.unroutable.append((number, f"{reason}; no contract to route it to"))
                continue
            producer.reject(name, [FieldError("", "not_json", reason)], source, raw=raw)
            report.rejected.append((number, reason))
            continue
        if contract is not None:
            name, event = contract, parsed
        elif isinstance(parsed, dict) and isinstance(parsed.get("contract"), str) and "event" in parsed:
            name, event = parsed["contract"], parsed["event"]
        else:
            report.unroutable.append((number, 'expected {"contract": ..., "event": {...}} (or use --contract)'))
            continue
        if name not in producer.contracts:
            report.unroutable.append((number, f"unknown contract {name!r}"))
            continue
        errors = producer.send(name, event, source)
        if errors:
            report.rejected.append((number, "; ".join(str(e) for e in errors)))
        else:
            report.accepted += 1
        if progress is not None and report.lines % 5000 == 0:
            progress(report)
    return report


def _guess_contract(raw: bytes) -> str | None:
    match = _CONTRACT.search(raw)
    return match.group(1).decode() if match else None
