"""What the routes take from the application: the collector and the request id, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dp_stream_ingestors.collector.service import Collector


def get_collector(request: Request) -> Collector:
    collector: Collector = request.app.state.collector
    return collector


def get_request_id(request: Request) -> str:
    """The id the middleware gave this request (also in the ``X-Request-Id`` answer header)."""
    request_id: str = request.state.request_id
    return request_id


CollectorDep = Annotated[Collector, Depends(get_collector)]
RequestId = Annotated[str, Depends(get_request_id)]
