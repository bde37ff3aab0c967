"""What the routes take from the application -- the collector, the HTTP tuning -- as aliases.

(The request id is :data:`dp_http.RequestId`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from dp_stream_ingestors.collector.service import Collector


@dataclass(frozen=True)
class HttpTuning:
    """Timings of the HTTP layer that are not (yet) settings (the collector's own are in ``Tuning``).

    Attributes:
        body_timeout_s: a request body must be complete this long after its reading began, else 408 and the
            connection is closed. Without it a client announcing more bytes than it sends would hold one of the
            ``Tuning.max_concurrent_requests`` slots until it gives up.
    """

    body_timeout_s: float = 10.0


def get_collector(request: Request) -> Collector:
    collector: Collector = request.app.state.collector
    return collector


def get_http_tuning(request: Request) -> HttpTuning:
    http_tuning: HttpTuning = request.app.state.http_tuning
    return http_tuning


CollectorDep = Annotated[Collector, Depends(get_collector)]
HttpTuningDep = Annotated[HttpTuning, Depends(get_http_tuning)]
