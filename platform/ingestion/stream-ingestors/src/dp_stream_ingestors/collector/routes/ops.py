"""``GET /healthz`` and ``GET /metrics``: what load balancers and Prometheus ask."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from dp_http.prometheus import CONTENT_TYPE
from dp_stream_ingestors.collector.deps import CollectorDep
from dp_stream_ingestors.collector.health import BrokerStatus, RequestSlots, SlotsState

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The collector's health: ``ok`` only when Kafka takes records, a request slot is free and it is not draining."""

    status: str
    broker: str
    detail: str
    draining: bool
    records_pending: int
    requests: SlotsState
    in_flight: int
    max_concurrent_requests: int


def health_detail(broker: BrokerStatus, slots: RequestSlots, draining: bool) -> str:
    """Why the collector is (not) healthy, the first reason that applies."""
    if draining:
        return "shutting down"
    if broker.state == "unknown":
        return "Kafka not checked yet"
    if broker.state == "up" and slots.saturated:
        return f"all {slots.limit} request slots are taken: new POSTs are answered 503"
    return broker.detail


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(collector: CollectorDep) -> JSONResponse:
    """200 when the producer is connected to Kafka and a request slot is free; 503 with the reason otherwise."""
    status = collector.broker_status()
    slots = RequestSlots(collector.in_flight, collector.tuning.max_concurrent_requests)
    ok = status.state == "up" and not collector.draining and not slots.saturated
    body = Health(
        status="ok" if ok else "unavailable",
        broker=status.state,
        detail=health_detail(status, slots, collector.draining),
        draining=collector.draining,
        records_pending=collector.records_pending(),
        requests=slots.state,
        in_flight=slots.in_flight,
        max_concurrent_requests=slots.limit,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(collector: CollectorDep) -> PlainTextResponse:
    """The metrics in the Prometheus text format."""
    return PlainTextResponse(collector.metrics.render(collector.gauges()), media_type=CONTENT_TYPE)
