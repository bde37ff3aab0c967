"""The FastAPI application: routers, the content type, and the one translator from errors to responses.

Every error reaches the client as Confluent's ``{"error_code": N, "message": "..."}``: the registry's own
errors with their codes (one handler for :class:`~dp_core.errors.PlatformError`), unknown routes and methods as
404/405, unparsable query parameters as 422, and anything unexpected as 500 with error code 50001 -- logged
with its traceback, and the service keeps serving.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dp_core.errors import PlatformError
from dp_schema_registry.api.deps import MEDIA_TYPE
from dp_schema_registry.api.routes import compatibility, config, mode, root, schemas, subjects
from dp_schema_registry.errors import UNPROCESSABLE_REQUEST, error_payload
from dp_schema_registry.service import Registry

log = logging.getLogger(__name__)


class RegistryJSONResponse(JSONResponse):
    """JSON with Confluent's content type."""

    media_type = MEDIA_TYPE


def error_response(exc: BaseException) -> RegistryJSONResponse:
    status, body = error_payload(exc)
    return RegistryJSONResponse(body, status_code=status)


async def _platform_error(request: Request, exc: Exception) -> RegistryJSONResponse:
    if error_payload(exc)[0] >= 500:
        log.error("request failed: %s", exc, extra={"method": request.method, "path": request.url.path})
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> RegistryJSONResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return RegistryJSONResponse({"error_code": status, "message": f"HTTP {status} {phrase}"}, status_code=status)


async def _validation_error(request: Request, exc: Exception) -> RegistryJSONResponse:
    problems = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in problems)
    return RegistryJSONResponse(
        {"error_code": UNPROCESSABLE_REQUEST, "message": f"Unprocessable request: {where or exc}"}, status_code=422
    )


class CatchAllMiddleware:
    """Turns an exception no handler took into a 500/50001 answer and a logged traceback.

    (Starlette's own last-resort handler answers, then re-raises into the server; this one ends the request.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("unexpected error", extra={"method": scope.get("method"), "path": scope.get("path")})
            if started:  # too late for an error body; the server closes the connection
                return
            await error_response(exc)(scope, receive, send)


def create_app(registry: Registry) -> FastAPI:
    """The registry's ASGI application, serving ``registry``."""
    app = FastAPI(
        title="DTHEINFRA schema registry",
        description="The Confluent Schema Registry REST API for Avro, state in PostgreSQL.",
        default_response_class=RegistryJSONResponse,
    )
    app.state.registry = registry
    for module in (root, subjects, schemas, config, compatibility, mode):
        app.include_router(module.router)
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(CatchAllMiddleware)
    return app
