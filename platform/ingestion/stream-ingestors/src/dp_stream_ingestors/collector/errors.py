"""Errors of the HTTP collector, each carrying the HTTP status it is answered with.

The one translator (:func:`dp_stream_ingestors.collector.app.error_response`) also maps errors of other families:
an unknown contract is 404, any :class:`~dp_core.errors.TransientError` (buffer full, broker or registry
unreachable) is 503 with ``Retry-After``, anything else is 500.
"""

from __future__ import annotations

from typing import Any

from dp_core.errors import PlatformError, TerminalError, TransientError
from dp_http import CLIENT_CLOSED_REQUEST
from dp_ingest.errors import IngestError


class CollectorError(IngestError):
    """Root of the collector's errors; a subclass declares its answer in its bases: ``status=``, ``error=``, ``close=``.

    Attributes:
        status_code: the HTTP status of the answer.
        error: a short machine-readable kind, the ``error`` field of the JSON body.
        close_connection: the answer says ``Connection: close`` (the rest of the request is not worth reading).
        details: extra fields of the JSON body (the line of a bad NDJSON line, counts of a partial request...).
    """

    status_code: int = 500
    error: str = "internal"
    close_connection: bool = False

    def __init_subclass__(
        cls, *, status: int | None = None, error: str | None = None, close: bool = False, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.status_code = status or cls.status_code
        cls.error = error or cls.error
        cls.close_connection = close or cls.close_connection

    def __init__(self, message: str, **details: Any) -> None:
        self.details = details
        super().__init__(message)


class MalformedBodyError(CollectorError, TerminalError, status=400, error="malformed_body"):
    """The body cannot be parsed (not UTF-8, not JSON, an NDJSON line that is not JSON): nothing was produced."""


class TooDeeplyNestedError(MalformedBodyError, error="too_deeply_nested"):
    """The body (or one NDJSON line) nests arrays and objects deeper than the collector parses: nothing was produced."""


class BodyTimeoutError(CollectorError, TransientError, status=408, error="body_timeout", close=True):
    """The body was not complete within the body-read deadline (a client announcing more than it sends, or too slow).

    Nothing was produced; the connection is closed. Resending may succeed.
    """


class ClientDisconnectedError(CollectorError, status=CLIENT_CLOSED_REQUEST, error="client_closed_request"):
    """The client closed the connection before the end of its body: nothing was produced, nobody is answered.

    Counted under status 499 ("client closed request", the status nginx logs for it), logged without a traceback.
    """


class BodyTooLargeError(CollectorError, TerminalError, status=413, error="body_too_large"):
    """The body is larger than ``ingest.collector.max_body_bytes``."""


class TooManyEventsError(CollectorError, TerminalError, status=413, error="too_many_events"):
    """The body holds more events than ``ingest.collector.max_events_per_request``."""


class UnsupportedMediaTypeError(CollectorError, TerminalError, status=415, error="unsupported_media_type"):
    """A content type (or charset, or content encoding) the collector does not read."""


class ServiceUnavailableError(CollectorError, TransientError, status=503, error="unavailable"):
    """The collector cannot take events now (shutting down, broker unreachable, buffer full): retry later."""


class RequestInterruptedError(CollectorError, error="interrupted"):
    """A request failed after some of its events were produced; the details say exactly which.

    Events ``[0, processed)`` were taken (accepted ones are on their way to Kafka, rejected ones to the
    dead-letter topic); events from index ``processed`` on were not: the client resends those only. With
    ``ack: delivered`` the answer first waits for the taken ones' delivery reports and also lists those among them
    Kafka refused (``undelivered``) or has not acknowledged yet (``pending``): the client resends those too.
    """

    delivery: object | None = None
    """The request's delivery reports (``ack: delivered``), for the route to wait on."""

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


class NotDeliveredError(CollectorError, TransientError, status=503, error="not_delivered"):
    """``ack: delivered``: Kafka refused some records of the request (a delivery report with an error).

    Every event was taken; the ones listed in ``undelivered`` (their event or dead letter) were not acknowledged:
    the client resends those only. (A record librdkafka gave up on after its message timeout may in rare cases have
    been written all the same, so the resend can write it twice.)
    """

    def __init__(self, undelivered: list[int], accepted: int, rejected: int, **details: Any) -> None:
        super().__init__(
            f"Kafka did not take the record(s) of {len(undelivered)} event(s) of this request; the others are "
            "written: resend only the events listed in undelivered",
            accepted=accepted,
            rejected=rejected,
            undelivered=undelivered,
            **details,
        )


class DeliveryPendingError(CollectorError, TransientError, status=503, error="delivery_pending"):
    """``ack: delivered``: some records of the request were not acknowledged within ``ingest.collector.ack_timeout_s``.

    The producer keeps retrying them until ``ingest.delivery_timeout_ms``: they will most likely be written, so a
    resend of the events listed in ``pending`` may write them twice. Records that failed before the timeout are
    listed in ``undelivered`` (only when there are some). Every event in neither list is written.
    """

    def __init__(
        self,
        pending: list[int],
        timeout_s: float,
        accepted: int,
        rejected: int,
        undelivered: list[int] | None = None,
        **details: Any,
    ) -> None:
        failed = (
            f"; Kafka refused the record(s) of the {len(undelivered)} event(s) listed in undelivered: resend those"
            if undelivered
            else ""
        )
        super().__init__(
            f"Kafka has not acknowledged the record(s) of {len(pending)} event(s) of this request after "
            f"{timeout_s:g} s (ingest.collector.ack_timeout_s); the producer retries them until "
            "ingest.delivery_timeout_ms, so they will most likely be written: resending the events listed in "
            f"pending may write them twice{failed}",
            accepted=accepted,
            rejected=rejected,
            pending=pending,
            **({"undelivered": undelivered} if undelivered else {}),
            **details,
        )


class StartupError(CollectorError, TerminalError):
    """The collector cannot start (port taken, no contracts, registry unreachable...)."""
