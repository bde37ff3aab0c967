"""The FastAPI application: routes, the collector's words for errors, and the middleware of :mod:`dp_http`.

Every answer carries ``X-Request-Id`` (the id also written into the dead letters of the request). Errors are
JSON ``{"request_id", "error", "message", ...}``, never a traceback:

* the collector's own errors with their status (400, 408, 413, 415, 503), an unknown contract as 404 listing the
  known ones, any other :class:`~dp_core.errors.TransientError` (buffer full, registry unreachable) as 503;
  every 503 has ``Retry-After: ingest.collector.retry_after_s``, a 408 ``Connection: close``;
* while the collector drains (after SIGTERM), every request is refused with a 503 and ``Connection: close``;
* a client gone before the end of its body is nobody to answer: counted as 499 and logged at INFO, no traceback;
* unknown routes and methods as 404/405, unparsable path parameters as 422;
* anything unexpected as 500, logged with its traceback; the service keeps serving.

The middleware (:func:`dp_http.install`) also feeds every request's latency to the metrics.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dp_contracts.errors import UnknownContractError
from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_core.errors import PlatformError, TransientError
from dp_http import ErrorStyle, RequestHooks, install
from dp_stream_ingestors.collector.deps import HttpTuning
from dp_stream_ingestors.collector.errors import CollectorError, ServiceUnavailableError
from dp_stream_ingestors.collector.metrics import route_of
from dp_stream_ingestors.collector.routes import events, ops
from dp_stream_ingestors.collector.service import BrokerProbe, Collector, ProducerFactory, Tuning, kafka_producer

log = logging.getLogger(__name__)


def error_response(exc: BaseException, request_id: str, collector: Collector) -> JSONResponse:
    """The JSON answer for an error (the one place that maps error families to HTTP statuses)."""
    details: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, CollectorError):
        status, kind, details = exc.status_code, exc.error, exc.details
        if exc.close_connection:
            headers["Connection"] = "close"
    elif isinstance(exc, UnknownContractError):
        status, kind, details = 404, "unknown_contract", {"contract": exc.name, "known": collector.contract_names}
    elif isinstance(exc, TransientError):
        status, kind = 503, "unavailable"
    else:
        status, kind = 500, "internal"
    message = str(exc) if isinstance(exc, PlatformError) else "internal error; see the collector's log"
    body = {"request_id": request_id, "error": kind, "message": message, **details}
    if status == 503:
        headers["Retry-After"] = str(collector.limits.retry_after_s)
        body["retry_after_s"] = collector.limits.retry_after_s
    return JSONResponse(body, status_code=status, headers=headers or None)


def http_error_body(status: int, phrase: str, request_id: str) -> dict[str, Any]:
    """An unknown route or method: the phrase, and as ``error`` in snake case (``method_not_allowed``)."""
    return {"request_id": request_id, "error": phrase.lower().replace(" ", "_"), "message": phrase}


def invalid_request_body(problems: str, request_id: str) -> dict[str, Any]:
    """A path parameter that does not parse."""
    return {"request_id": request_id, "error": "invalid_request", "message": problems}


def error_style(collector: Collector) -> ErrorStyle:
    """The collector's error answers, for :func:`dp_http.install`."""
    return ErrorStyle(
        answer=lambda exc, request_id: error_response(exc, request_id, collector),
        http_body=http_error_body,
        invalid_body=invalid_request_body,
        log=log,
    )


def refusal_while_draining(collector: Collector, request_id: str) -> Response | None:
    """The 503 every request gets once the collector drains (None before): retry against another instance."""
    if not collector.draining:
        return None
    refusal = error_response(
        ServiceUnavailableError("the collector is shutting down; retry against another instance"), request_id, collector
    )
    refusal.headers["Connection"] = "close"
    return refusal


def create_app(
    settings: PlatformSettings,
    contracts: list[Contract],
    producer_factory: ProducerFactory = kafka_producer,
    *,
    broker_probe: BrokerProbe | None = None,
    tuning: Tuning | None = None,
    http_tuning: HttpTuning | None = None,
) -> FastAPI:
    """The collector's ASGI application.

    The producer is built here; the background threads (delivery reports, broker probe) run for the
    application's lifespan. The :class:`Collector` is ``app.state.collector``: :func:`serve` drains it at shutdown.

    Args:
        settings: the platform settings.
        contracts: the contracts events may be posted to (``POST /v1/events/<name>``).
        producer_factory: builds the producer (``(settings, contracts, conf_overrides) -> EventProducer``).
        broker_probe: the broker reachability check (default: a metadata request to Kafka).
        tuning: timings and bounds that are not settings.
        http_tuning: timings of the HTTP layer (the body-read deadline).
    """
    collector = Collector(settings, contracts, producer_factory, broker_probe=broker_probe, tuning=tuning)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(collector.start)
        try:
            yield
        finally:
            await run_in_threadpool(collector.stop)

    app = FastAPI(
        title="DTHEINFRA collector",
        description="Events into Kafka, each checked against its contract; rejects to the dead-letter topics.",
        lifespan=lifespan,
    )
    app.state.collector = collector
    app.state.http_tuning = http_tuning or HttpTuning()
    app.include_router(events.router)
    app.include_router(ops.router)
    hooks = RequestHooks(
        gate=lambda request_id: refusal_while_draining(collector, request_id),
        observe=lambda path, status, seconds: collector.metrics.observe_request(route_of(path), status, seconds),
    )
    install(app, error_style(collector), hooks)
    return app
