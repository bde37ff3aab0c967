"""The HTTP API (FastAPI; OpenAPI at ``/docs`` and ``/openapi.json``).

Answers are JSON by default; the revenue rows come as CSV, Arrow IPC or Parquet by ``Accept``. Errors are
``{"error", "message", "parameter"?, "request_id"}`` with 400 (a bad parameter, named), 404, 422 (a parameter of
the wrong type) or 503 (the catalog or the engine cannot answer now: retry); anything unexpected is a 500 that shows
no internals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import Depends, FastAPI, Header, Path, Query, Security
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pyarrow import ipc

from dp_data_api.errors import BadParameterError, DataApiError, NotFoundError
from dp_data_api.keys import METRICS, ORDERS, TABLES, Authenticator, RateLimitedError, RateLimiter, UnauthorizedError
from dp_data_api.params import (
    MAX_PAGE,
    Cursor,
    funnel_query,
    identifier,
    orders_query,
    page_size,
    parse_as_of,
    reconciliation_query,
    revenue_query,
)
from dp_data_api.service import RECONCILIATION, Answer, DataService, iso, rows_json
from dp_http import ErrorStyle, RequestHooks, install
from dp_http.prometheus import Exposition, Histogram

log = logging.getLogger("dp_data_api")

JSON, CSV = "application/json", "text/csv"
ARROW, PARQUET = "application/vnd.apache.arrow.stream", "application/vnd.apache.parquet"
#: the media types an answer can take (and their aliases), by ``Accept``
MEDIA_TYPES = {JSON: JSON, CSV: CSV, ARROW: ARROW, "application/vnd.apache.arrow.file": ARROW,
               PARQUET: PARQUET, "application/x-parquet": PARQUET}  # fmt: skip
AS_OF = "the answer as it was: a snapshot id of the table that answers (Gold's), or an RFC 3339 time"
ROUTES = frozenset(
    {"/healthz", "/metrics", "/v1/metrics/revenue", "/v1/metrics/funnel", "/v1/orders", "/v1/orders/{order_id}",
     "/v1/reconciliation", "/v1/tables", "/v1/tables/{namespace}/{table}", "/v1/tables/{namespace}/{table}/snapshots"}
)  # fmt: skip
#: the range parameters every time-ranged route takes (``from`` inclusive, ``to`` exclusive)
From = Annotated[str | None, Query(alias="from", description="RFC 3339 time or date (inclusive)")]
To = Annotated[str | None, Query(alias="to", description="RFC 3339 time or date (exclusive)")]
LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def error_answer(exc: BaseException, request_id: str) -> Response:
    if isinstance(exc, DataApiError):
        status, kind = exc.status, exc.code
        body: dict[str, Any] = {"error": kind, "message": str(exc), "request_id": request_id}
        if isinstance(exc, BadParameterError | NotFoundError) and exc.parameter:
            body["parameter"] = exc.parameter
        headers = {"Retry-After": "5"} if status == 503 else None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(exc.retry_after_s)}
        elif isinstance(exc, UnauthorizedError):
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(exc, ConnectionError | TimeoutError):
        body = {"error": "unavailable", "message": "a dependency does not answer", "request_id": request_id}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse(
        {"error": "internal", "message": "internal error (logged)", "request_id": request_id}, status_code=500
    )


ERROR_STYLE = ErrorStyle(
    answer=error_answer,
    http_body=lambda status, phrase, rid: {
        "error": phrase.lower().replace(" ", "_"),
        "message": phrase,
        "request_id": rid,
    },
    invalid_body=lambda problems, rid: {"error": "invalid", "message": problems, "request_id": rid},
    log=log,
)


class Metrics:
    """Requests per route and status, their latency, and the answer cache's hits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, Histogram] = {}

    def observe(self, path: str, status: int, seconds: float) -> None:
        route = "/v1/tables/{namespace}/{table}" if path.startswith("/v1/tables/") else path
        route = "/v1/tables/{namespace}/{table}/snapshots" if path.endswith("/snapshots") else route
        route = "/v1/orders/{order_id}" if path.startswith("/v1/orders/") else route
        route = route if route in ROUTES else "other"
        with self._lock:
            self.requests[(route, status)] = self.requests.get((route, status), 0) + 1
            self.latency.setdefault(route, Histogram(LATENCY_BOUNDS)).observe(seconds)

    def text(self, service: DataService) -> str:
        out = Exposition()
        with self._lock:
            out.counter(
                "dp_api_requests_total", "Requests answered, per route and status",
                [({"route": r, "status": str(s)}, n) for (r, s), n in sorted(self.requests.items())],
            )  # fmt: skip
            out.histogram(
                "dp_api_request_seconds", "Time to answer, per route",
                [({"route": r}, h) for r, h in sorted(self.latency.items())],
            )  # fmt: skip
        out.counter("dp_api_cache_hits_total", "Answers served from the cache", [({}, service.cache.hits)])
        out.counter("dp_api_cache_misses_total", "Answers computed", [({}, service.cache.misses)])
        return out.text()


def with_as_of(body: dict[str, Any], as_of: str | None) -> dict[str, Any]:
    """The answer, naming the ``as_of`` it was asked for (when it was)."""
    return body if as_of is None else {**body, "as_of": as_of.strip()}


def answer_json(answer: Answer, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {**extra, "rows": rows_json(answer.rows, answer.key_names), "freshness": answer.freshness.as_json()}


def as_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def wanted(accept: str | None) -> str:
    """The answer's media type from ``Accept``: the first of ours it names (JSON when none is named)."""
    for part in (accept or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in MEDIA_TYPES:
            return MEDIA_TYPES[media]
    return JSON


def negotiated(body: dict[str, Any], accept: str | None, table: Callable[[], pa.Table]) -> Response:
    """JSON; or the rows as CSV, Arrow IPC (stream) or Parquet, by ``Accept``, with the freshness in ``X-DP-*``
    headers. ``table`` builds the rows as a typed Arrow table (timestamps, exact decimals)."""
    media = wanted(accept)
    if media == JSON:
        return JSONResponse(body)
    fresh = body.get("freshness", {})
    headers = {f"X-DP-{k.replace('_', '-')}": str(v) for k, v in fresh.items() if k != "snapshots"}
    if media == CSV:
        return PlainTextResponse(as_csv(body["rows"]), media_type=CSV, headers=headers)
    sink = io.BytesIO()
    if media == ARROW:
        with ipc.new_stream(sink, table().schema) as writer:
            writer.write_table(table())
    else:
        pq.write_table(table(), sink)
    return Response(sink.getvalue(), media_type=media, headers=headers)


def revenue_table(answer: Answer) -> pa.Table:
    """The revenue rows as Arrow: UTC timestamps, the keys, the measures (revenue as decimal(18, 2)), status."""
    ts = pa.timestamp("us", tz="UTC")
    measures = list(answer.rows[0].values) if answer.rows else ["orders", "revenue"]
    columns: dict[str, pa.Array] = {
        "window_start": pa.array([r.start for r in answer.rows], ts),
        "window_end": pa.array([r.end for r in answer.rows], ts),
    }
    for i, name in enumerate(answer.key_names):
        columns[name] = pa.array([r.key[i] for r in answer.rows], pa.string())
    for name in measures:
        kind = pa.decimal128(18, 2) if name == "revenue" else pa.int64()
        values = [Decimal(r.values[name]) if name == "revenue" else int(r.values[name]) for r in answer.rows]
        columns[name] = pa.array(values, kind)
    columns["status"] = pa.array([r.status for r in answer.rows], pa.string())
    return pa.table(columns)


def reconciliation_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The reconciliation rows as Arrow: UTC timestamps, counts as int64, revenue as decimal(18, 2)."""
    ts = pa.timestamp("us", tz="UTC")
    columns: dict[str, pa.Array] = {
        "window_start": pa.array([dt_of(r["window_start"]) for r in rows], ts),
        "window_end": pa.array([dt_of(r["window_end"]) for r in rows], ts),
        "currency": pa.array([r["currency"] for r in rows], pa.string()),
    }
    for name in RECONCILIATION:
        money_column = "revenue" in name
        kind = pa.decimal128(18, 2) if money_column else pa.int64()
        columns[name] = pa.array([Decimal(r[name]) if money_column else r[name] for r in rows], kind)
    columns["status"] = pa.array([r["status"] for r in rows], pa.string())
    return pa.table(columns)


def dt_of(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Guard:
    """Who may ask: the keys and their scopes, and each key's rate."""

    authenticator: Authenticator
    limiter: RateLimiter


_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer dpk_<id>_<secret>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key, instead of the bearer header")


def create_app(service: DataService, guard: Guard | None) -> FastAPI:
    """The Data API serving ``service``; ``guard`` None: no keys asked (``serving.auth: false``)."""

    def requires(scope: str) -> Any:
        def check(
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
            api_key: Annotated[str | None, Security(_api_key)] = None,
        ) -> None:
            if guard is None:
                return
            key = guard.authenticator.authenticate(api_key or (bearer.credentials if bearer else None), scope)
            guard.limiter.take(key.key_id)

        return Depends(check)

    app = FastAPI(
        title="DTHEINFRA Data API",
        version="1",
        description="One answer per question: Gold's final rows up to its watermark, the speed layer's provisional "
        "rows after it, with each layer's freshness.",
    )
    metrics = Metrics()

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers and its engine runs a query")
    def healthz() -> dict[str, str]:
        service.engine.rows("SELECT 1")
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse, summary="Prometheus metrics")
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.text(service), media_type="text/plain; version=0.0.4")

    @app.get(
        "/v1/metrics/revenue", tags=["metrics"], summary="Revenue of placed orders per window, final + live",
        dependencies=[requires(METRICS)],
    )  # fmt: skip
    def revenue(
        start: From = None,
        end: To = None,
        grain: Annotated[str | None, Query(description="minute, hour (default) or day")] = None,
        currency: Annotated[str | None, Query(description="ISO 4217 code, e.g. EUR")] = None,
        category: Annotated[str | None, Query(description="product category (grain=day)")] = None,
        as_of: Annotated[str | None, Query(description=AS_OF)] = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        query = revenue_query(
            start, end, grain, currency, category,
            max_range_days=service.config.max_range_days, max_rows=service.config.max_rows,
        )  # fmt: skip
        point = parse_as_of(as_of)
        extra = {
            "metric": "revenue", "grain": query.grain, "from": iso(query.start), "to": iso(query.end),
            "filters": {k: v for k, v in (("currency", currency), ("category", category)) if v is not None},
        }  # fmt: skip
        if as_of is not None:
            extra["as_of"] = as_of.strip()
        if wanted(accept) == JSON:  # the rows as the engine wrote them: a large answer stays out of Python
            rows, fresh = service.revenue_json(query, point)
            head = json.dumps(extra)[:-1]
            body = f'{head}, "rows": {rows}, "freshness": {json.dumps(fresh.as_json())}}}'
            return Response(body.encode(), media_type=JSON)
        answer = service.revenue(query, point)
        return negotiated(answer_json(answer, extra), accept, lambda: revenue_table(answer))

    @app.get(
        "/v1/metrics/funnel", tags=["metrics"], summary="Sessions at each funnel step: per day (Gold) or minute (live)",
        dependencies=[requires(METRICS)],
    )  # fmt: skip
    def funnel(
        start: From = None,
        end: To = None,
        grain: Annotated[
            str | None, Query(description="day (default: Gold, final up to the boundary) or minute")
        ] = None,
        as_of: Annotated[str | None, Query(description=AS_OF)] = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        query = funnel_query(start, end, grain, max_range_days=service.config.max_range_days,
                             max_rows=service.config.max_rows)  # fmt: skip
        answer = service.funnel(query, parse_as_of(as_of))
        body = with_as_of({"metric": "funnel", "grain": query.grain, "from": iso(query.start), "to": iso(query.end),
                           **answer}, as_of)  # fmt: skip
        return negotiated(body, accept, lambda: pa.Table.from_pylist(body["rows"]))

    @app.get(
        "/v1/reconciliation", tags=["metrics"],
        summary="Batch vs speed per minute and currency, and the late events that explain it",
        dependencies=[requires(METRICS)],
    )  # fmt: skip
    def reconciliation(
        start: From = None,
        end: To = None,
        currency: Annotated[str | None, Query(description="ISO 4217 code, e.g. EUR")] = None,
        as_of: Annotated[str | None, Query(description=AS_OF)] = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        query = reconciliation_query(start, end, currency, max_range_days=service.config.max_range_days,
                                     max_rows=service.config.max_rows)  # fmt: skip
        answer = service.reconciliation(query, parse_as_of(as_of))
        body = with_as_of({"metric": "reconciliation", "grain": "minute", "from": iso(query.start),
                           "to": iso(query.end), "filters": {"currency": currency} if currency else {}, **answer},
                          as_of)  # fmt: skip
        return negotiated(body, accept, lambda: reconciliation_table(body["rows"]))

    @app.get(
        "/v1/orders/{order_id}", tags=["orders"], summary="One order: Gold's once it has it, else the speed layer's",
        dependencies=[requires(ORDERS)],
    )  # fmt: skip
    def order(
        order_id: Annotated[str, Path(max_length=200)],
        as_of: Annotated[str | None, Query(description=AS_OF)] = None,
    ) -> dict[str, Any]:
        return with_as_of(service.order(identifier("order_id", order_id), parse_as_of(as_of)), as_of)

    @app.get(
        "/v1/orders", tags=["orders"], summary="A customer's orders by event time, in keyset pages",
        dependencies=[requires(ORDERS)],
    )  # fmt: skip
    def orders(
        customer_id: Annotated[str | None, Query(description="the customer (required)")] = None,
        start: From = None,
        end: To = None,
        limit: Annotated[str | None, Query(description=f"orders per page, 1-{MAX_PAGE} (default 100)")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
        as_of: Annotated[str | None, Query(description=AS_OF)] = None,
    ) -> dict[str, Any]:
        query = orders_query(customer_id, start, end, limit, max_range_days=service.config.max_range_days)
        page = service.orders(query, Cursor.decode(cursor) if cursor else None, parse_as_of(as_of))
        return with_as_of(page, as_of)

    @app.get(
        "/v1/tables", tags=["tables"], summary="The tables served: Gold's marts and the speed layer's",
        dependencies=[requires(TABLES)],
    )  # fmt: skip
    def tables() -> dict[str, Any]:
        return {"tables": [{"namespace": t.split(".", 1)[0], "table": t.split(".", 1)[1]} for t in service.tables()]}

    @app.get(
        "/v1/tables/{namespace}/{table}", tags=["tables"], summary="Schema, partitioning, snapshot, freshness",
        dependencies=[requires(TABLES)],
    )  # fmt: skip
    def table(
        namespace: Annotated[str, Path(max_length=200)],
        table: Annotated[str, Path(max_length=200)],
        as_of: Annotated[str | None, Query(description=AS_OF)] = None,
    ) -> dict[str, Any]:
        state = service.table(namespace, table, parse_as_of(as_of))
        return with_as_of({
            "namespace": namespace,
            "table": table,
            "columns": [{"name": c.name, "type": c.type, "required": c.required} for c in state.columns],
            "partitioning": list(state.partitioning),
            "snapshot_id": state.snapshot_id,
            "committed_at": iso(state.committed_at),
            "records": state.records,
            "watermark": iso(state.watermark),
            "properties": {k: v for k, v in state.properties.items() if k.startswith("dp.")},
        }, as_of)  # fmt: skip

    @app.get(
        "/v1/tables/{namespace}/{table}/snapshots", tags=["tables"],
        summary="The table's snapshots, newest first, with the progress each carries", dependencies=[requires(TABLES)],
    )  # fmt: skip
    def snapshots(
        namespace: Annotated[str, Path(max_length=200)],
        table: Annotated[str, Path(max_length=200)],
        limit: Annotated[str | None, Query(description=f"snapshots to list, 1-{MAX_PAGE} (default 100)")] = None,
    ) -> dict[str, Any]:
        return {"namespace": namespace, "table": table,
                "snapshots": service.snapshots(namespace, table, page_size(limit))}  # fmt: skip

    def observe(path: str, status: int, seconds: float) -> None:
        metrics.observe(path, status, seconds)

    install(app, ERROR_STYLE, RequestHooks(observe=observe))
    return app
