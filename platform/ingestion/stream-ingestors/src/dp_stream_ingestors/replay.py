"""Replay a JSON-lines file into Kafka with the same parsing, validation and dead-letter rules as the collector.

Each line is either an envelope ``{"contract": "order_placed", "event": {...}}`` or, with ``--contract``, the event
itself. A line is read as the collector reads a body (:func:`~dp_stream_ingestors.collector.body.parse_document`):
UTF-8 only, strict JSON (no ``NaN`` or ``Infinity``), arrays and objects nested at most ``MAX_JSON_DEPTH`` levels.

One bad line never ends the run. A line that cannot be read so, breaks its contract, or is too large -- longer than
``ingest.collector.max_body_bytes`` (never read into memory whole), or an event whose record is larger than Kafka
takes -- goes to the contract's dead-letter topic with ``Source("file", {file, line})`` (a large payload as its
first 64 KiB, its size and its sha256), and the replay goes on to the end of the file. A line whose contract cannot
be told is reported with its line number (the file keeps it). Only a failure of the platform itself (Kafka or the
registry refusing) stops the run, naming the line to resume from.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from dp_core.errors import PlatformError
from dp_ingest.dlq import TRUNCATED_PAYLOAD_BYTES, Source, TruncatedPayload
from dp_ingest.errors import FieldError
from dp_ingest.producer import EventProducer
from dp_stream_ingestors.collector.body import parse_document
from dp_stream_ingestors.collector.errors import MalformedBodyError, TooDeeplyNestedError
from dp_stream_ingestors.errors import IngestRunError

_CONTRACT = re.compile(rb'"contract"\s*:\s*"([a-z0-9_]+)"')
#: how much of a line longer than the bound is read at a time (to count and hash it)
_READ_CHUNK = 1 << 20


@dataclass
class ReplayReport:
    lines: int = 0
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), dead-lettered
    unroutable: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), not parked

    def counts(self) -> str:
        return f"{self.accepted} accepted, {len(self.rejected)} dead-lettered, {len(self.unroutable)} not sent"


def _lines(path: Path, max_bytes: int) -> Iterator[tuple[int, bytes | TruncatedPayload]]:
    """The non-blank lines of ``path`` with their (1-based) numbers, without their line end; a line longer than
    ``max_bytes`` as a :class:`TruncatedPayload` (its start, size and sha256), never held in memory whole."""
    with path.open("rb") as fh:
        for number in itertools.count(1):
            chunk = fh.readline(max_bytes + 2)  # room for the line and its "\r\n"
            if not chunk:
                return
            if chunk.endswith(b"\n") or len(chunk) < max_bytes + 2:  # the whole line (the last may have no "\n")
                line = chunk.rstrip(b"\r\n")
                if len(line) > max_bytes:
                    yield number, TruncatedPayload.of(line)
                elif line.strip():
                    yield number, line
                continue
            yield number, _rest_of_long_line(fh, chunk)


def _rest_of_long_line(fh: BinaryIO, chunk: bytes) -> TruncatedPayload:
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    while chunk:
        last = chunk.endswith(b"\n")
        if last:
            chunk = chunk.rstrip(b"\r\n")
        digest.update(chunk)
        size += len(chunk)
        head += chunk[: max(0, TRUNCATED_PAYLOAD_BYTES - len(head))]
        if last:
            break
        chunk = fh.readline(_READ_CHUNK)
    return TruncatedPayload(bytes(head), size, digest.hexdigest())


def replay(
    producer: EventProducer,
    path: Path,
    contract: str | None = None,
    progress: Callable[[ReplayReport], None] | None = None,
    *,
    max_line_bytes: int | None = None,
) -> ReplayReport:
    """Send every line of ``path``; returns what was accepted, dead-lettered and left unroutable.

    Args:
        max_line_bytes: longer lines are dead-lettered unread (default ``ingest.collector.max_body_bytes``).

    Raises:
        IngestRunError: the platform failed (Kafka did not take a record, the registry could not be asked); the
            message names the line to resume from. The lines before it were handed to the producer.
    """
    limit = max_line_bytes or producer.settings.ingest.collector.max_body_bytes
    report = ReplayReport()
    for number, line in _lines(path, limit):
        report.lines += 1
        try:
            _replay_line(producer, Source("file", {"file": str(path), "line": number}), line, contract, report, limit)
        except PlatformError as exc:
            raise IngestRunError(
                f"{path}:{number}: {exc} -- the replay stopped at this line after {report.lines - 1} line(s) "
                f"({report.counts()}); replay the lines from {number} on"
            ) from exc
        if progress is not None and report.lines % 5000 == 0:
            progress(report)
    return report


def _replay_line(
    producer: EventProducer,
    source: Source,
    line: bytes | TruncatedPayload,
    contract: str | None,
    report: ReplayReport,
    limit: int,
) -> None:
    number: int = source.coordinates["line"]
    if isinstance(line, TruncatedPayload):
        reason = (
            f"the line is {line.size} bytes, more than the {limit} bytes a line may have "
            "(ingest.collector.max_body_bytes)"
        )
        _park(producer, report, source, contract or _guess_contract(line.head), FieldError("", "size", reason), line)
        return
    try:
        parsed: Any = parse_document(line, "the line")
    except MalformedBodyError as exc:
        rule = "too_deeply_nested" if isinstance(exc, TooDeeplyNestedError) else "not_json"
        error = FieldError("", rule, str(exc))
        _park(producer, report, source, contract or _guess_contract(line), error, line)
        return
    if contract is not None:
        name, event = contract, parsed
    elif isinstance(parsed, dict) and isinstance(parsed.get("contract"), str) and "event" in parsed:
        name, event = parsed["contract"], parsed["event"]
    else:
        report.unroutable.append((number, 'expected {"contract": ..., "event": {...}} (or use --contract)'))
        return
    if name not in producer.contracts:
        report.unroutable.append((number, f"unknown contract {name!r}"))
        return
    try:
        errors = producer.send(name, event, source)
    except PlatformError:
        raise
    except Exception as exc:  # noqa: BLE001 -- a crash on one line's content parks that line; the run goes on
        errors = (FieldError("", "unexpected", f"{type(exc).__name__}: {exc}"),)
        producer.reject(name, errors, source, raw=line)
    if errors:
        report.rejected.append((number, "; ".join(str(e) for e in errors)))
    else:
        report.accepted += 1


def _park(
    producer: EventProducer,
    report: ReplayReport,
    source: Source,
    name: str | None,
    error: FieldError,
    raw: bytes | TruncatedPayload,
) -> None:
    """Dead-letter a line that could not be read as an event (the raw bytes, truncated when large)."""
    number: int = source.coordinates["line"]
    if name is None or name not in producer.contracts:
        report.unroutable.append((number, f"{error.message}; no contract to route it to"))
        return
    producer.reject(name, [error], source, raw=raw)
    report.rejected.append((number, error.message))


def _guess_contract(raw: bytes) -> str | None:
    match = _CONTRACT.search(raw)
    return match.group(1).decode() if match else None
