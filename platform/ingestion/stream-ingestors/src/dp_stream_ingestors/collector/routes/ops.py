"""``GET /healthz`` and ``GET /metrics``: what load balancers and Prometheus ask."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from dp_stream_ingestors.collector.deps import CollectorDep
from dp_stream_ingestors.collector.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The collector's health: ``ok`` only when Kafka takes records and the process is not shutting down."""

    status: str
    broker: str
    detail: str
    draining: bool
    records_pending: int


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(collector: CollectorDep) -> JSONResponse:
    """200 when the producer is connected to Kafka; 503 with the reason otherwise."""
    status = collector.broker_status()
    ok = status.state == "up" and not collector.draining
    if collector.draining:
        detail = "shutting down"
    elif status.state == "unknown":
        detail = "Kafka not checked yet"
    else:
        detail = status.detail
    body = Health(
        status="ok" if ok else "unavailable",
        broker=status.state,
        detail=detail,
        draining=collector.draining,
        records_pending=collector.records_pending(),
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(collector: CollectorDep) -> PlainTextResponse:
    """The metrics in the Prometheus text format."""
    return PlainTextResponse(collector.metrics.render(collector.gauges()), media_type=CONTENT_TYPE)
