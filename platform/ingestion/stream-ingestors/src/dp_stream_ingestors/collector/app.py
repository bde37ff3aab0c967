"""The FastAPI application: routes, the request middleware and the one translator from errors to answers.

Every answer carries ``X-Request-Id`` (the id also written into the dead letters of the request). Errors are
JSON ``{"request_id", "error", "message", ...}``, never a traceback:

* the collector's own errors with their status (400, 408, 413, 415, 503), an unknown contract as 404 listing the
  known ones, any other :class:`~dp_core.errors.TransientError` (buffer full, registry unreachable) as 503;
  every 503 has ``Retry-After: ingest.collector.retry_after_s``, a 408 ``Connection: close``;
* a client gone before the end of its body is nobody to answer: counted as 499 and logged at INFO, no traceback;
* unknown routes and methods as 404/405, unparsable path parameters as 422;
* anything unexpected as 500, logged with its traceback; the service keeps serving.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dp_contracts.errors import UnknownContractError
from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_core.errors import PlatformError, TransientError
from dp_stream_ingestors.collector.deps import HttpTuning
from dp_stream_ingestors.collector.errors import ClientDisconnectedError, CollectorError, ServiceUnavailableError
from dp_stream_ingestors.collector.metrics import route_of
from dp_stream_ingestors.collector.routes import events, ops
from dp_stream_ingestors.collector.service import BrokerProbe, Collector, ProducerFactory, Tuning, kafka_producer

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = "X-Request-Id"
#: the status counted for a request whose client went away before it could be answered (nginx's 499)
CLIENT_CLOSED_REQUEST = ClientDisconnectedError.status_code


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


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


async def _platform_error(request: Request, exc: Exception) -> JSONResponse:
    collector: Collector = request.app.state.collector
    response = error_response(exc, _request_id(request), collector)
    extra = {"request_id": _request_id(request), "path": request.url.path}
    if response.status_code >= 500 and response.status_code != 503:
        log.error("request failed: %s", exc, extra=extra)
    elif response.status_code == 503:
        # counted in dp_collector_requests_total; its cause (broker down...) is logged once, when it begins
        log.debug("request refused: %s", exc, extra=extra)
    elif response.status_code in (408, CLIENT_CLOSED_REQUEST):
        # the client's doing (slow or gone), not a failure of the collector: no traceback
        log.info("request cut short: %s", exc, extra=extra)
    return response


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = {"request_id": _request_id(request), "error": phrase.lower().replace(" ", "_"), "message": phrase}
    return JSONResponse(body, status_code=status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    problems = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in problems)
    body = {"request_id": _request_id(request), "error": "invalid_request", "message": where or str(exc)}
    return JSONResponse(body, status_code=422)


class CollectorMiddleware:
    """Around every request: its id, 503 while shutting down, the latency metric, and the last-resort 500.

    (Starlette's own last-resort handler answers, then re-raises into the server; this one ends the request.) A
    client disconnection that reaches it (the events route turns its own into a 499 answer) is counted as 499 too.
    """

    def __init__(self, app: ASGIApp, collector: Collector) -> None:
        self.app = app
        self.collector = collector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.monotonic()
        status = 500
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            if self.collector.draining:
                refusal = error_response(
                    ServiceUnavailableError("the collector is shutting down; retry against another instance"),
                    request_id,
                    self.collector,
                )
                refusal.headers["Connection"] = "close"
                await refusal(scope, receive, tracking_send)
                return
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            status = CLIENT_CLOSED_REQUEST
            log.info(
                "request cut short: the client closed the connection",
                extra={"request_id": request_id, "method": scope.get("method"), "path": scope["path"]},
            )
        except Exception as exc:
            log.exception(
                "unexpected error",
                extra={"request_id": request_id, "method": scope.get("method"), "path": scope["path"]},
            )
            if not response_started:  # else too late for an error body; the server closes the connection
                await error_response(exc, request_id, self.collector)(scope, receive, tracking_send)
        finally:
            self.collector.metrics.observe_request(route_of(scope["path"]), status, time.monotonic() - started)


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
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(CollectorMiddleware, collector=collector)
    return app
