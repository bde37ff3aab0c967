"""``POST /v1/events/{contract}``: a batch of events into Kafka, each checked against its contract.

Checks, cheapest first: the contract exists (404); the content type is JSON or NDJSON (415); the declared
length fits (413); Kafka is available and the process is not shutting down (503); a slot among
``max_concurrent_requests`` is free (503); the body, read with a byte bound (413) and a deadline
(``HttpTuning.body_timeout_s``, 408; the slot is freed); parsed (400) into at most ``max_events_per_request``
events (413); room in the producer buffer for all of them (503, nothing taken). Then every event is produced --
valid ones to the contract's topic, the others (an event larger than Kafka takes too, rule ``size``) to its
dead-letter topic. With ``ingest.collector.ack: delivered`` (the default) the request then waits, holding its slot
but not the event loop, until Kafka has acknowledged every one of its records (at most
``ingest.collector.ack_timeout_s``): the answer is 202 with the counts and the errors of each rejected event, or
503 naming the events Kafka refused (``not_delivered``) or has not acknowledged yet (``delivery_pending``). With
``ack: buffered`` the 202 comes as soon as the records are in the producer's buffer. A client gone before the end
of its body is counted as 499 (nobody to answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dp_http import RequestId
from dp_stream_ingestors.collector.body import body_format, check_declared_length, read_body
from dp_stream_ingestors.collector.deps import CollectorDep, HttpTuningDep
from dp_stream_ingestors.collector.errors import RequestInterruptedError, ServiceUnavailableError
from dp_stream_ingestors.collector.health import RequestSlots
from dp_stream_ingestors.collector.service import Collector, Outcome

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])


class FieldProblem(BaseModel):
    """One broken rule: the field path (empty for the event itself), the rule, a message."""

    path: str
    rule: str
    message: str


class RejectedEvent(BaseModel):
    """A rejected event: its 0-based index in the request (and its 1-based line in an NDJSON body)."""

    index: int
    line: int | None = None
    errors: list[FieldProblem]


class IngestReceipt(BaseModel):
    """The 202 answer: every event was taken, ``accepted`` ones for the topic, ``rejected`` ones for the DLQ."""

    request_id: str
    accepted: int
    rejected: int
    errors: list[RejectedEvent]


class ErrorBody(BaseModel):
    """Every non-2xx answer."""

    request_id: str
    error: str
    message: str


@router.post(
    "/v1/events/{contract}",
    status_code=202,
    response_model=IngestReceipt,
    response_model_exclude_none=True,
    responses={
        400: {"model": ErrorBody, "description": "Unparsable or too deeply nested body (nothing taken)"},
        404: {"model": ErrorBody, "description": "Unknown contract"},
        408: {"model": ErrorBody, "description": "The body was not complete in time (nothing taken)"},
        413: {"model": ErrorBody, "description": "Body too large or too many events"},
        415: {"model": ErrorBody, "description": "Unsupported content type"},
        503: {
            "model": ErrorBody,
            "description": "Kafka unavailable, buffer full or shutting down (nothing taken); records not delivered "
            "(undelivered) or not acknowledged in time (pending); Retry-After",
        },
    },
)
async def post_events(
    contract: str, request: Request, collector: CollectorDep, http_tuning: HttpTuningDep, request_id: RequestId
) -> JSONResponse:
    """Take a JSON array (or one object, or NDJSON) of ``contract`` events."""
    started = time.monotonic()
    collector.check_contract(contract)
    fmt = body_format(request.headers.get("content-type"), request.headers.get("content-encoding"))
    limit = collector.limits.max_body_bytes
    check_declared_length(request.headers.get("content-length"), limit)
    collector.check_available()
    if RequestSlots(collector.in_flight, collector.tuning.max_concurrent_requests).saturated:
        raise ServiceUnavailableError(
            f"{collector.in_flight} requests are being processed, the most this collector takes at once"
        )
    collector.in_flight += 1
    try:
        body = await read_body(request.stream(), limit, http_tuning.body_timeout_s)
        if collector.limits.ack == "delivered":
            delivered, notify = _completion()
            try:
                outcome = await run_in_threadpool(collector.ingest, contract, body, fmt, request_id, notify)
            except RequestInterruptedError as interrupted:  # what it did produce is awaited, then named
                if interrupted.delivery is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(delivered, collector.limits.ack_timeout_s)
                    await run_in_threadpool(collector.conclude_interrupted, interrupted)
                raise
            await _await_delivery(collector, outcome, delivered)
        else:
            outcome = await run_in_threadpool(collector.ingest, contract, body, fmt, request_id)
    finally:
        collector.in_flight -= 1
    log.info(
        "events taken",
        extra={
            "request_id": request_id,
            "contract": contract,
            "accepted": outcome.accepted,
            "rejected": outcome.rejected,
            "ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    receipt = IngestReceipt(
        request_id=request_id,
        accepted=outcome.accepted,
        rejected=outcome.rejected,
        errors=[
            RejectedEvent(index=e.index, line=e.line, errors=[FieldProblem(**p) for p in e.errors])
            for e in outcome.errors
        ],
    )
    return JSONResponse(receipt.model_dump(exclude_none=True), status_code=202)


def _completion() -> tuple[asyncio.Future[None], Callable[[], None]]:
    """A future of the running event loop and the callback, safe from any thread, that completes it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def complete() -> None:
        if not future.done():
            future.set_result(None)

    def notify() -> None:  # on the thread serving the delivery reports
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(complete)

    return future, notify


async def _await_delivery(collector: Collector, outcome: Outcome, delivered: asyncio.Future[None]) -> None:
    """Wait until every record of the request has its delivery report, at most ``ack_timeout_s``; then
    :meth:`Collector.conclude` raises the 503 if Kafka does not have them all."""
    started = time.monotonic()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(delivered, collector.limits.ack_timeout_s)
    # in a worker thread: it takes the producer's lock, which another request's produce may hold for a while
    await run_in_threadpool(collector.conclude, outcome, time.monotonic() - started)
