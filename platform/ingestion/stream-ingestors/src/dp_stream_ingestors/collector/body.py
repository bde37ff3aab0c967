"""Request bodies: the content type, a size-bounded read, and parsing into a batch of events.

Two formats are read, both UTF-8:

* JSON (``application/json``): an array of events, or one event object;
* NDJSON (``application/x-ndjson``; also ``application/ndjson``, ``application/jsonl``,
  ``application/x-jsonlines``): one event per line; blank lines are skipped.

A body that cannot be parsed -- not UTF-8, not JSON, or one NDJSON line that is not JSON -- rejects the whole
request with 400 naming the line: nothing of it is produced, so the client can fix and resend it without
creating duplicates. (A line that *is* JSON but breaks the contract is an invalid event: it is rejected on its
own, reported in the 202 answer and dead-lettered.) Parsing is strict JSON: ``NaN`` and ``Infinity`` are refused,
and so is a document (the body, or one NDJSON line) nesting arrays and objects more than :data:`MAX_JSON_DEPTH`
levels deep -- a malformed body like the others (400, naming the line), never a ``RecursionError`` further on.

The body is read within a deadline (:func:`read_body`): a client that announces more bytes than it sends holds a
request slot only that long (408); one that goes away before the end of its body is told apart from a failure.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from starlette.requests import ClientDisconnect

from dp_stream_ingestors.collector.errors import (
    BodyTimeoutError,
    BodyTooLargeError,
    ClientDisconnectedError,
    MalformedBodyError,
    TooDeeplyNestedError,
    TooManyEventsError,
    UnsupportedMediaTypeError,
)

Format = Literal["json", "ndjson"]
JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"})
SUPPORTED = sorted(JSON_TYPES | NDJSON_TYPES)
#: the deepest nesting of arrays and objects a document (the body, or one NDJSON line) may have: ``[]`` is 1 level,
#: ``[{"a": []}]`` 3. Events are flat records; Python's recursion (the decoder, validation, Avro) ends near 1,000.
MAX_JSON_DEPTH = 64
_CONTAINERS = (dict, list)


@dataclass(frozen=True)
class Batch:
    """The events of one request, in order; for NDJSON also the (1-based) line each event came from."""

    events: list[Any]
    lines: list[int] | None = None

    def line_of(self, index: int) -> int | None:
        return self.lines[index] if self.lines is not None else None


def body_format(content_type: str | None, content_encoding: str | None = None) -> Format:
    """The format of a body from its headers.

    Raises:
        UnsupportedMediaTypeError: a missing or other content type, a charset other than UTF-8, or a
            content encoding (compression is not read).
    """
    if content_encoding and content_encoding.strip().lower() != "identity":
        raise UnsupportedMediaTypeError(
            f"Content-Encoding {content_encoding!r} is not supported; send the body uncompressed",
            supported=SUPPORTED,
        )
    if not content_type:
        raise UnsupportedMediaTypeError(
            f"the request has no Content-Type; send one of {', '.join(SUPPORTED)}", supported=SUPPORTED
        )
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaTypeError(
                f"charset {value.strip()!r} is not supported; bodies are UTF-8", supported=SUPPORTED
            )
    if media_type in JSON_TYPES:
        return "json"
    if media_type in NDJSON_TYPES:
        return "ndjson"
    raise UnsupportedMediaTypeError(
        f"Content-Type {media_type!r} is not supported; send one of {', '.join(SUPPORTED)}", supported=SUPPORTED
    )


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuse a body by its ``Content-Length`` before reading it.

    Raises:
        MalformedBodyError: the header is not a number. BodyTooLargeError: it is above ``limit``.
    """
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise MalformedBodyError(f"Content-Length {content_length!r} is not a number") from None
    if declared > limit:
        raise BodyTooLargeError(
            f"the body has {declared} bytes; at most {limit} are accepted (ingest.collector.max_body_bytes)",
            limit=limit,
        )


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, refused as soon as it grows past ``limit`` bytes (whatever ``Content-Length`` said).

    Raises:
        BodyTooLargeError: more than ``limit`` bytes arrived.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(
                f"the body is larger than {limit} bytes (ingest.collector.max_body_bytes)", limit=limit
            )
        parts.append(chunk)
    return b"".join(parts)


async def read_body(chunks: AsyncIterator[bytes], limit: int, timeout_s: float) -> bytes:
    """The whole body (:func:`read_limited`), complete within ``timeout_s`` seconds of the start of the read.

    Raises:
        BodyTooLargeError: more than ``limit`` bytes arrived.
        BodyTimeoutError: the body was not complete in time (a slow client, or one announcing more than it sends).
        ClientDisconnectedError: the client closed the connection before the end of its body.
    """
    with anyio.move_on_after(timeout_s):
        try:
            return await read_limited(chunks, limit)
        except ClientDisconnect:
            raise ClientDisconnectedError("the client closed the connection before the end of its body") from None
    raise BodyTimeoutError(
        f"the body was not complete after {timeout_s:g} s; nothing of this request was taken", timeout_s=timeout_s
    )


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in ``value`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, _CONTAINERS) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend([(child, depth + 1) for child in children if isinstance(child, _CONTAINERS)])
    return False


class _TooDeep(Exception):
    """A document nested more than MAX_JSON_DEPTH levels (turned into TooDeeplyNestedError, with its place)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    """Strict JSON nested at most MAX_JSON_DEPTH levels.

    Raises:
        ValueError: not JSON. _TooDeep: nested deeper.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # the decoder's own bound (near 1,000 levels): far deeper than ours anyway
        raise _TooDeep from None
    # every level opens a bracket: with no more brackets than the limit (the common case) there is nothing to walk
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and nesting_exceeds(value, MAX_JSON_DEPTH):
        raise _TooDeep
    return value


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return str(exc)


def parse_document(data: bytes, what: str = "the document") -> Any:
    """One JSON document (a line of a replayed file, say) read by the rules of a body: UTF-8, strict JSON (``NaN``
    and ``Infinity`` refused), arrays and objects nested at most :data:`MAX_JSON_DEPTH` levels.

    Raises:
        MalformedBodyError: not UTF-8 or not JSON; the message says why, starting with ``what``.
            TooDeeplyNestedError (a MalformedBodyError) when it nests more than MAX_JSON_DEPTH levels.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBodyError(f"{what} is not UTF-8: {exc}") from None
    try:
        return _loads(text)
    except _TooDeep:
        raise TooDeeplyNestedError(
            f"{what} is nested more than {MAX_JSON_DEPTH} levels deep (arrays and objects)", limit=MAX_JSON_DEPTH
        ) from None
    except ValueError as exc:
        raise MalformedBodyError(f"{what} is not valid JSON: {_reason(exc)}") from None


def parse_body(body: bytes, fmt: Format, max_events: int) -> Batch:
    """The events of a body.

    Raises:
        MalformedBodyError: the body (or one NDJSON line) cannot be parsed; ``line`` is in the details.
            TooDeeplyNestedError (a MalformedBodyError) when it nests more than MAX_JSON_DEPTH levels.
        TooManyEventsError: more than ``max_events`` events.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBodyError(f"the body is not UTF-8: {exc}") from None
    if fmt == "ndjson":
        return _parse_ndjson(text, max_events)
    if not text.strip():
        raise MalformedBodyError("the body is empty; expected a JSON array of events or one event object")
    try:
        data = _loads(text)
    except _TooDeep:
        raise TooDeeplyNestedError(
            f"the body is nested more than {MAX_JSON_DEPTH} levels deep (arrays and objects)", limit=MAX_JSON_DEPTH
        ) from None
    except ValueError as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
        raise MalformedBodyError(f"the body is not valid JSON: {_reason(exc)}", line=line) from None
    if isinstance(data, dict):
        return Batch([data])
    if not isinstance(data, list):
        raise MalformedBodyError(
            f"the body is a JSON {type(data).__name__}; expected a JSON array of events or one event object"
        )
    _check_count(len(data), max_events)
    return Batch(data)


def _parse_ndjson(text: str, max_events: int) -> Batch:
    events: list[Any] = []
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        _check_count(len(events) + 1, max_events)
        try:
            events.append(_loads(line))
        except _TooDeep:
            raise TooDeeplyNestedError(
                f"line {number} is nested more than {MAX_JSON_DEPTH} levels deep (arrays and objects); "
                "nothing of this request was taken",
                line=number,
                limit=MAX_JSON_DEPTH,
            ) from None
        except ValueError as exc:
            raise MalformedBodyError(
                f"line {number} is not valid JSON: {_reason(exc)}; nothing of this request was taken", line=number
            ) from None
        lines.append(number)
    if not events:
        raise MalformedBodyError("the body has no events; expected one JSON event per line")
    return Batch(events, lines)


def _check_count(count: int, max_events: int) -> None:
    if count > max_events:
        raise TooManyEventsError(
            f"the body has more than {max_events} events (ingest.collector.max_events_per_request); "
            "split it into several requests",
            limit=max_events,
        )
