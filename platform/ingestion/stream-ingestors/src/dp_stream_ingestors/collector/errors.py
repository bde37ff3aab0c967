"""Errors of the HTTP collector, each carrying the HTTP status it is answered with.

The one translator (:func:`dp_stream_ingestors.collector.app.error_response`) also maps errors of other families:
an unknown contract is 404, any :class:`~dp_core.errors.TransientError` (buffer full, broker or registry
unreachable) is 503 with ``Retry-After``, anything else is 500.
"""

from __future__ import annotations

from typing import Any

from dp_core.errors import PlatformError, TerminalError, TransientError
from dp_ingest.errors import IngestError


class CollectorError(IngestError):
    """Root of the collector's errors.

    Attributes:
        status_code: the HTTP status of the answer.
        error: a short machine-readable kind, the ``error`` field of the JSON body.
        details: extra fields of the JSON body (the line of a bad NDJSON line, counts of a partial request...).
    """

    status_code = 500
    error = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        self.details = details
        super().__init__(message)


class MalformedBodyError(CollectorError, TerminalError):
    """The body cannot be parsed (not UTF-8, not JSON, an NDJSON line that is not JSON): nothing was produced."""

    status_code = 400
    error = "malformed_body"


class BodyTooLargeError(CollectorError, TerminalError):
    """The body is larger than ``ingest.collector.max_body_bytes``."""

    status_code = 413
    error = "body_too_large"


class TooManyEventsError(CollectorError, TerminalError):
    """The body holds more events than ``ingest.collector.max_events_per_request``."""

    status_code = 413
    error = "too_many_events"


class UnsupportedMediaTypeError(CollectorError, TerminalError):
    """A content type (or charset, or content encoding) the collector does not read."""

    status_code = 415
    error = "unsupported_media_type"


class ServiceUnavailableError(CollectorError, TransientError):
    """The collector cannot take events now (shutting down, broker unreachable, buffer full): retry later."""

    status_code = 503
    error = "unavailable"


class RequestInterruptedError(CollectorError):
    """A request failed after some of its events were produced; the details say exactly which.

    Events ``[0, processed)`` were taken (accepted ones are on their way to Kafka, rejected ones to the
    dead-letter topic); events from index ``processed`` on were not: the client resends those only.
    """

    error = "interrupted"

    def __init__(self, cause: PlatformError, processed: int, accepted: int, rejected: int, **details: Any) -> None:
        self.cause = cause
        self.status_code = 503 if isinstance(cause, TransientError) else 500
        super().__init__(
            f"{cause} -- the request was interrupted after {processed} event(s) "
            f"({accepted} accepted, {rejected} rejected); resend the events from index {processed} on",
            processed=processed,
            accepted=accepted,
            rejected=rejected,
            **details,
        )


class StartupError(CollectorError, TerminalError):
    """The collector cannot start (port taken, no contracts, registry unreachable...)."""
