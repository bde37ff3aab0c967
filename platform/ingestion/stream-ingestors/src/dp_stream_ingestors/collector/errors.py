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
        close_connection: the answer says ``Connection: close`` (the rest of the request is not worth reading).
        details: extra fields of the JSON body (the line of a bad NDJSON line, counts of a partial request...).
    """

    status_code = 500
    error = "internal"
    close_connection = False

    def __init__(self, message: str, **details: Any) -> None:
        self.details = details
        super().__init__(message)


class MalformedBodyError(CollectorError, TerminalError):
    """The body cannot be parsed (not UTF-8, not JSON, an NDJSON line that is not JSON): nothing was produced."""

    status_code = 400
    error = "malformed_body"


class TooDeeplyNestedError(MalformedBodyError):
    """The body (or one NDJSON line) nests arrays and objects deeper than the collector parses: nothing was produced."""

    error = "too_deeply_nested"


class BodyTimeoutError(CollectorError, TransientError):
    """The body was not complete within the body-read deadline (a client announcing more than it sends, or too slow).

    Nothing was produced; the connection is closed. Resending may succeed.
    """

    status_code = 408
    error = "body_timeout"
    close_connection = True


class ClientDisconnectedError(CollectorError):
    """The client closed the connection before the end of its body: nothing was produced, nobody is answered.

    Counted under status 499 ("client closed request", the status nginx logs for it), logged without a traceback.
    """

    status_code = 499
    error = "client_closed_request"


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
